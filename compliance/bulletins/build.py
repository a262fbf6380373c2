"""Read a period's figures into a ``BulletinData`` tree: a dozen aggregate queries, whatever the
size of the city (no query per district, enterprise or vehicle).

Readings (printed with the bulletin):

- **Violations** are the episodes that *started* in the period (local time, Monday 00:00 to
  Sunday 24:00 for a week), owned by their district by the territorial principle, except those
  screened out as dismissed and the data-quality records (``gps_drift``), which are not driver
  violations. Pending and confirmed ones both count: the bulletin reports what the platform
  found; screening removes the false ones as it goes.
- **Vehicles online** are the vehicles that reported at least once in the period (a day-quality
  row, compliance.daily_quality), by their registered district.
- **Violations per vehicle** of an enterprise = its vehicles' violations ÷ its vehicles in service
  in the registry (the fleet it answers for, online or not).
- The bulletin is city-wide: it is built without a user's scope and circulated to every district.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone, translation

from compliance.bulletins import assessment
from compliance.bulletins.case_figures import case_lines
from compliance.bulletins.data import (
    BulletinData,
    DayCount,
    DistrictLine,
    EnterpriseLine,
    Figure,
    Headline,
    RuleLine,
    VehicleLine,
)
from compliance.bulletins.periods import TZ, BulletinKind, Period
from compliance.catalogue import RULES
from compliance.models import ReviewStatus, VehicleDayQuality, Violation
from fleet.models import District, Vehicle
from fleet.models.registry import VehicleKind, VehicleStatus

TOP = 10


def counted_violations(start: dt.datetime, end: dt.datetime):  # type: ignore[no-untyped-def]
    """The violations a bulletin counts, started in [start, end)."""
    return (Violation.objects.filter(started_at__gte=start, started_at__lt=end)
            .exclude(review_status__in=(ReviewStatus.DISMISSED, ReviewStatus.RECORDED))
            .exclude(rule="gps_drift"))


def _rule_district_counts(period: Period, previous: Period) -> list[dict]:
    current = Q(started_at__gte=period.starts_at)
    return list(counted_violations(previous.starts_at, period.ends_at).order_by()
                .values("district_id", "rule")
                .annotate(current=Count("pk", filter=current),
                          previous=Count("pk", filter=~current)))


def _online(period: Period, previous: Period) -> tuple[dict[int, int], Figure]:
    rows = VehicleDayQuality.objects.filter(day__gte=previous.start, day__lte=period.end)
    current = Q(day__gte=period.start)
    by_district = {row["district_id"]: row["n"] for row in rows.filter(current).order_by()
                   .values("district_id").annotate(n=Count("vehicle_id", distinct=True))}
    # A vehicle re-registered mid-period is one vehicle for the city, not two.
    totals = rows.aggregate(current=Count("vehicle_id", distinct=True, filter=current),
                            previous=Count("vehicle_id", distinct=True, filter=~current))
    return by_district, Figure(totals["current"], totals["previous"])


def _daily(period: Period) -> list[DayCount]:
    counts = {row["day"]: row["n"] for row in counted_violations(period.starts_at,
                                                                 period.ends_at).order_by()
              .annotate(day=TruncDate("started_at", tzinfo=TZ)).values("day")
              .annotate(n=Count("pk"))}
    return [DayCount(day, counts.get(day, 0)) for day in period.days]


def _top_enterprises(period: Period) -> list[EnterpriseLine]:
    rows = list(counted_violations(period.starts_at, period.ends_at).order_by()
                .values("enterprise_id", "enterprise__name", "enterprise__district__name")
                .annotate(n=Count("pk")))
    fleet = dict(Vehicle.objects.filter(enterprise_id__in=[r["enterprise_id"] for r in rows])
                 .exclude(status=VehicleStatus.SCRAPPED).order_by().values("enterprise_id")
                 .annotate(n=Count("pk")).values_list("enterprise_id", "n"))
    lines = [EnterpriseLine(enterprise_id=r["enterprise_id"], name=r["enterprise__name"],
                            district_name=r["enterprise__district__name"],
                            vehicles=fleet.get(r["enterprise_id"], 0), violations=r["n"])
             for r in rows]
    # No vehicle in service left: rank by count after those with a rate (never divide by 0).
    lines.sort(key=lambda line: (line.per_vehicle is None, -(line.per_vehicle or 0),
                                 -line.violations, line.name))
    return lines[:TOP]


def _top_vehicles(period: Period) -> list[VehicleLine]:
    violations = counted_violations(period.starts_at, period.ends_at).order_by()
    rows = list(violations.values("vehicle_id", "vehicle__plate", "vehicle__kind",
                                  "vehicle__enterprise__name",
                                  "vehicle__registered_district__name")
                .annotate(n=Count("pk")).order_by("-n", "vehicle__plate")[:TOP])
    by_rule: dict[int, Counter[str]] = defaultdict(Counter)
    for vehicle_id, rule, n in (violations.filter(vehicle_id__in=[r["vehicle_id"] for r in rows])
                                .values("vehicle_id", "rule").annotate(n=Count("pk"))
                                .values_list("vehicle_id", "rule", "n")):
        by_rule[vehicle_id][rule] = n
    kinds = dict(VehicleKind.choices)

    def main_rule(vehicle_id: int) -> str:
        # The most frequent rule; a tie goes to the catalogue's order (the more serious first).
        counts = by_rule[vehicle_id]
        code = min(counts, key=lambda rule: (-counts[rule], list(RULES).index(rule)))
        return str(RULES[code].label)

    return [VehicleLine(vehicle_id=r["vehicle_id"], plate=r["vehicle__plate"],
                        kind_label=str(kinds.get(r["vehicle__kind"], r["vehicle__kind"])),
                        enterprise_name=r["vehicle__enterprise__name"],
                        district_name=r["vehicle__registered_district__name"],
                        violations=r["n"], main_rule=main_rule(r["vehicle_id"]))
            for r in rows]


def build_bulletin(kind: str, start: dt.date, *, moment: dt.datetime | None = None
                   ) -> BulletinData:
    """The bulletin of the ``kind`` period beginning ``start``, counted up to ``moment``
    (default now). Texts are in the platform's language: it is the circulated document."""
    with translation.override(settings.LANGUAGE_CODE):
        return _build(Period.of(kind, start), moment or timezone.now())


def _build(period: Period, moment: dt.datetime) -> BulletinData:
    previous = period.previous()
    districts = dict(District.objects.order_by("code").values_list("pk", "name"))
    counts = _rule_district_counts(period, previous)
    online, online_total = _online(period, previous)
    per_rule: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_district: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    matrix: dict[int, dict[str, int]] = defaultdict(dict)
    for row in counts:
        for key in (per_rule[row["rule"]], per_district[row["district_id"]]):
            key[0] += row["current"]
            key[1] += row["previous"]
        if row["current"]:
            matrix[row["district_id"]][row["rule"]] = row["current"]
    by_rule = [RuleLine(code, str(spec.label), *per_rule[code])
               for code, spec in RULES.items() if code in per_rule]
    by_rule.sort(key=lambda line: (-line.current, -line.previous))
    by_district = [DistrictLine(district_id=pk, name=name, current=per_district[pk][0],
                                previous=per_district[pk][1],
                                vehicles_online=online.get(pk, 0), by_rule=matrix.get(pk, {}))
                   for pk, name in districts.items()]
    cases, cases_total = case_lines(period, districts, moment)
    _previous_cases, previous_total = case_lines(previous, districts, moment)
    headline = Headline(
        violations=Figure(sum(v[0] for v in per_rule.values()),
                          sum(v[1] for v in per_rule.values())),
        vehicles_online=online_total,
        cases_received=Figure(cases_total.received, previous_total.received),
        cases_closed=Figure(cases_total.closed, previous_total.closed),
        cases_overdue=Figure(cases_total.overdue, previous_total.overdue),
        cases_supervised=Figure(cases_total.supervisions, previous_total.supervisions))
    review, note = (assessment.monthly(period) if period.kind == BulletinKind.MONTHLY
                    else (None, ""))
    return BulletinData(
        kind=period.kind, title=period.title, period_start=period.start,
        period_end=period.end, previous_start=previous.start, previous_end=previous.end,
        generated_at=moment, headline=headline, by_rule=by_rule, by_district=by_district,
        daily=_daily(period), top_enterprises=_top_enterprises(period),
        top_vehicles=_top_vehicles(period), cases=cases, cases_total=cases_total,
        assessment=review, assessment_note=note)
