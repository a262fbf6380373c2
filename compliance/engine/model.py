"""Plain inputs and outputs of the rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fleet.jt808.bcd import CST

# The very zone object terminal times are decoded in, not an equal one: datetimes sharing a
# tzinfo object compare, subtract and convert without asking it for offsets (16 ns against
# ~450 ns a comparison here), and the rules compare fix times all the time.
BUREAU_TZ = CST


class PlainValue:
    """Equality, hash, repr and pickling from ``_values()`` (the constructor's arguments in
    order), for the classes built per fix with their own ``__init__`` (RuleFix, FixIn): a
    compiled dataclass is built through the generated Python ``__init__`` (~2,800
    instructions a fix, against ~100)."""

    __slots__ = ()

    def _values(self) -> tuple[object, ...]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and isinstance(other, PlainValue)
                and self._values() == other._values())

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return type(self).__name__ + repr(self._values())

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return type(self), self._values()


class RuleFix(PlainValue):
    """A fix as the rules see it: valid (not drift), positioned, in time order per vehicle.

    ``limit_kmh`` is the road/zone speed limit at the fix (looked up by the caller), None when
    the fix is on no known road. Treated as immutable; not a dataclass (see PlainValue).
    """

    __slots__ = ("alarm", "lat", "limit_kmh", "lon", "on_expressway", "speed_kmh", "status",
                 "time")

    def __init__(self, time: dt.datetime, lon: float, lat: float, speed_kmh: float,
                 status: int = 0, alarm: int = 0, limit_kmh: float | None = None,
                 on_expressway: bool = False) -> None:
        self.time = time
        self.lon = lon
        self.lat = lat
        self.speed_kmh = speed_kmh
        self.status = status
        self.alarm = alarm
        self.limit_kmh = limit_kmh
        self.on_expressway = on_expressway

    def _values(self) -> tuple[object, ...]:
        return (self.time, self.lon, self.lat, self.speed_kmh, self.status, self.alarm,
                self.limit_kmh, self.on_expressway)


@dataclass
class Episode:
    """One violation episode of one rule (re-reports and bursts already merged)."""

    rule: str
    start: dt.datetime
    end: dt.datetime | None = None  # None while open
    measured: dict[str, float | str] = field(default_factory=dict)
    thresholds: dict[str, float | str] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.end is None


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(BUREAU_TZ)


def is_night(moment: dt.datetime, night_start: dt.time, night_end: dt.time) -> bool:
    """Night is [night_start, night_end) local time, over midnight (RULES.md §2a: 22:00–06:00)."""
    clock = local(moment).time()
    return clock >= night_start or clock < night_end


def night_boundaries(start: dt.datetime, end: dt.datetime, night_start: dt.time,
                     night_end: dt.time) -> list[dt.datetime]:
    """Every local 22:00 / 06:00 instant strictly inside (start, end), in order."""
    if end - start < dt.timedelta(hours=1):
        # The common case (fix to fix): a boundary inside means the clock passed it.
        a, b = local(start).time(), local(end).time()
        wrapped = b < a  # passed midnight
        crossed = any((a < c < b) if not wrapped else (c > a or c < b)
                      for c in (night_start, night_end))
        if not crossed:
            return []
    out = []
    day = local(start).date() - dt.timedelta(days=1)
    last = local(end).date() + dt.timedelta(days=1)
    while day <= last:
        for clock in (night_end, night_start):
            moment = dt.datetime.combine(day, clock, BUREAU_TZ)
            if start < moment < end:
                out.append(moment)
        day += dt.timedelta(days=1)
    return sorted(out)
