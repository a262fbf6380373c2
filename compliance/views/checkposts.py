"""查岗 pages: the city sends check-posts and follows them (status of each, response rate per
district and enterprise over a chosen period); a monitoring desk (district or enterprise) sees
what it must answer, with a countdown, and answers in one step."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.roles import Capability
from compliance import selectors_desk as selectors
from compliance.services import checkposts as services
from compliance.services.cases import CaseError
from compliance.views.instructions import leaf_districts
from compliance.views.violations import needs
from fleet.models import Enterprise

PAGE_SIZE = 50
DEFAULT_PERIOD_DAYS = 7
DESK_HISTORY = 30

STATUS_LABELS = selectors.CHECKPOST_LABELS


def _labelled(rows: Any) -> list[Any]:
    """Each check-post with its status in words (rows come annotated with ``status``)."""
    rows = list(rows)
    for row in rows:
        row.status_label = STATUS_LABELS[row.status]
    return rows


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    """The chosen days (both included), by default the last week up to today."""
    today = timezone.localdate()
    end = parse_date(request.GET.get("end") or "") or today
    start = parse_date(request.GET.get("start") or "") or end - dt.timedelta(
        days=DEFAULT_PERIOD_DAYS - 1)
    return (end, start) if start > end else (start, end)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _targets(user: Any) -> list[tuple[Any, list[tuple[str, str]]]]:
    """The send form's choices, grouped: district desks, then each district's enterprises."""
    districts = list(leaf_districts(user))
    groups: list[tuple[Any, list[tuple[str, str]]]] = [(_("区县值守台"), [
        ("district:all", _("全部区县")), *[(f"district:{d.pk}", d.name) for d in districts]])]
    enterprises: dict[int, list[Enterprise]] = {}
    for enterprise in Enterprise.objects.visible_to(user).only("pk", "name", "district_id"):
        enterprises.setdefault(enterprise.district_id, []).append(enterprise)
    for district in districts:
        own = enterprises.get(district.pk, [])
        if own:
            groups.append((_("企业监控室 · %(district)s") % {"district": district.name}, [
                (f"enterprises-of:{district.pk}", _("%(district)s全部企业") % {
                    "district": district.name}),
                *[(f"enterprise:{e.pk}", e.name) for e in own]]))
    return groups


@needs(Capability.SEND_CHECKPOSTS)
def checkpost_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    start, end = _period(request)
    since, until = _day_start(start), _day_start(end + dt.timedelta(days=1))
    rows = selectors.checkposts(user).filter(sent_at__gte=since, sent_at__lt=until)
    status = request.GET.get("status", "")
    if status in STATUS_LABELS:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = _labelled(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "compliance/desk/checkpost_list.html", {
        "title": gettext_lazy("查岗"), "page": page, "query": query.urlencode(),
        "start": start, "end": end, "status": status, "labels": STATUS_LABELS,
        "rates": selectors.response_rates(user, start=since, end=until),
        "targets": _targets(user), "default_minutes": settings.CHECKPOST_ANSWER_WITHIN_MINUTES,
    })


def _resolve(user: Any, target: str) -> tuple[list[Any], list[Any]]:
    """The send form's target value as (districts, enterprises); unknown values read as none."""
    kind, _sep, value = target.partition(":")
    districts = leaf_districts(user)
    if kind == "district" and value == "all":
        return list(districts), []
    if not value.isdigit():
        return [], []
    if kind == "district":
        return list(districts.filter(pk=value)), []
    enterprises = Enterprise.objects.visible_to(user)
    if kind == "enterprises-of":
        return [], list(enterprises.filter(district=value))
    if kind == "enterprise":
        return [], list(enterprises.filter(pk=value))
    return [], []


@needs(Capability.SEND_CHECKPOSTS, method="POST")
def checkpost_send(request: HttpRequest) -> HttpResponse:
    districts, enterprises = _resolve(request.user, request.POST.get("target", ""))
    minutes_text = request.POST.get("minutes", "").strip()
    minutes: Any = int(minutes_text) if minutes_text.isdigit() else (minutes_text or None)
    try:
        sent = services.send_checkposts(districts=districts, enterprises=enterprises,
                                        question=request.POST.get("question", ""),
                                        answer_within_minutes=minutes, actor=request.user)
    except CaseError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("已向 %(n)d 个值守台发起查岗") % {"n": len(sent)})
    return HttpResponseRedirect(reverse("compliance:checkpost_list"))


@needs(Capability.ANSWER_CHECKPOSTS)
def checkpost_desk(request: HttpRequest) -> HttpResponse:
    """The desk: unanswered check-posts first (waiting, then missed — a late answer still
    counts as an answer), then the recent history. ``?part=waiting`` renders only the waiting
    panel, which the page re-fetches when a new check-post is notified."""
    rows = selectors.desk_checkposts(request.user)
    open_rows = _labelled(rows.filter(answered_at__isnull=True))
    open_rows.sort(key=lambda row: row.status != selectors.WAITING)
    context = {"open_rows": open_rows, "labels": STATUS_LABELS, "now": timezone.now(),
               "default_answer": _("在岗，值班人员：%(name)s") % {"name": request.user}}
    if request.GET.get("part") == "waiting":
        return render(request, "compliance/desk/_checkpost_waiting.html", context)
    return render(request, "compliance/desk/checkpost_desk.html", {
        **context, "title": gettext_lazy("查岗应答"),
        "history": _labelled(rows.filter(answered_at__isnull=False)[:DESK_HISTORY]),
    })


@needs(Capability.ANSWER_CHECKPOSTS, method="POST")
def checkpost_answer(request: HttpRequest, pk: int) -> HttpResponse:
    checkpost = get_object_or_404(selectors.visible_checkposts(request.user), pk=pk)
    try:
        answered = services.answer_checkpost(checkpost=checkpost, actor=request.user,
                                             answer=request.POST.get("answer", ""))
    except CaseError as error:
        if error.code == CaseError.NOT_FOUND:
            raise Http404 from None
        messages.error(request, error.message)
    else:
        late = answered.answered_at > answered.sent_at + dt.timedelta(
            minutes=answered.answer_within_minutes)
        messages.success(request, _("已应答（超时）") if late else _("已应答"))
    return HttpResponseRedirect(reverse("compliance:checkpost_desk"))
