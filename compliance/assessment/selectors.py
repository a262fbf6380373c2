"""Reads of the monthly assessments (考评), always scoped by the user.

Rows come from ``MonthlyAssessment`` (compliance.assessment.rollup writes them) through
``visible_to(user)``: the bureau sees every unit, a district user its district and the district's
enterprises, an enterprise officer only its own enterprise. Only users who may view violations
(the KPIs' inputs) read anything; a unit out of scope is a 404.

This module's names and fields are an interface (bulletins read it): keep them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.roles import Capability
from compliance.models import MonthlyAssessment, UnitType
from fleet.models import Enterprise

if TYPE_CHECKING:
    from accounts.models import User

# KPI key → label, in display order (RULES.md §4).
KPI_LABELS: dict[str, Any] = {
    "access": _("入网率"),
    "online": _("上线率"),
    "completeness": _("轨迹完整率"),
    "validity": _("数据合格率"),
    "drift": _("漂移车辆率"),
    "overspeed": _("车均超速次数"),
    "fatigue": _("车均疲劳驾驶时长"),
    "checkpost": _("查岗响应率"),
}
# KPIs whose value is a rate (shown as a percentage); the others are per-vehicle measures.
RATE_KPIS = frozenset({"access", "online", "completeness", "validity", "drift", "checkpost"})
UNITS = (UnitType.DISTRICT.value, UnitType.ENTERPRISE.value)


@dataclass(frozen=True)
class KpiValue:
    value: float | None  # the rate (fraction) or per-vehicle measure; None: undefined
    score: float  # points


@dataclass(frozen=True)
class ScoreRow:
    unit_id: int
    unit_name: str
    district_name: str
    total: float
    rank: int
    kpis: dict[str, KpiValue]
    risk_grade: str | None  # enterprises only: "high" | "medium" | "low"


@dataclass(frozen=True)
class CaseKpiRow:
    district_id: int
    district_name: str
    received: int
    closed: int
    handling_rate: float | None
    on_time_rate: float | None
    return_rate: float | None
    supervision_count: int
    below_floor: bool


def may_view(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated
                and user.can(Capability.VIEW_VIOLATIONS))


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unit must be 'district' or 'enterprise', not {unit!r}")


def assessments(user: User | None) -> QuerySet[MonthlyAssessment]:
    """Every assessment row the user may see (none without the capability)."""
    if not may_view(user):
        return MonthlyAssessment.objects.none()
    return MonthlyAssessment.objects.visible_to(user).select_related("district", "enterprise")


def unit_id_of(row: MonthlyAssessment) -> int:
    return row.enterprise_id if row.unit_type == UnitType.ENTERPRISE else row.district_id


def unit_name_of(row: MonthlyAssessment) -> str:
    return row.enterprise.name if row.unit_type == UnitType.ENTERPRISE else row.district.name


def as_score_row(row: MonthlyAssessment) -> ScoreRow:
    return ScoreRow(
        unit_id=unit_id_of(row), unit_name=unit_name_of(row), district_name=row.district.name,
        total=float(row.total or 0.0), rank=int(row.rank or 0),
        kpis={key: KpiValue(value=kpi.get("value"), score=float(kpi.get("score") or 0.0))
              for key, kpi in row.kpis.items()},
        risk_grade=(row.risk_grade or None) if row.unit_type == UnitType.ENTERPRISE else None)


def ranked(user: User | None, *, month: dt.date, unit: str) -> QuerySet[MonthlyAssessment]:
    """The month's ranked rows of one unit type in the user's scope, by rank."""
    _check_unit(unit)
    return (assessments(user).filter(month=first_of_month(month), unit_type=unit,
                                     total__isnull=False)
            .order_by("rank", "enterprise__name", "district__code"))


def monthly_scores(user: User | None, *, month: dt.date, unit: str) -> list[ScoreRow]:
    """The month's ranking of districts or enterprises (``month``: its first day) as the user
    may see it; ranks are the city's."""
    return [as_score_row(row) for row in ranked(user, month=month, unit=unit)]


def unit_visible(user: User | None, *, unit: str, unit_id: int) -> bool:
    """Whether the user may see this district's or enterprise's assessment at all."""
    _check_unit(unit)
    if not may_view(user):
        return False
    scope = user.scope  # type: ignore[union-attr]
    if unit == UnitType.DISTRICT:
        return scope.everything or unit_id in scope.district_ids
    return Enterprise.objects.visible_to(user).filter(pk=unit_id).exists()


def _unit_filter(unit: str, unit_id: int) -> dict[str, Any]:
    return ({"unit_type": unit, "district_id": unit_id} if unit == UnitType.DISTRICT
            else {"unit_type": unit, "enterprise_id": unit_id})


def month_range(until: dt.date, months: int) -> list[dt.date]:
    """The ``months`` first days of month ending with ``until``'s month, oldest first."""
    year, month = until.year, until.month
    firsts = []
    for _i in range(months):
        firsts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def score_trend(user: User | None, *, unit: str, unit_id: int, months: int = 12,
                until: dt.date) -> list[tuple[dt.date, float | None]]:
    """The unit's total per month, oldest first, None for months not assessed. 404 when the
    unit is out of the user's scope."""
    if not unit_visible(user, unit=unit, unit_id=unit_id):
        raise Http404
    firsts = month_range(until, max(1, months))
    totals = dict(assessments(user).filter(month__in=firsts, **_unit_filter(unit, unit_id))
                  .values_list("month", "total"))
    return [(first, totals.get(first)) for first in firsts]


def unit_assessment(user: User | None, *, unit: str, unit_id: int,
                    month: dt.date) -> MonthlyAssessment | None:
    """The unit's row of the month (None when not computed); 404 when out of scope."""
    if not unit_visible(user, unit=unit, unit_id=unit_id):
        raise Http404
    return (assessments(user).filter(month=first_of_month(month), **_unit_filter(unit, unit_id))
            .first())


def case_kpis(user: User | None, *, month: dt.date) -> list[CaseKpiRow]:
    """Per district in the user's scope: the month's case-handling KPIs (stored with the
    district's assessment), by district code."""
    rows = (assessments(user).filter(month=first_of_month(month), unit_type=UnitType.DISTRICT)
            .order_by("district__code"))
    return [case_kpi_row(row) for row in rows]


def case_kpi_row(row: MonthlyAssessment) -> CaseKpiRow:
    cases = row.figures.get("cases", {})
    return CaseKpiRow(
        district_id=row.district_id, district_name=row.district.name,
        received=int(cases.get("received", 0)), closed=int(cases.get("closed", 0)),
        handling_rate=cases.get("handling_rate"), on_time_rate=cases.get("on_time_rate"),
        return_rate=cases.get("return_rate"),
        supervision_count=int(cases.get("supervision_count", 0)),
        below_floor=bool(cases.get("below_floor", False)))


def computed_months(user: User | None, *, limit: int = 24) -> list[dt.date]:
    """The most recent months with assessments in the user's scope, newest first."""
    return list(assessments(user).order_by("-month").values_list("month", flat=True)
                .distinct()[:limit])
