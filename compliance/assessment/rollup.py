"""Compute one month's assessments and store them (``MonthlyAssessment``).

``compute_month(month)`` sums the month per district and per enterprise in SQL
(compliance.assessment.queries: set-based, over ``VehicleDayQuality``, violations, cases and
check-posts), scores each unit with compliance.assessment.formulas, ranks, and replaces the
month's rows in one transaction — readers see the old month or the new one, never half. The
scheduler computes the current month so far every night and the previous month, for the last
time, on the 1st at 01:00; after that a month stays as published unless someone runs
``manage.py compute_assessment --month`` on purpose.

The month is the Asia/Shanghai calendar month (as the day-quality rows' days are). A check-post
still inside its answer window, or a case assignment still inside its deadline, at the moment of
computation (``as_of``) is left out until it can be judged (see queries and formulas).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from compliance.assessment import formulas
from compliance.assessment.queries import Period, case_sums, region_sums, unit_sums
from compliance.daily_quality import bureau_today
from compliance.models import MonthlyAssessment, UnitType
from fleet.models import Enterprise
from fleet.telemetry.partitions import BUREAU_TZ

_LOCK_KEY = 0x4B50  # "KP": one computation of a month at a time
_FIGURE_KEYS = ("required", "connected", "online", "online_days", "drift_days",
                "drift_vehicles", "mileage_km", "complete_km", "total_fixes", "valid_fixes",
                "overspeed", "fatigue_seconds", "checkposts_sent", "checkposts_answered")


def month_period(month: dt.date, *, as_of: dt.datetime | None = None) -> Period:
    first = month.replace(day=1)
    end = (first + dt.timedelta(days=32)).replace(day=1)
    start_at = dt.datetime.combine(first, dt.time(), BUREAU_TZ)
    end_at = dt.datetime.combine(end, dt.time(), BUREAU_TZ)
    return Period(first=first, end=end, start_at=start_at, end_at=end_at,
                  as_of=as_of or timezone.now())


def _choices() -> formulas.Choices:
    return formulas.Choices(drift_basis=settings.ASSESSMENT_DRIFT_BASIS,
                            untested_checkpost_full=settings.ASSESSMENT_UNTESTED_CHECKPOST_FULL,
                            drift_ceiling=settings.ASSESSMENT_DRIFT_CEILING)


def region_of(sums: dict[str, Any]) -> formulas.Region:
    online = sums["online"] or 0
    return formulas.Region(
        overspeed=formulas.ratio(float(sums["overspeed"]), online),
        fatigue_hours=formulas.ratio(float(sums["fatigue_seconds"]) / 3600.0, online))


def figures_of(row: dict[str, Any]) -> formulas.UnitFigures:
    return formulas.UnitFigures(**{key: row[key] for key in _FIGURE_KEYS})


def _kpis_json(kpis: dict[str, formulas.Kpi]) -> dict[str, dict[str, float | None]]:
    return {key: {"value": None if kpi.value is None else round(kpi.value, 6),
                  "score": kpi.score} for key, kpi in kpis.items()}


def _scored(row: dict[str, Any] | None, weights: dict[str, float], region: formulas.Region
            ) -> tuple[dict[str, Any], float | None, dict[str, Any]]:
    """(kpis JSON, total or None, figures JSON) of one unit's sums (None: no vehicles)."""
    if row is None:
        return {}, None, {"required": 0}
    kpis = formulas.score_unit(figures_of(row), weights=weights,
                               floors=settings.ASSESSMENT_FLOORS, region=region,
                               choices=_choices())
    figures = {key: row[key] for key in _FIGURE_KEYS}
    if kpis is None:
        return {}, None, figures
    return _kpis_json(kpis), formulas.total(kpis), figures


def _rank(rows: list[MonthlyAssessment]) -> None:
    """Competition ranking by total (equal totals share a rank); unscored rows get none."""
    scored = sorted((row for row in rows if row.total is not None), key=lambda r: -r.total)
    previous: float | None = None
    rank = 0
    for position, row in enumerate(scored, start=1):
        if row.total != previous:
            rank, previous = position, row.total
        row.rank = rank


def _district_rows(period: Period, region: formulas.Region, region_json: dict[str, Any],
                   now: dt.datetime) -> list[MonthlyAssessment]:
    sums = {row["unit_id"]: row for row in unit_sums(
        UnitType.DISTRICT, period, kinds=tuple(settings.ASSESSMENT_KINDS),
        by_reports=settings.ASSESSMENT_CONNECTED_BY == "reported")}
    rows = []
    for cases in case_sums(period):  # every district: the case KPIs are shown even unscored
        district_id = cases["district_id"]
        kpis, total, figures = _scored(sums.get(district_id),
                                       settings.ASSESSMENT_DISTRICT_WEIGHTS, region)
        handling = formulas.handling_kpis(
            received=cases["received"], closed=cases["closed"], on_time=cases["on_time"],
            submitted=cases["submitted"], returned=cases["returned"],
            floor=settings.ASSESSMENT_HANDLING_FLOOR)
        figures["cases"] = {**{key: cases[key] for key in ("received", "closed", "on_time",
                                                           "submitted", "returned",
                                                           "supervision_count")},
                            **handling}
        figures["region"] = region_json
        rows.append(MonthlyAssessment(month=period.first, unit_type=UnitType.DISTRICT,
                                      district_id=district_id, kpis=kpis, total=total,
                                      figures=figures, computed_at=now))
    return rows


def _enterprise_rows(period: Period, region: formulas.Region, region_json: dict[str, Any],
                     now: dt.datetime) -> list[MonthlyAssessment]:
    sums = unit_sums(UnitType.ENTERPRISE, period, kinds=tuple(settings.ASSESSMENT_KINDS),
                     by_reports=settings.ASSESSMENT_CONNECTED_BY == "reported")
    districts = dict(Enterprise.objects.filter(pk__in=[row["unit_id"] for row in sums])
                     .values_list("pk", "district_id"))
    rows = []
    for row in sums:
        kpis, total, figures = _scored(row, settings.ASSESSMENT_ENTERPRISE_WEIGHTS, region)
        risk = risk_figures(row)
        figures["risk"] = risk
        figures["region"] = region_json
        rows.append(MonthlyAssessment(
            month=period.first, unit_type=UnitType.ENTERPRISE,
            district_id=districts[row["unit_id"]], enterprise_id=row["unit_id"], kpis=kpis,
            total=total, figures=figures,
            risk_grade=formulas.risk_grade(
                violations_per_vehicle=risk["violations_per_vehicle"],
                fatigue_hours_per_vehicle=risk["fatigue_hours_per_vehicle"],
                unresolved_cases=risk["unresolved_cases"],
                thresholds=settings.ASSESSMENT_RISK_THRESHOLDS),
            computed_at=now))
    return rows


def risk_figures(row: dict[str, Any]) -> dict[str, Any]:
    """The risk grade's measures: per online vehicle (zero with none online) and open cases."""
    online = row["online"]
    return {"violations": row["violations"],
            "violations_per_vehicle": round(row["violations"] / online, 4) if online else 0.0,
            "fatigue_hours_per_vehicle": (round(row["fatigue_seconds"] / 3600.0 / online, 4)
                                          if online else 0.0),
            "unresolved_cases": row["open_cases"]}


def compute_month(month: dt.date, *, as_of: dt.datetime | None = None) -> int:
    """Replace ``month``'s assessments (districts and enterprises) in one transaction; return
    the number of rows written."""
    period = month_period(month, as_of=as_of)
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                           [_LOCK_KEY, period.first.toordinal()])
        region_sum = region_sums(period, kinds=tuple(settings.ASSESSMENT_KINDS))
        region = region_of(region_sum)
        region_json = {"online": region_sum["online"], "overspeed": region.overspeed,
                       "fatigue_hours": region.fatigue_hours}
        rows: list[MonthlyAssessment] = []
        for make in (_district_rows, _enterprise_rows):
            unit_rows = make(period, region, region_json, now)
            _rank(unit_rows)
            rows.extend(unit_rows)
        MonthlyAssessment.objects.filter(month=period.first).delete()
        MonthlyAssessment.objects.bulk_create(rows)
    return len(rows)


def previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def previous_month_job() -> int:
    """Scheduled on the 1st at 01:00: the month just over, final."""
    return compute_month(previous_month(bureau_today()))


def current_month_job() -> int:
    """Scheduled daily: the current month so far (after yesterday's day-quality figures)."""
    return compute_month(bureau_today())


def compute_months(months: Iterable[dt.date]) -> dict[dt.date, int]:
    return {month: compute_month(month) for month in months}
