"""Reads of the compliance app, always scoped by the requesting user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditEvent
from compliance import live
from compliance.catalogue import RULES
from compliance.models import ReviewStatus, Severity, Violation
from fleet.filters import _scoped, _search
from fleet.models import District, Driver, Enterprise, Vehicle, Zone
from fleet.models.registry import VehicleKind

if TYPE_CHECKING:
    from accounts.models import User

# --- Violations ---------------------------------------------------------------------------------

_DATE = forms.DateInput(attrs={"type": "date"})


class ViolationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("车牌"), method="search")
    rule = django_filters.ChoiceFilter(label=_("违规类型"),
                                       choices=Violation._meta.get_field("rule").choices)
    severity = django_filters.ChoiceFilter(label=_("严重程度"), choices=Severity.choices)
    review_status = django_filters.ChoiceFilter(label=_("甄别状态"),
                                                choices=ReviewStatus.choices)
    district = django_filters.ModelChoiceFilter(label=_("属地区县"), queryset=_scoped(District))
    enterprise = django_filters.ModelChoiceFilter(label=_("所属企业"),
                                                  queryset=_scoped(Enterprise))
    vehicle_kind = django_filters.ChoiceFilter(label=_("车辆类型"), choices=VehicleKind.choices)
    # Calendar days in the bureau's time zone (the current time zone of the request).
    start = django_filters.DateFilter(label=_("开始日期"), field_name="started_at",
                                      lookup_expr="date__gte", widget=_DATE)
    end = django_filters.DateFilter(label=_("结束日期"), field_name="started_at",
                                    lookup_expr="date__lte", widget=_DATE)

    class Meta:
        model = Violation
        fields = ["q", "rule", "severity", "review_status", "district", "enterprise",
                  "vehicle_kind", "start", "end"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _search(queryset, ("vehicle__plate",), value)


class ScreeningFilter(ViolationFilter):
    """The queue holds pending violations only."""

    review_status = None

    class Meta(ViolationFilter.Meta):
        fields = [f for f in ViolationFilter.Meta.fields if f != "review_status"]


def violations(user: User) -> QuerySet[Violation]:
    """Violations in the user's scope with what a list row shows (the large columns left out)."""
    return (Violation.objects.visible_to(user)
            .select_related("vehicle", "district", "enterprise")
            .defer("track", "evidence", "measured", "thresholds")
            .order_by("-started_at", "-pk"))


def screening_queue(user: User) -> QuerySet[Violation]:
    return violations(user).screenable()


def filtered(filterset: django_filters.FilterSet, queryset: QuerySet) -> QuerySet:
    """The filtered rows; an invalid filter (a bad date) shows the unfiltered list, as the
    registry lists do, with the form reporting the error."""
    return filterset.qs if filterset.is_bound and filterset.is_valid() else queryset


def rule_counts(queryset: QuerySet[Violation]) -> list[tuple[str, str, int]]:
    """(rule, label, count) for the rules present in ``queryset``, in catalogue order."""
    counts = dict(queryset.order_by().values_list("rule").annotate(n=Count("pk")))
    return [(code, str(spec.label), counts[code]) for code, spec in RULES.items()
            if counts.get(code)]


def recent_alerts(user: User, limit: int = 50) -> list[dict[str, Any]]:
    """The newest alerts of the user's scope, as the live feed sends them (newest first)."""
    rows = live.alert_rows(Violation.objects.visible_to(user)).order_by("-detected_at", "-pk")
    return [live.alert_payload(v) for v in rows[:limit]]


def violation_detail(user: User, pk: int) -> dict[str, Any]:
    violation = get_object_or_404(
        Violation.objects.visible_to(user).select_related(
            "vehicle", "district", "enterprise", "driver", "setting", "setting__district",
            "reviewed_by"), pk=pk)
    history = (AuditEvent.objects.filter(object_type="violation", object_id=str(violation.pk))
               .select_related("actor").order_by("at", "pk"))
    zone_id = violation.measured.get("zone_id")
    zone = (Zone.objects.filter(pk=zone_id).only("name").first()
            if isinstance(zone_id, int) else None)
    return {
        "violation": violation,
        "history": history,
        "zone": zone,
        "warnings": violation.warnings.all(),
        # A violation is owned where it happened; its vehicle may be registered elsewhere, and
        # pages out of the user's scope are not linked.
        "vehicle_visible": Vehicle.objects.visible_to(user).filter(pk=violation.vehicle_id)
        .exists(),
        "enterprise_visible": Enterprise.objects.visible_to(user)
        .filter(pk=violation.enterprise_id).exists(),
        "driver_visible": violation.driver_id is not None and Driver.objects.visible_to(user)
        .filter(pk=violation.driver_id).exists(),
    }
