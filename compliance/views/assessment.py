"""Assessment pages (考评): the month's ranking of districts or enterprises (with the districts'
case-handling KPIs and the enterprises' risk grades), and one unit's breakdown with its trend.

Reads go through compliance.assessment.selectors (scoped by the user; out of scope is a 404).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from compliance.assessment import selectors
from compliance.assessment.chart import trend_chart
from compliance.assessment.rollup import previous_month
from compliance.daily_quality import bureau_today
from compliance.models import RiskGrade, UnitType
from fleet.models import District, Enterprise

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
UNIT_LABELS = dict(UnitType.choices)
RISK_LABELS = dict(RiskGrade.choices)


def assessment_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login, GET, and the capability the KPIs' inputs need (view violations)."""

    @login_required
    @require_GET
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.may_view(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def parse_month(value: str | None) -> dt.date | None:
    match = _MONTH.match(value or "")
    if match is None or not 1 <= int(match.group(2)) <= 12:
        return None
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def chosen_month(request: HttpRequest) -> dt.date:
    """The month asked for; else the latest computed one in scope; else last month."""
    asked = parse_month(request.GET.get("month"))
    if asked is not None:
        return asked
    months = selectors.computed_months(request.user, limit=1)
    return months[0] if months else previous_month(bureau_today())


def display_value(key: str, value: float | None) -> str:
    if value is None:
        return "—"
    if key in selectors.RATE_KPIS:
        return f"{value * 100:.1f}%"
    return f"{value:.2f}"


@dataclass(frozen=True)
class Cell:
    key: str
    value: str
    score: float
    weight: float
    zero: bool  # a weighted KPI that scored nothing: shown in red


def weights_for(unit: str) -> dict[str, float]:
    return (settings.ASSESSMENT_DISTRICT_WEIGHTS if unit == UnitType.DISTRICT
            else settings.ASSESSMENT_ENTERPRISE_WEIGHTS)


def columns_for(unit: str) -> list[tuple[str, Any, float]]:
    """(key, label, weight) of the unit type's KPIs, in display order."""
    weights = weights_for(unit)
    return [(key, label, weights[key]) for key, label in selectors.KPI_LABELS.items()
            if key in weights]


def cells(row: selectors.ScoreRow, unit: str) -> list[Cell]:
    result = []
    for key, _label, weight in columns_for(unit):
        kpi = row.kpis.get(key, selectors.KpiValue(value=None, score=0.0))
        result.append(Cell(key=key, value=display_value(key, kpi.value), score=kpi.score,
                           weight=weight, zero=kpi.score == 0 and weight > 0))
    return result


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def case_display(row: selectors.CaseKpiRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"row": row, "handling": percent(row.handling_rate),
            "on_time": percent(row.on_time_rate), "returned": percent(row.return_rate)}


def _month_nav(month: dt.date) -> dict[str, str]:
    later = (month + dt.timedelta(days=32)).replace(day=1)
    return {"previous_month": f"{previous_month(month):%Y-%m}",
            "next_month": f"{later:%Y-%m}" if later <= bureau_today() else ""}


@assessment_view
def ranking(request: HttpRequest) -> HttpResponse:
    """The month's ranking: ?unit=district|enterprise, ?month=YYYY-MM, ?grade= (enterprises)."""
    unit = request.GET.get("unit") or UnitType.DISTRICT
    if unit not in selectors.UNITS:
        unit = UnitType.DISTRICT
    return _ranking(request, unit)


@assessment_view
def risk_list(request: HttpRequest) -> HttpResponse:
    """The enterprises of the month with their risk grade, filterable by grade (?grade=)."""
    return _ranking(request, UnitType.ENTERPRISE)


def _ranking(request: HttpRequest, unit: str) -> HttpResponse:
    month = chosen_month(request)
    grade = request.GET.get("grade", "")
    rows = selectors.monthly_scores(request.user, month=month, unit=unit)
    if unit == UnitType.ENTERPRISE and grade in RISK_LABELS:
        rows = [row for row in rows if row.risk_grade == grade]
    cases = ({row.district_id: row for row in selectors.case_kpis(request.user, month=month)}
             if unit == UnitType.DISTRICT else {})
    lines = [{"row": row, "cells": cells(row, unit),
              "cases": case_display(cases.get(row.unit_id))} for row in rows]
    ranked_ids = {row.unit_id for row in rows}
    unranked = [case_display(row) for row in cases.values() if row.district_id not in ranked_ids]
    return render(request, "compliance/assessment/ranking.html", {
        "title": _("月度考评"),
        "unit": unit,
        "units": [(value, UNIT_LABELS[value]) for value in selectors.UNITS],
        "month": month,
        "month_value": f"{month:%Y-%m}",
        "grade": grade,
        "grades": list(RiskGrade.choices),
        "columns": columns_for(unit),
        "lines": lines,
        "unranked_cases": unranked,
        "handling_floor": settings.ASSESSMENT_HANDLING_FLOOR,
        **_month_nav(month),
    })


def _unit_name(user: Any, unit: str, unit_id: int) -> str:
    model = District if unit == UnitType.DISTRICT else Enterprise
    name = model.objects.visible_to(user).filter(pk=unit_id).values_list("name", flat=True)
    for value in name:
        return value
    raise Http404


@assessment_view
def unit_detail(request: HttpRequest, unit: str, unit_id: int) -> HttpResponse:
    """One district's or enterprise's month: each KPI's value, weight and points, the figures
    behind them, the 12-month trend; for a district its enterprises and case KPIs."""
    if unit not in selectors.UNITS:
        raise Http404
    month = chosen_month(request)
    row = selectors.unit_assessment(request.user, unit=unit, unit_id=unit_id, month=month)
    name = _unit_name(request.user, unit, unit_id)
    trend = selectors.score_trend(request.user, unit=unit, unit_id=unit_id, months=12,
                                  until=month)
    score_row = selectors.as_score_row(row) if row is not None and row.total is not None else None
    enterprises = []
    if unit == UnitType.DISTRICT:
        enterprises = [selectors.as_score_row(r) for r in selectors.ranked(
            request.user, month=month, unit=UnitType.ENTERPRISE).filter(district_id=unit_id)]
    labels = dict(selectors.KPI_LABELS)
    return render(request, "compliance/assessment/unit.html", {
        "title": name,
        "unit": unit,
        "unit_label": UNIT_LABELS[unit],
        "unit_id": unit_id,
        "month": month,
        "month_value": f"{month:%Y-%m}",
        "assessment": row,
        "score_row": score_row,
        "breakdown": [(labels[cell.key], cell) for cell in cells(score_row, unit)]
        if score_row else [],
        "figures": row.figures if row is not None else {},
        "cases": case_display(selectors.case_kpi_row(row)) if row is not None
        and unit == UnitType.DISTRICT else None,
        "enterprises": enterprises,
        "chart": trend_chart(trend),
        "risk_label": RISK_LABELS.get(score_row.risk_grade or "", "") if score_row else "",
        **_month_nav(month),
    })
