"""The data-quality page: per district summary and per vehicle figures of one day, and their
Excel export. Rows come from ``VehicleDayQuality`` (compliance.daily_quality computes them),
always through ``visible_to(user)``: the bureau sees every district, a district its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import django_filters
from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Case, Count, F, FloatField, Q, QuerySet, Sum, When
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts import audit
from accounts.roles import Capability
from compliance.daily_quality import bureau_today
from compliance.models import VehicleDayQuality
from compliance.views import quality_export
from fleet.models import District, Enterprise
from fleet.models.registry import VehicleKind

PAGE_SIZE = 50
EXPORT_ACTION = "quality_export"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# RULES.md §4: the score is zero below these; the page marks such figures.
COMPLETENESS_FLOOR = 0.70
VALIDITY_FLOOR = 0.80
KIND_LABELS = dict(VehicleKind.choices)


def quality_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login, GET and the view-violations capability (the KPIs' inputs sit with violations)."""

    @login_required
    @require_GET
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.can(Capability.VIEW_VIOLATIONS):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- Reads ------------------------------------------------------------------------------------


class DayForm(forms.Form):
    day = forms.DateField(label=_("日期"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def chosen_day(self) -> dt.date:
        """The day asked for; yesterday (the last complete day) by default or when invalid."""
        if self.is_valid() and self.cleaned_data["day"]:
            return self.cleaned_data["day"]
        return bureau_today() - dt.timedelta(days=1)


def _scoped(model):  # type: ignore[no-untyped-def]
    def queryset(request) -> QuerySet:  # type: ignore[no-untyped-def]
        return model.objects.visible_to(getattr(request, "user", None))

    return queryset


# The default order (no choice) is by plate.
SORTS: dict[str, tuple[Any, list[Any]]] = {
    "completeness": (_("轨迹完整率低→高"), [F("completeness_ratio").asc(nulls_last=True),
                                             "vehicle__plate"]),
    "validity": (_("数据合格率低→高"), [F("validity_ratio").asc(nulls_last=True),
                                         "vehicle__plate"]),
    "drift": (_("漂移点多→少"), ["-drift_fixes", "vehicle__plate"]),
    "overspeed": (_("超速次数多→少"), ["-overspeed_count", "vehicle__plate"]),
    "fatigue": (_("疲劳时长多→少"), ["-fatigue_seconds", "vehicle__plate"]),
    "online": (_("在线时长少→多"), ["online_seconds", "vehicle__plate"]),
}


class QualityFilter(django_filters.FilterSet):
    district = django_filters.ModelChoiceFilter(label=_("登记区县"), queryset=_scoped(District))
    kind = django_filters.ChoiceFilter(label=_("车辆类型"), field_name="vehicle_kind",
                                       choices=VehicleKind.choices)
    enterprise = django_filters.ModelChoiceFilter(label=_("所属企业"),
                                                  queryset=_scoped(Enterprise))
    plate = django_filters.CharFilter(label=_("车牌号码"), field_name="vehicle__plate",
                                      lookup_expr="icontains")
    sort = django_filters.ChoiceFilter(label=_("排序"), method="order",
                                       choices=[(key, label) for key, (label, _o) in SORTS.items()],
                                       empty_label=_("车牌号码"))

    class Meta:
        model = VehicleDayQuality
        fields = ["district", "kind", "enterprise", "plate", "sort"]

    def order(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(*SORTS[value][1])


def day_rows(user: Any, day: dt.date) -> QuerySet:
    """The user's rows of ``day``, with the two ratios the table sorts by."""
    as_float = FloatField()
    return (VehicleDayQuality.objects.visible_to(user).filter(day=day)
            .select_related("vehicle", "district", "enterprise")
            .annotate(
                completeness_ratio=Case(When(mileage_km__gt=0, then=F("complete_mileage_km")
                                             / F("mileage_km")), output_field=as_float),
                validity_ratio=Case(When(total_fixes__gt=0, then=Cast("valid_fixes", as_float)
                                         / Cast("total_fixes", as_float)),
                                    output_field=as_float))
            .order_by("vehicle__plate"))


def filtered(user: Any, day: dt.date, params: Any, request: HttpRequest
             ) -> tuple[QualityFilter, QuerySet]:
    rows = day_rows(user, day)
    filterset = QualityFilter(params or None, queryset=rows, request=request)
    if filterset.is_bound and filterset.is_valid():
        rows = filterset.qs
    return filterset, rows


def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


@dataclass
class Summary:
    district: str
    vehicles: int
    total_fixes: int
    valid_fixes: int
    mileage_km: float
    complete_km: float
    drift_vehicles: int
    overspeed: int
    fatigue_seconds: int
    online_seconds: int

    @property
    def validity(self) -> float | None:
        return self.valid_fixes / self.total_fixes if self.total_fixes else None

    @property
    def completeness(self) -> float | None:
        return self.complete_km / self.mileage_km if self.mileage_km else None

    @property
    def drift_rate(self) -> float | None:
        return self.drift_vehicles / self.vehicles if self.vehicles else None

    @property
    def fatigue_hours(self) -> str:
        return hours(self.fatigue_seconds)

    @property
    def validity_pct(self) -> str:
        return percent(self.validity)

    @property
    def completeness_pct(self) -> str:
        return percent(self.completeness)

    @property
    def drift_rate_pct(self) -> str:
        return percent(self.drift_rate)

    @property
    def validity_low(self) -> bool:
        return self.validity is not None and self.validity < VALIDITY_FLOOR

    @property
    def completeness_low(self) -> bool:
        return self.completeness is not None and self.completeness < COMPLETENESS_FLOOR


_TOTALS = {
    "vehicles": Count("id"),
    "total_fixes": Sum("total_fixes"),
    "valid_fixes": Sum("valid_fixes"),
    "mileage_km": Sum("mileage_km"),
    "complete_km": Sum("complete_mileage_km"),
    "drift_vehicles": Count("id", filter=Q(drift_fixes__gt=0)),
    "overspeed": Sum("overspeed_count"),
    "fatigue_seconds": Sum("fatigue_seconds"),
    "online_seconds": Sum("online_seconds"),
}


def _summary(name: str, figures: dict[str, Any]) -> Summary:
    return Summary(district=name, **{key: figures[key] or 0 for key in _TOTALS})


def district_summary(rows: QuerySet) -> tuple[list[Summary], Summary | None]:
    """One line per district of ``rows`` (ratios of sums, as the KPIs compute them) and, when
    there is more than one district, the total over all of them."""
    grouped = (rows.order_by().values("district__code", "district__name")
               .annotate(**_TOTALS).order_by("district__code"))
    lines = [_summary(group["district__name"], group) for group in grouped]
    if len(lines) < 2:
        return lines, None
    return lines, _summary(str(_("合计")), rows.order_by().aggregate(**_TOTALS))


@dataclass
class Line:
    """A table row with its figures ready to print."""

    row: VehicleDayQuality
    kind_label: str
    completeness: float | None
    validity: float | None
    online: str
    fatigue: str

    @property
    def completeness_low(self) -> bool:
        return self.completeness is not None and self.completeness < COMPLETENESS_FLOOR

    @property
    def validity_low(self) -> bool:
        return self.validity is not None and self.validity < VALIDITY_FLOOR

    @property
    def validity_pct(self) -> str:
        return percent(self.validity)

    @property
    def completeness_pct(self) -> str:
        return percent(self.completeness)


def hours(seconds: int) -> str:
    """Decimal hours: "17.8", never "17:45", which reads as a time of day."""
    return f"{seconds / 3600:.1f}"


def as_line(row: VehicleDayQuality) -> Line:
    return Line(row=row, kind_label=str(KIND_LABELS.get(row.vehicle_kind, row.vehicle_kind)),
                completeness=row.completeness, validity=row.validity,
                online=hours(row.online_seconds), fatigue=hours(row.fatigue_seconds))


# --- Pages ------------------------------------------------------------------------------------


@quality_view
def quality_page(request: HttpRequest) -> HttpResponse:
    day_form = DayForm(request.GET or None)
    day = day_form.chosen_day()
    filterset, rows = filtered(request.user, day, request.GET, request)
    lines, total = district_summary(rows)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [as_line(row) for row in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    query["day"] = day.isoformat()
    other_days = request.GET.copy()
    other_days.pop("page", None)
    other_days.pop("day", None)
    return render(request, "compliance/quality/page.html", {
        "title": _("数据质量"),
        "day": day,
        "day_form": DayForm(initial={"day": day}),
        "previous_day": (day - dt.timedelta(days=1)).isoformat(),
        "next_day": (day + dt.timedelta(days=1)).isoformat()
        if day < bureau_today() else "",
        "other_days": other_days.urlencode(),
        "filter": filterset,
        "summary": lines,
        "total": total,
        "page": page,
        "query": query.urlencode(),
        "computed": VehicleDayQuality.objects.visible_to(request.user).filter(day=day).exists(),
        "can_export": request.user.can(Capability.EXPORT_REGISTRY),
    })


@quality_view
def quality_export_view(request: HttpRequest) -> HttpResponse:
    """The per-vehicle table as filtered on the page (all pages), as .xlsx."""
    if not request.user.can(Capability.EXPORT_REGISTRY):
        raise PermissionDenied
    day = DayForm(request.GET or None).chosen_day()
    _filterset, rows = filtered(request.user, day, request.GET, request)
    with transaction.atomic():
        content = quality_export.workbook(day, (as_line(row) for row in rows.iterator(2000)))
        audit.record(actor=request.user, action=EXPORT_ACTION, object_type="vehicle_day_quality",
                     detail={"day": day.isoformat(), "count": rows.count()})
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(
        True, quality_export.filename(day))
    return response
