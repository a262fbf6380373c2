"""Violation pages: the scoped list, the screening queue, the detail with its evidence, the live
alert feed. Reads go through compliance.selectors, writes through compliance.services."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import Capability
from compliance import selectors
from compliance.catalogue import RULES
from compliance.models import ReviewStatus, Severity, Violation
from compliance.services import screening
from compliance.views.violation_evidence import hms, measurement_rows, read_evidence
from fleet import selectors as fleet_selectors
from fleet.models.registry import VehicleKind

PAGE_SIZE = 50


def needs(capability: str, method: str = "GET") -> Callable[[Callable[..., HttpResponse]],
                                                             Callable[..., HttpResponse]]:
    """Login, the HTTP method and a capability, for every page here."""
    allow = require_GET if method == "GET" else require_POST

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @allow
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.can(capability):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return decorate


KIND_LABELS = dict(VehicleKind.choices)


def _page(request: HttpRequest, rows: Any) -> tuple[Any, str]:
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for violation in page:
        violation.kind_label = KIND_LABELS.get(violation.vehicle_kind, violation.vehicle_kind)
        violation.duration_hms = hms(violation.duration_s)
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


# --- Lists ------------------------------------------------------------------------------------


@needs(Capability.VIEW_VIOLATIONS)
def violation_list(request: HttpRequest) -> HttpResponse:
    queryset = selectors.violations(request.user)
    filterset = selectors.ViolationFilter(request.GET or None, queryset=queryset, request=request)
    page, query = _page(request, selectors.filtered(filterset, queryset))
    return render(request, "compliance/violations/violation_list.html", {
        "title": gettext_lazy("违规记录"), "filter": filterset, "page": page, "query": query,
        "can_screen": request.user.can(Capability.SCREEN_VIOLATIONS),
    })


@needs(Capability.SCREEN_VIOLATIONS)
def screening_queue(request: HttpRequest) -> HttpResponse:
    queryset = selectors.screening_queue(request.user)
    filterset = selectors.ScreeningFilter(request.GET or None, queryset=queryset, request=request)
    # The header counts follow every filter but the rule, so each count is one click away.
    without_rule = request.GET.copy()
    without_rule.pop("rule", None)
    by_rule = selectors.ScreeningFilter(without_rule or None, queryset=queryset, request=request)
    page, query = _page(request, selectors.filtered(filterset, queryset))
    rule_query = without_rule.copy()
    rule_query.pop("page", None)
    return render(request, "compliance/violations/screening_queue.html", {
        "title": gettext_lazy("违规甄别"), "filter": filterset, "page": page, "query": query,
        "rule_counts": selectors.rule_counts(selectors.filtered(by_rule, queryset)),
        "rule_query": rule_query.urlencode(), "current_rule": request.GET.get("rule", ""),
        "next": request.get_full_path(),
    })


# --- Screening actions ------------------------------------------------------------------------


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = fallback
    return HttpResponseRedirect(target)


@needs(Capability.SCREEN_VIOLATIONS, method="POST")
def screening_bulk(request: HttpRequest, action: str) -> HttpResponse:
    try:
        ids = [int(value) for value in request.POST.getlist("ids")]
    except ValueError:
        ids = []
    note = request.POST.get("note", "")
    try:
        if action == "confirm":
            result = screening.confirm_violations(ids=ids, actor=request.user, note=note)
        else:
            result = screening.dismiss_violations(ids=ids, actor=request.user, reason=note)
    except screening.ScreeningError as error:
        messages.error(request, error.message)
        return _back(request, reverse("compliance:screening_queue"))
    if result.count:
        text = (ngettext("已确认 %(n)d 条违规。", "已确认 %(n)d 条违规。", result.count)
                if action == "confirm" else
                ngettext("已排除 %(n)d 条违规。", "已排除 %(n)d 条违规。", result.count))
        messages.success(request, text % {"n": result.count})
    if result.skipped:
        messages.warning(request, ngettext(
            "%(n)d 条已被他人先行甄别，未作更改：%(items)s",
            "%(n)d 条已被他人先行甄别，未作更改：%(items)s", len(result.skipped)) % {
            "n": len(result.skipped), "items": "；".join(str(s) for s in result.skipped)})
    return _back(request, reverse("compliance:screening_queue"))


@needs(Capability.SCREEN_VIOLATIONS, method="POST")
def violation_screen(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    violation = get_object_or_404(Violation.objects.visible_to(request.user), pk=pk)
    note = request.POST.get("note", "")
    try:
        if action == "confirm":
            screening.confirm_violation(violation=violation, actor=request.user, note=note)
            messages.success(request, _("已确认违规：%(v)s %(rule)s") % _subject(violation))
        else:
            screening.dismiss_violation(violation=violation, actor=request.user, reason=note)
            messages.success(request, _("已排除违规：%(v)s %(rule)s") % _subject(violation))
    except screening.ScreeningError as error:
        messages.error(request, error.message)
    return _back(request, reverse("compliance:violation_detail", args=[pk]))


def _subject(violation: Violation) -> dict[str, str]:
    return {"v": violation.vehicle.plate, "rule": str(violation.get_rule_display())}


# --- Detail -----------------------------------------------------------------------------------


def _map_data(violation: Violation, events: list[dict[str, Any]]) -> dict[str, Any]:
    location = violation.location
    return {
        "track": json.loads(violation.track.geojson) if violation.track else None,
        "location": [location.y, location.x] if location is not None else None,
        "events": [{"lat": e["lat"], "lon": e["lon"], "kind": e["kind"], "code": e["code"],
                    "time": timezone.localtime(e["time"]).strftime("%Y-%m-%d %H:%M:%S")
                    if e["time"] else ""}
                   for e in events if e["lat"] is not None and e["lon"] is not None],
    }


@needs(Capability.VIEW_VIOLATIONS)
def violation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = selectors.violation_detail(request.user, pk)
    violation = context["violation"]
    evidence = read_evidence(violation.evidence)
    zone = context["zone"]
    context.update({
        "measurements": measurement_rows(violation, zone.name if zone else None),
        "evidence": evidence,
        "map_data": _map_data(violation, evidence["events"]),
        "map_tile_url": settings.MAP_TILE_URL,
        "duration": hms(violation.duration_s) if not violation.ongoing else None,
        "kind_label": KIND_LABELS.get(violation.vehicle_kind, violation.vehicle_kind),
        "setting_kind_label": KIND_LABELS.get(violation.setting.vehicle_kind, "")
        if violation.setting else "",
        "can_screen": (request.user.can(Capability.SCREEN_VIOLATIONS)
                       and violation.review_status == ReviewStatus.PENDING),
    })
    return render(request, "compliance/violations/violation_detail.html", context)


# --- Live alert feed --------------------------------------------------------------------------


def alert_feed_context(user: Any, *, limit: int = 50, compact: bool = False) -> dict[str, Any]:
    """What templates/compliance/violations/_alert_feed.html needs; a page including the panel
    adds this to its context (``compact`` keeps it short, without filters)."""
    return {"alert_feed": {
        "compact": compact,
        "districts": fleet_selectors.districts(user).order_by("code").only("pk", "name"),
        "rules": [(code, spec.label) for code, spec in RULES.items() if spec.screened],
        "severities": Severity.choices,
        "data": {
            "alerts": selectors.recent_alerts(user, limit),
            "limit": limit,
            "socketPath": "/ws/alerts/",
            "timeZone": settings.TIME_ZONE,
            "rules": {code: str(spec.label) for code, spec in RULES.items()},
            "severities": {value: str(label) for value, label in Severity.choices},
            "statuses": {value: str(label) for value, label in ReviewStatus.choices},
            "kinds": {value: str(label) for value, label in VehicleKind.choices},
            "texts": {"connected": _("实时连接正常"), "reconnecting": _("连接断开，正在重连…"),
                      "refused": _("没有查看告警的权限"), "shown": _("显示 %s 条")},
        },
    }}


@needs(Capability.VIEW_VIOLATIONS)
def alerts(request: HttpRequest) -> HttpResponse:
    context = alert_feed_context(request.user)
    context["perms_screen"] = request.user.can(Capability.SCREEN_VIOLATIONS)
    return render(request, "compliance/violations/alerts.html", context)
