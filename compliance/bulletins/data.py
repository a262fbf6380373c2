"""The bulletin as data: one tree of plain dataclasses, stored as JSON when published.

Only counts are stored; every rate and change is a property computed from them, so the frozen
JSON (compliance.bulletins.snapshot) cannot disagree with itself. Names (districts, enterprises,
rules) are stored as they were at generation: a circulated bulletin keeps the names it was
circulated with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# RULES.md §4 / 动态监督管理办法 art. 35: a district handling fewer than 90 % of its cases is
# below the legal floor.
HANDLING_FLOOR = 0.90


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def change(current: float, previous: float) -> float | None:
    """Relative change from the previous period; None when there is nothing to compare with."""
    return (current - previous) / previous if previous else None


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def signed_percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


def trend(value: float | None) -> str:
    """"up", "down" or "" — for the page's colour (more violations is the bad direction)."""
    if not value:
        return ""
    return "up" if value > 0 else "down"


class Changing:
    """Change from the previous period, as a number and as the page shows it."""

    current: float
    previous: float

    @property
    def change(self) -> float | None:
        return change(self.current, self.previous)

    @property
    def change_text(self) -> str:
        return signed_percent(self.change)

    @property
    def trend(self) -> str:
        return trend(self.change)


@dataclass(frozen=True)
class Figure(Changing):
    current: float
    previous: float


@dataclass(frozen=True)
class Headline:
    violations: Figure
    vehicles_online: Figure
    cases_received: Figure
    cases_closed: Figure
    cases_overdue: Figure
    cases_supervised: Figure


@dataclass(frozen=True)
class RuleLine(Changing):
    code: str
    label: str
    current: int
    previous: int


@dataclass(frozen=True)
class DistrictLine(Changing):
    district_id: int
    name: str
    current: int
    previous: int
    vehicles_online: int
    by_rule: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    count: int


@dataclass(frozen=True)
class EnterpriseLine:
    enterprise_id: int
    name: str
    district_name: str
    vehicles: int  # in service in the registry at generation
    violations: int

    @property
    def per_vehicle(self) -> float | None:
        return ratio(self.violations, self.vehicles)

    @property
    def per_vehicle_text(self) -> str:
        value = self.per_vehicle
        return "—" if value is None else f"{value:.2f}"


@dataclass(frozen=True)
class VehicleLine:
    vehicle_id: int
    plate: str
    kind_label: str
    enterprise_name: str
    district_name: str
    violations: int
    main_rule: str  # label of the rule it broke most often


@dataclass(frozen=True)
class CaseLine:
    """One district's case handling; counts refer to the units (承办) dispatched to it in the
    period, as they stood when the bulletin was generated."""

    district_id: int | None
    name: str
    received: int
    closed: int
    on_time: int
    overdue: int
    returns: int
    supervisions: int

    @property
    def open(self) -> int:
        return self.received - self.closed

    @property
    def handling_rate(self) -> float | None:
        return ratio(self.closed, self.received)

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.on_time, self.closed)

    @property
    def below_floor(self) -> bool:
        rate = self.handling_rate
        return rate is not None and rate < HANDLING_FLOOR

    @property
    def handling_rate_text(self) -> str:
        return percent(self.handling_rate)

    @property
    def on_time_rate_text(self) -> str:
        return percent(self.on_time_rate)


@dataclass(frozen=True)
class KpiCell:
    value: float | None
    score: float


@dataclass(frozen=True)
class ScoreLine:
    rank: int
    unit_id: int
    unit_name: str
    district_name: str
    total: float
    risk_grade: str | None  # "high" | "medium" | "low" (enterprises)
    risk_label: str
    kpis: dict[str, KpiCell] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseKpiLine:
    """A district's case KPIs of the month as the assessment module computed them."""

    district_name: str
    received: int
    closed: int
    handling_rate: float | None
    on_time_rate: float | None
    return_rate: float | None
    supervision_count: int
    below_floor: bool

    @property
    def texts(self) -> tuple[str, str, str]:
        """Handling, on-time and return rates as the page prints them."""
        return (percent(self.handling_rate), percent(self.on_time_rate),
                percent(self.return_rate))


@dataclass(frozen=True)
class Assessment:
    """The month's assessment (考评), as compliance.assessment scored it."""

    kpi_labels: dict[str, str]
    rate_kpis: list[str]  # shown as percentages; the others are per-vehicle measures
    district_kpis: list[str]
    enterprise_kpis: list[str]
    districts: list[ScoreLine]
    enterprises: list[ScoreLine]
    case_kpis: list[CaseKpiLine]

    def _text(self, code: str, cell: KpiCell | None) -> str:
        if cell is None or cell.value is None:
            return "—"
        return percent(cell.value) if code in self.rate_kpis else f"{cell.value:.2f}"

    def _rows(self, lines: list[ScoreLine], kpis: list[str]) -> list[tuple[ScoreLine, list[str]]]:
        return [(line, [self._text(code, line.kpis.get(code)) for code in kpis])
                for line in lines]

    @property
    def district_rows(self) -> list[tuple[ScoreLine, list[str]]]:
        return self._rows(self.districts, self.district_kpis)

    @property
    def enterprise_rows(self) -> list[tuple[ScoreLine, list[str]]]:
        return self._rows(self.enterprises, self.enterprise_kpis)

    @property
    def district_headings(self) -> list[str]:
        return [self.kpi_labels.get(code, code) for code in self.district_kpis]

    @property
    def enterprise_headings(self) -> list[str]:
        return [self.kpi_labels.get(code, code) for code in self.enterprise_kpis]


@dataclass(frozen=True)
class BulletinData:
    kind: str
    title: str
    period_start: dt.date
    period_end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    generated_at: dt.datetime
    headline: Headline
    by_rule: list[RuleLine]
    by_district: list[DistrictLine]
    daily: list[DayCount]
    top_enterprises: list[EnterpriseLine]
    top_vehicles: list[VehicleLine]
    cases: list[CaseLine]
    cases_total: CaseLine
    # Monthly review only; None when the assessment module is not there (or for weeks).
    assessment: Assessment | None = None
    assessment_note: str = ""

    @property
    def rule_columns(self) -> list[RuleLine]:
        """Rules with any violation in the period: the columns of the district × rule table."""
        return [line for line in self.by_rule if line.current]

    @property
    def rule_matrix(self) -> list[tuple[RuleLine, list[int]]]:
        """Rows of the rules with violations in either period, one cell per district (the
        page's table), so the previous-period column adds up too."""
        return [(rule, [line.by_rule.get(rule.code, 0) for line in self.by_district])
                for rule in self.by_rule]

    @property
    def monthly_cases(self) -> bool:
        """The monthly review prints the assessment's case KPIs (the official ones) when the
        assessment has them; otherwise the bulletin's own case table."""
        return bool(self.assessment and self.assessment.case_kpis)

    @property
    def enterprise_extremes(self) -> tuple[list[tuple[ScoreLine, list[str]]],
                                           list[tuple[ScoreLine, list[str]]]]:
        """The first and last ten of the enterprise ranking (all of it when 20 or fewer);
        the workbook has every enterprise."""
        rows = self.assessment.enterprise_rows if self.assessment else []
        if len(rows) <= 20:
            return rows, []
        return rows[:10], rows[-10:]

    @property
    def case_floor_breaches(self) -> list[CaseLine]:
        return [line for line in self.cases if line.below_floor]
