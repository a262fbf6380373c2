"""Case deadlines: working-day arithmetic on the bureau's holiday calendar, and how long each stage
of each case source may take.

Counting follows the Civil Code's rules on periods (民法典 arts. 201, 203): the day a period starts
is not counted; a period of N days ends at the end (23:59:59, Asia/Shanghai) of the N-th counted
day; a calendar-day period whose last day is a day off ends on the next working day instead.
Working-day periods (行政许可法 art. 82) skip days off altogether. Working days are Monday to
Friday, except public holidays (``Holiday`` rows with ``working_day=False``), plus the weekend
days declared working days (调休, ``working_day=True``).
Hour limits are plain elapsed time (a taxi complaint is acted on within 24 h, weekend or not).

Limits come from ``DeadlinePolicy`` rows (per source and stage, maintained by the bureau) and fall
back to ``DEFAULT_LIMITS`` below. The defaults and where they come from:

| source | dispatch | accept | handle | verify | supervision reply |
|---|---|---|---|---|---|
| violation | 1 wd | 1 wd | 5 wd | 2 wd | 1 wd |
| complaint | 1 wd ¹ | 1 wd (taxi: 24 h ²) | 5 wd ³ (taxi: 10 days ²) | 1 day ⁴ | 1 wd |
| illegal_operation | 1 wd | 1 wd | 5 wd | 2 wd | 1 wd |
| manual | 1 wd | 1 wd | 5 wd | 2 wd | 1 wd |

wd = working days, day = calendar day. RULES.md §6 (all marked *check*, hence configurable):
¹ a complaint is transferred within 1 working day; ² taxi complaints are acted on within 24 h and
closed within 10 days (GB/T 22485); ³ other complaints are closed within 5 working days; ⁴ the
callback of a closed complaint happens the next day, and the city verifies after it. The other
sources have no written limit; they take the complaint rules (1 working day per hand-over, 5 to
handle) so that a district never faces two clocks for the same kind of work, and the city gives
itself 2 working days to verify. A ``DeadlinePolicy`` row replaces the default for every vehicle
kind of that source (the taxi column is a default only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from compliance.models import CaseSource, DeadlinePolicy, Holiday, Stage
from compliance.models.cases import DeadlineUnit

TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = dt.time(23, 59, 59)
# Holidays are read in windows of this many days (a Spring Festival fits several times over).
_WINDOW_DAYS = 62


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: str  # DeadlineUnit

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


_WD = DeadlineUnit.WORKING_DAYS
_DAYS = DeadlineUnit.CALENDAR_DAYS
_HOURS = DeadlineUnit.HOURS
_COMMON = {Stage.DISPATCH: Limit(1, _WD), Stage.ACCEPT: Limit(1, _WD),
           Stage.HANDLE: Limit(5, _WD), Stage.VERIFY: Limit(2, _WD),
           Stage.SUPERVISION_REPLY: Limit(1, _WD)}
DEFAULT_LIMITS: dict[str, dict[str, Limit]] = {
    CaseSource.VIOLATION: dict(_COMMON),
    CaseSource.COMPLAINT: {**_COMMON, Stage.VERIFY: Limit(1, _DAYS)},
    CaseSource.ILLEGAL_OPERATION: dict(_COMMON),
    CaseSource.MANUAL: dict(_COMMON),
}
# Vehicle-kind specific defaults (source → kind → stage → limit).
KIND_LIMITS: dict[str, dict[str, dict[str, Limit]]] = {
    CaseSource.COMPLAINT: {"taxi": {Stage.ACCEPT: Limit(24, _HOURS),
                                    Stage.HANDLE: Limit(10, _DAYS)}},
}


class WorkCalendar:
    """Which days are working days; reads the ``Holiday`` rows a window at a time."""

    def __init__(self) -> None:
        self._known: dict[dt.date, bool] = {}
        self._loaded: list[tuple[dt.date, dt.date]] = []

    def _load(self, day: dt.date) -> None:
        first, last = day, day + dt.timedelta(days=_WINDOW_DAYS)
        rows = Holiday.objects.filter(date__range=(first, last)).values_list("date", "working_day")
        self._known.update(rows)
        self._loaded.append((first, last))

    def is_working_day(self, day: dt.date) -> bool:
        if not any(first <= day <= last for first, last in self._loaded):
            self._load(day)
        if day in self._known:
            return self._known[day]
        return day.weekday() < 5

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``day`` (``day`` itself is not counted)."""
        if count < 0:
            raise ValueError("count must be ≥ 0")
        while count:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(TZ).date()


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=TZ)


def is_working_day(day: dt.date) -> bool:
    return WorkCalendar().is_working_day(day)


def add_working_days(start: dt.datetime, count: int, *,
                     calendar: WorkCalendar | None = None) -> dt.datetime:
    """End of the ``count``-th working day after the day of ``start`` (local time)."""
    calendar = calendar or WorkCalendar()
    return end_of_day(calendar.add_working_days(local_date(start), count))


def apply_limit(limit: Limit, start: dt.datetime, *,
                calendar: WorkCalendar | None = None) -> dt.datetime:
    if limit.unit == DeadlineUnit.HOURS:
        return (start + dt.timedelta(hours=limit.amount)).astimezone(TZ)
    if limit.unit == DeadlineUnit.CALENDAR_DAYS:
        calendar = calendar or WorkCalendar()
        last = local_date(start) + dt.timedelta(days=limit.amount)
        if not calendar.is_working_day(last):  # 民法典 art. 203: moves past the day(s) off
            last = calendar.add_working_days(last, 1)
        return end_of_day(last)
    return add_working_days(start, limit.amount, calendar=calendar)


def limit_for(source: str, stage: str, *, vehicle_kind: str | None = None) -> Limit:
    """The bureau's row for (source, stage) if any, else the built-in default."""
    row = DeadlinePolicy.objects.filter(source=source, stage=stage).values_list(
        "amount", "unit").first()
    if row is not None:
        return Limit(*row)
    by_kind = KIND_LIMITS.get(source, {}).get(vehicle_kind or "", {})
    if stage in by_kind:
        return by_kind[stage]
    try:
        return DEFAULT_LIMITS[source][stage]
    except KeyError:
        raise ValueError(f"no deadline for {source}/{stage}") from None


def deadline_for(source: str, stage: str, start: dt.datetime, *,
                 vehicle_kind: str | None = None) -> dt.datetime:
    """When ``stage`` of a case of ``source`` started at ``start`` must be done."""
    return apply_limit(limit_for(source, stage, vehicle_kind=vehicle_kind), start)
