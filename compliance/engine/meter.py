"""no_meter (taxi): a loaded interval that meter trips cover for less than half its duration.

Loaded interval (RULES.md §2a): from the first fix whose load bits (status 8–9) are non-empty to
the first fix where they are empty again; distance = sum of fix-to-fix distances over it. It
counts when longer than 3 minutes and 500 m. Meter trips arrive when the passenger alights,
often after the fixes, so an interval is judged only after a grace period (a setting) has
passed in data time.

A silence inside a loaded interval (a terminal without power or network) longer than
``max_gap`` (a setting; RULES.md §2a is silent) ends the interval at its last loaded fix: what
happened unseen is not counted against the driver. The passenger may have alighted in the dark
(the first empty fix then comes long after the meter trip ended), or a new one boarded: a
loaded fix after the silence starts a new interval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.engine.driving import distance_km
from compliance.engine.model import Episode, RuleFix

RULE = "no_meter"
# A silence longer than this ends a loaded interval (setting no_meter.max_gap_s).
MAX_GAP = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class MeterSettings:
    min_duration: dt.timedelta = dt.timedelta(minutes=3)
    min_distance_m: float = 500.0
    min_coverage: float = 0.5
    grace: dt.timedelta = dt.timedelta(minutes=5)
    max_gap: dt.timedelta = MAX_GAP

    def as_thresholds(self) -> dict[str, float | str]:
        return {"min_duration_s": self.min_duration.total_seconds(),
                "min_distance_m": self.min_distance_m, "min_coverage": self.min_coverage,
                "grace_s": self.grace.total_seconds(), "max_gap_s": self.max_gap.total_seconds()}


@dataclass(frozen=True)
class LoadedInterval:
    start: dt.datetime
    end: dt.datetime
    distance_m: float
    silence_s: float = 0.0  # > 0: ended at its last loaded fix by a silence this long


@dataclass
class LoadedTracker:
    start: RuleFix | None = None
    last: RuleFix | None = None
    distance_m: float = 0.0
    finished: list[LoadedInterval] = field(default_factory=list)


def loaded(fix: RuleFix) -> bool:
    return bool((fix.status >> 8) & 0b11)


def step(state: LoadedTracker, fix: RuleFix,
         max_gap: dt.timedelta = MAX_GAP) -> None:
    """Feed fixes in time order; completed loaded intervals collect in ``state.finished``."""
    if state.last is not None and fix.time <= state.last.time:
        return
    if (state.start is not None and state.last is not None
            and fix.time - state.last.time > max_gap):
        if state.last.time > state.start.time:  # a single loaded fix is no interval
            state.finished.append(LoadedInterval(state.start.time, state.last.time,
                                                 state.distance_m,
                                                 (fix.time - state.last.time).total_seconds()))
        state.start = None
    if state.start is not None and state.last is not None:
        state.distance_m += distance_km(state.last, fix) * 1000
        if not loaded(fix):
            state.finished.append(LoadedInterval(state.start.time, fix.time, state.distance_m))
            state.start = None
    elif loaded(fix):
        state.start, state.distance_m = fix, 0.0
    state.last = fix


def coverage(interval: LoadedInterval,
             trips: list[tuple[dt.datetime, dt.datetime]]) -> float:
    """Fraction of the interval covered by the union of the meter trips overlapping it."""
    total = (interval.end - interval.start).total_seconds()
    if total <= 0:
        return 1.0
    clipped = sorted((max(a, interval.start), min(b, interval.end)) for a, b in trips
                     if b > interval.start and a < interval.end)
    covered, cursor = 0.0, interval.start
    for a, b in clipped:
        a = max(a, cursor)
        if b > a:
            covered += (b - a).total_seconds()
            cursor = b
    return covered / total


def judge(interval: LoadedInterval, trips: list[tuple[dt.datetime, dt.datetime]],
          settings: MeterSettings) -> Episode | None:
    if (interval.end - interval.start <= settings.min_duration
            or interval.distance_m <= settings.min_distance_m):
        return None
    covered = coverage(interval, trips)
    if covered >= settings.min_coverage:
        return None
    measured: dict[str, float | str] = {"covered_fraction": round(covered, 4),
                "duration_s": (interval.end - interval.start).total_seconds(),
                "distance_m": round(interval.distance_m, 1)}
    if interval.silence_s:
        measured["silence_after_s"] = interval.silence_s
    return Episode(RULE, interval.start, interval.end, measured=measured,
                   thresholds=settings.as_thresholds())


def due(state: LoadedTracker, now: dt.datetime, settings: MeterSettings,
        ) -> list[LoadedInterval]:
    """Intervals whose grace period has passed: take them out to be judged."""
    ready = [i for i in state.finished if now - i.end >= settings.grace]
    state.finished = [i for i in state.finished if now - i.end < settings.grace]
    return ready
