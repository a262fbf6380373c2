"""Local time (UTC+8, what terminals put on the wire) on POSIX-second floats, and zone windows.

The simulator keeps time as floats for speed; these helpers give the local day, hour and weekday
and evaluate the weekly windows of zones (same reading as `fleet.models.geography.window_contains`:
ISO weekdays, a window whose end is not after its start runs over midnight, empty = always).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fleet.jt808 import CST

OFFSET_S = 8 * 3600
DAY_S = 86_400
NIGHT_START_H = 22  # RULES.md §2a: night is [22:00, 06:00)
NIGHT_END_H = 6


def to_datetime(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, CST)


def from_datetime(value: dt.datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=CST)
    return value.timestamp()


def local_midnight(t: float) -> float:
    """Start of the local day containing `t`."""
    return (t + OFFSET_S) // DAY_S * DAY_S - OFFSET_S


def local_hours(t: float) -> float:
    """Hours since local midnight (0 ≤ h < 24)."""
    return ((t + OFFSET_S) % DAY_S) / 3600.0


def is_night(t: float) -> bool:
    h = local_hours(t)
    return h >= NIGHT_START_H or h < NIGHT_END_H


@dataclass(frozen=True, slots=True)
class Day:
    """One local day of simulation."""

    start: float  # local midnight, POSIX seconds
    date: dt.date

    @classmethod
    def of(cls, t: float) -> Day:
        start = local_midnight(t)
        return cls(start, to_datetime(start).date())

    @property
    def ordinal(self) -> int:
        return self.date.toordinal()

    @property
    def weekday(self) -> int:
        return self.date.isoweekday()

    def at(self, hours: float) -> float:
        return self.start + hours * 3600.0

    def next(self) -> Day:
        return Day(self.start + DAY_S, self.date + dt.timedelta(days=1))


def _clock(value: str) -> float:
    t = dt.time.fromisoformat(value)
    return t.hour + t.minute / 60 + t.second / 3600


def window_intervals(windows: Iterable[Mapping[str, Any]], around: Day,
                     ) -> list[tuple[float, float]]:
    """The windows in force from the day before `around` to the day after, as (start, end)
    POSIX intervals; one interval covering all three days when the list is empty (always)."""
    windows = list(windows)
    first = Day(around.start - DAY_S, around.date - dt.timedelta(days=1))
    if not windows:
        return [(first.start, first.start + 3 * DAY_S)]
    out = []
    day = first
    for _ in range(3):
        for window in windows:
            if day.weekday not in window["days"]:
                continue
            start, end = _clock(window["start"]), _clock(window["end"])
            if end <= start:
                end += 24.0
            out.append((day.at(start), day.at(end)))
        day = day.next()
    return sorted(out)


def overlaps(intervals: Iterable[tuple[float, float]], a: float, b: float,
             margin: float = 0.0) -> bool:
    return any(s - margin < b and a < e + margin for s, e in intervals)
