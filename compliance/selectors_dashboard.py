"""Reads of the bureau dashboard (the first screen after login), scoped by the user.

A handful of grouped aggregate queries whatever the size of the fleet: vehicles by (district,
kind) with their latest state, today's violations by (district, rule), the screening backlog,
cases by district (``selectors_cases.counts_by_district``) and this month's data quality by
district. Per-district and per-kind figures are folded from those rows in Python, so a city
with more districts costs no more queries.

"Today" is the bureau's calendar day (Asia/Shanghai), as the position partitions cut it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.roles import Capability
from compliance.assessment.selectors import monthly_scores
from compliance.catalogue import RULES
from compliance.daily_quality import bureau_today, day_bounds
from compliance.models import ReviewStatus, VehicleDayQuality, Violation
from compliance.selectors_cases import counts_by_district
from fleet import selectors as fleet_selectors
from fleet.models import Vehicle
from fleet.models.registry import VehicleKind, VehicleStatus

if TYPE_CHECKING:
    from accounts.models import User

TOP_RULES = 5
# Not behaviour to act on: data-quality records and findings screened out as false alarms.
NOT_COUNTED = (ReviewStatus.RECORDED, ReviewStatus.DISMISSED)


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class KindFigure:
    kind: str
    label: str
    online: int
    total: int


@dataclass(frozen=True)
class RuleFigure:
    rule: str
    label: str
    count: int


@dataclass
class DistrictRow:
    """One line of the district table."""

    district_id: int
    name: str
    vehicles: int = 0
    online: int = 0
    violations_today: int = 0
    cases_open: int = 0
    cases_overdue: int = 0
    cases_supervised: int = 0
    valid_fixes: int = 0
    total_fixes: int = 0
    complete_km: float = 0.0
    mileage_km: float = 0.0
    rank: int | None = None

    @property
    def online_rate(self) -> float | None:
        return ratio(self.online, self.vehicles)

    @property
    def validity(self) -> float | None:
        return ratio(self.valid_fixes, self.total_fixes)

    @property
    def completeness(self) -> float | None:
        return ratio(self.complete_km, self.mileage_km)


@dataclass
class Dashboard:
    day: dt.date
    month: dt.date
    shows_cases: bool
    # This month's data quality and rank: recomputed hourly, so the 45 s refresh leaves them out.
    has_month_figures: bool = True
    vehicles_online: int = 0
    vehicles_total: int = 0
    kinds: list[KindFigure] = field(default_factory=list)
    violations_today: int = 0
    top_rules: list[RuleFigure] = field(default_factory=list)
    cases_open: int = 0
    cases_overdue: int = 0
    cases_supervised: int = 0
    pending_screening: int = 0
    districts: list[DistrictRow] = field(default_factory=list)

    @property
    def online_rate(self) -> float | None:
        return ratio(self.vehicles_online, self.vehicles_total)


def _vehicles(user: User, board: Dashboard, rows: dict[int, DistrictRow]) -> None:
    """Vehicles in service or suspended (scrapped ones are no longer supervised), online now
    by their latest state; one query grouped by (district, kind)."""
    grouped = (Vehicle.objects.visible_to(user).exclude(status=VehicleStatus.SCRAPPED)
               .order_by().values_list("registered_district_id", "kind")
               .annotate(total=Count("pk"), online=Count("pk", filter=Q(state__online=True))))
    total: Counter[str] = Counter()
    online: Counter[str] = Counter()
    for district_id, kind, n, n_online in grouped:
        total[kind] += n
        online[kind] += n_online
        if district_id in rows:
            rows[district_id].vehicles += n
            rows[district_id].online += n_online
    board.kinds = [KindFigure(value, str(label), online[value], total[value])
                   for value, label in VehicleKind.choices if total[value]]
    board.vehicles_total = sum(total.values())
    board.vehicles_online = sum(online.values())


def _violations(user: User, board: Dashboard, rows: dict[int, DistrictRow]) -> None:
    """Today's violations by (owning district, rule), one query; the backlog, one count."""
    start, end = day_bounds(board.day)
    visible = Violation.objects.visible_to(user)
    grouped = (visible.filter(started_at__gte=start, started_at__lt=end)
               .exclude(review_status__in=NOT_COUNTED)
               .order_by().values_list("district_id", "rule").annotate(n=Count("pk")))
    by_rule: Counter[str] = Counter()
    for district_id, rule, n in grouped:
        by_rule[rule] += n
        if district_id in rows:
            rows[district_id].violations_today += n
    board.violations_today = sum(by_rule.values())
    board.top_rules = [RuleFigure(rule, str(RULES[rule].label) if rule in RULES else rule, n)
                       for rule, n in sorted(by_rule.items(), key=lambda item: (-item[1],
                                                                                 item[0]))
                       [:TOP_RULES]]
    board.pending_screening = visible.screenable().count()


def _cases(user: User, board: Dashboard, rows: dict[int, DistrictRow],
           now: dt.datetime) -> None:
    """Open / overdue / supervised by owning district (one query). The totals include cases
    owned elsewhere but dispatched to one of the user's districts: they are the user's work."""
    for line in counts_by_district(user, now=now):
        board.cases_open += line["open"]
        board.cases_overdue += line["overdue"]
        board.cases_supervised += line["supervised"]
        row = rows.get(line["district_id"])
        if row is not None:
            row.cases_open = line["open"]
            row.cases_overdue = line["overdue"]
            row.cases_supervised = line["supervised"]


def _quality(user: User, board: Dashboard, rows: dict[int, DistrictRow]) -> None:
    """This month's validity and completeness per district: ratios of sums over the month's
    day rows, as the KPIs compute them (one query)."""
    grouped = (VehicleDayQuality.objects.visible_to(user)
               .filter(day__gte=board.month, day__lte=board.day)
               .order_by().values_list("district_id")
               .annotate(valid=Sum("valid_fixes"), fixes=Sum("total_fixes"),
                         complete=Sum("complete_mileage_km"), mileage=Sum("mileage_km")))
    for district_id, valid, fixes, complete, mileage in grouped:
        row = rows.get(district_id)
        if row is not None:
            row.valid_fixes, row.total_fixes = valid or 0, fixes or 0
            row.complete_km, row.mileage_km = complete or 0.0, mileage or 0.0


def _ranks(user: User, board: Dashboard, rows: dict[int, DistrictRow]) -> None:
    """The month's KPI rank per district (the city's rank; none before the roll-up ran)."""
    for score in monthly_scores(user, month=board.month, unit="district"):
        if score.unit_id in rows:
            rows[score.unit_id].rank = score.rank


def dashboard(user: User, *, now: dt.datetime | None = None,
              month_figures: bool = True) -> Dashboard:
    """Everything the dashboard shows for ``user``'s scope. District rows are the user's
    districts (none for an enterprise officer: the table compares districts).
    ``month_figures=False`` skips the month's quality and ranks (the costliest query, and
    figures that change hourly)."""
    moment = now or timezone.now()
    day = bureau_today(moment)
    shows_cases = user.can(Capability.VIEW_CASES)
    board = Dashboard(day=day, month=day.replace(day=1), shows_cases=shows_cases,
                      has_month_figures=month_figures)
    districts: Any = (fleet_selectors.districts(user).order_by("code").only("pk", "name")
                      if user.scope.enterprise_id is None else [])
    rows = {d.pk: DistrictRow(district_id=d.pk, name=d.name) for d in districts}
    _vehicles(user, board, rows)
    _violations(user, board, rows)
    if shows_cases:
        _cases(user, board, rows, moment)
    if rows and month_figures:
        _quality(user, board, rows)
        _ranks(user, board, rows)
    board.districts = list(rows.values())
    return board


def as_json(board: Dashboard) -> dict[str, Any]:
    """The figures endpoint's payload: plain numbers (ratios 0..1 or null); the page formats.
    Figures not computed (the month's, cases without the capability) are left out, so the page
    keeps what it shows."""
    districts = {
        str(row.district_id): {
            "vehicles": row.vehicles, "online": row.online, "online_rate": row.online_rate,
            "violations_today": row.violations_today,
            **({"cases_open": row.cases_open, "cases_overdue": row.cases_overdue,
                "cases_supervised": row.cases_supervised} if board.shows_cases else {}),
            **({"validity": row.validity, "completeness": row.completeness, "rank": row.rank}
               if board.has_month_figures else {}),
        } for row in board.districts}
    return {
        "day": board.day.isoformat(),
        "figures": {
            "vehicles_online": board.vehicles_online, "vehicles_total": board.vehicles_total,
            "online_rate": board.online_rate, "violations_today": board.violations_today,
            "pending_screening": board.pending_screening,
            **({"cases_open": board.cases_open, "cases_overdue": board.cases_overdue,
                "cases_supervised": board.cases_supervised} if board.shows_cases else {}),
        },
        "kinds": [{"kind": k.kind, "label": k.label, "online": k.online, "total": k.total}
                  for k in board.kinds],
        "top_rules": [{"rule": r.rule, "label": r.label, "count": r.count}
                      for r in board.top_rules],
        "districts": districts,
    }
