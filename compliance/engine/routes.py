"""Rules about staying on a planned route and stopping where allowed (RULES.md §2, §2a):
route_deviation, long_stop_toxic, bus_skip_stop, bus_stop_outside.

Geometry is the caller's job (distance to the planned route, which stop geofence or depot holds
the fix, door bits); these state machines only turn those facts into episodes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.engine.driving import DRIVING_KMH
from compliance.engine.model import Episode, RuleFix

ROUTE_DEVIATION = "route_deviation"
LONG_STOP_TOXIC = "long_stop_toxic"
BUS_SKIP_STOP = "bus_skip_stop"
BUS_STOP_OUTSIDE = "bus_stop_outside"


@dataclass(frozen=True)
class RouteSettings:
    deviation_after: dt.timedelta = dt.timedelta(minutes=2)
    back_inside_for: dt.timedelta = dt.timedelta(minutes=1)
    toxic_stop: dt.timedelta = dt.timedelta(minutes=30)
    bus_stop_outside: dt.timedelta = dt.timedelta(seconds=30)
    skip_max_gap: dt.timedelta = dt.timedelta(seconds=60)


# -- route deviation ------------------------------------------------------------------------------
@dataclass
class RouteWatch:
    outside_since: dt.datetime | None = None
    inside_since: dt.datetime | None = None
    max_distance_m: float = 0.0
    episode: Episode | None = None
    closed: list[Episode] = field(default_factory=list)


def route_step(state: RouteWatch, fix: RuleFix, distance_m: float, corridor_m: float,
               settings: RouteSettings) -> Episode | None:
    """Farther than the corridor for ≥ 2 min starts an episode (at the first fix outside);
    it ends once the vehicle has been back inside for ≥ 1 min."""
    outside = distance_m > corridor_m
    if outside:
        state.inside_since = None
        if state.outside_since is None:
            state.outside_since, state.max_distance_m = fix.time, 0.0
        state.max_distance_m = max(state.max_distance_m, distance_m)
        if state.episode is not None:
            state.episode.measured["max_distance_m"] = round(state.max_distance_m, 1)
        elif fix.time - state.outside_since >= settings.deviation_after:
            state.episode = Episode(ROUTE_DEVIATION, state.outside_since,
                                    measured={"max_distance_m": round(state.max_distance_m, 1)},
                                    thresholds={"corridor_m": corridor_m})
            return state.episode
        return None
    state.outside_since = None
    if state.episode is not None:
        state.inside_since = state.inside_since or fix.time
        if fix.time - state.inside_since >= settings.back_inside_for:
            state.episode.end = state.inside_since
            state.closed.append(state.episode)
            state.episode = None
    return None


# -- stops ----------------------------------------------------------------------------------------
@dataclass
class StopWatch:
    """A run of stopped fixes at one kind of place, for the stop rules."""

    since: dt.datetime | None = None
    episode: Episode | None = None
    closed: list[Episode] = field(default_factory=list)


def _stop_rule(state: StopWatch, fix: RuleFix, offending: bool, limit: dt.timedelta,
               rule: str, began: dt.datetime | None = None) -> Episode | None:
    """``began``: when the stop this fix shows began, if before the fix (the caller knows)."""
    if not offending:
        if state.episode is not None:
            state.episode.end = fix.time
            state.closed.append(state.episode)
            state.episode = None
        state.since = None
        return None
    state.since = state.since or began or fix.time
    if state.episode is None and fix.time - state.since > limit:
        state.episode = Episode(rule, state.since,
                                thresholds={"limit_s": limit.total_seconds()})
        return state.episode
    return None


def long_stop_toxic_step(state: StopWatch, fix: RuleFix, *, toxic_load: bool,
                         at_allowed_place: bool, settings: RouteSettings,
                         stop_began: dt.datetime | None = None) -> Episode | None:
    """Toxic/explosive goods stopped for more than 30 min outside depots and approved stops.

    ``stop_began``: the previous fix's time when the vehicle drove up to it. RULES.md §2a makes
    the interval ending at a fix below 5 km/h a stop, so the stop began at the last moving fix,
    not at the first fix that shows it (that under-counted every stop by one fix interval)."""
    stopped = fix.speed_kmh < DRIVING_KMH
    return _stop_rule(state, fix, toxic_load and stopped and not at_allowed_place,
                      settings.toxic_stop, LONG_STOP_TOXIC, stop_began)


def bus_stop_outside_step(state: StopWatch, fix: RuleFix, *, doors_open: bool,
                          at_stop_or_depot: bool, settings: RouteSettings,
                          stop_began: dt.datetime | None = None) -> Episode | None:
    """A bus with its doors open, or stopped for more than 30 s, outside stops and depots.
    ``stop_began`` as for long_stop_toxic_step."""
    if at_stop_or_depot:
        return _stop_rule(state, fix, False, settings.bus_stop_outside, BUS_STOP_OUTSIDE)
    if doors_open and state.episode is None:
        state.since = state.since or fix.time
        state.episode = Episode(BUS_STOP_OUTSIDE, fix.time, measured={"doors_open": "yes"},
                                thresholds={"limit_s": settings.bus_stop_outside.total_seconds()})
        return state.episode
    return _stop_rule(state, fix, fix.speed_kmh < DRIVING_KMH or doors_open,
                      settings.bus_stop_outside, BUS_STOP_OUTSIDE, stop_began)


@dataclass
class StopVisit:
    stop_id: int
    entered: dt.datetime
    min_speed: float
    seen_whole: bool = True  # entered from a fix outside, no long gap since


@dataclass
class SkipWatch:
    visit: StopVisit | None = None
    last: dt.datetime | None = None  # the previous fix's time
    closed: list[Episode] = field(default_factory=list)


def bus_skip_step(state: SkipWatch, fix: RuleFix, stop_id: int | None,
                  max_gap: dt.timedelta = dt.timedelta(seconds=60)) -> Episode | None:
    """Passing a stop geofence of the bus's line without stopping: every fix inside it was
    above 5 km/h. Judged when the bus leaves the geofence; returns the episode then. Only a
    visit seen whole is judged: entered from a fix outside the geofence at most ``max_gap``
    earlier, with no longer gap inside it or on leaving — where the data begins inside a stop
    or falls silent there, the bus may well have stopped unseen."""
    previous, state.last = state.last, fix.time
    close = previous is not None and fix.time - previous <= max_gap
    visit = state.visit
    if visit is not None and stop_id == visit.stop_id:
        visit.min_speed = min(visit.min_speed, fix.speed_kmh)
        visit.seen_whole = visit.seen_whole and close
        return None
    episode = None
    if visit is not None and visit.seen_whole and close and visit.min_speed > DRIVING_KMH:
        episode = Episode(BUS_SKIP_STOP, visit.entered, fix.time,
                          measured={"stop_id": visit.stop_id,
                                    "min_speed_kmh": visit.min_speed})
        state.closed.append(episode)
    state.visit = None if stop_id is None else StopVisit(
        stop_id, fix.time, fix.speed_kmh, seen_whole=close)
    return episode
