"""fatigue_daily: driving time in the rolling 24 h ending at t exceeds 8 h (coach: also 44 h in
the rolling 7 days). Starts when the sum first exceeds the limit, ends when it falls back to
the limit or below (RULES.md §2a). Exact moments: the rolling sum is monotone inside a driving
interval (rises) and inside a stop (falls), so crossings are found by bisection to the second.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field

from compliance.engine.driving import is_driving
from compliance.engine.model import Episode, RuleFix

RULE = "fatigue_daily"
ZERO = dt.timedelta(0)
SECOND = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class Window:
    span: dt.timedelta
    limit: dt.timedelta
    name: str


DAY_WINDOW = Window(dt.timedelta(hours=24), dt.timedelta(hours=8), "24h")
WEEK_WINDOW = Window(dt.timedelta(days=7), dt.timedelta(hours=44), "7d")


@dataclass
class DailyDriving:
    last: RuleFix | None = None
    intervals: deque[tuple[dt.datetime, dt.datetime]] = field(default_factory=deque)
    kept: dt.timedelta = ZERO  # the sum of ``intervals``: no window can see more than this
    episodes: dict[str, Episode] = field(default_factory=dict)  # open, per window
    closed: list[Episode] = field(default_factory=list)


def driving_in(state: DailyDriving, end: dt.datetime, span: dt.timedelta) -> dt.timedelta:
    start = end - span
    return sum((min(b, end) - max(a, start) for a, b in state.intervals
                if b > start and a < end), ZERO)


def _crossing(state: DailyDriving, lo: dt.datetime, hi: dt.datetime, window: Window,
              above: bool) -> dt.datetime:
    """First whole second in (lo, hi] where the sum is above (or back at/below) the limit;
    ``hi`` itself when the condition holds only after the last whole second."""

    def holds(moment: dt.datetime) -> bool:
        return (driving_in(state, moment, window.span) > window.limit) == above

    # Bisect over whole seconds, not over instants rounded up afterwards: rounding the instant
    # found gave one second late whenever the crossing fell exactly on a second (a sum back at
    # 8 h at 06:01:00 was reported at 06:01:01).
    first = lo.replace(microsecond=0) + SECOND
    a, b = 0, int((hi - first) // SECOND)
    if b < 0 or not holds(first + b * SECOND):
        return hi
    while a < b:
        mid = (a + b) // 2
        if holds(first + mid * SECOND):
            b = mid
        else:
            a = mid + 1
    return first + a * SECOND


def step(state: DailyDriving, fix: RuleFix, windows: tuple[Window, ...] = (DAY_WINDOW,),
         ) -> list[Episode]:
    """Feed fixes in time order; returns episodes opened by this fix."""
    previous = state.last
    if previous is not None and fix.time <= previous.time:
        return []
    state.last = fix
    if previous is None:
        return []
    intervals = state.intervals
    if is_driving(previous, fix):
        if intervals and intervals[-1][1] == previous.time:
            intervals[-1] = (intervals[-1][0], fix.time)
        else:
            intervals.append((previous.time, fix.time))
        state.kept += fix.time - previous.time
    # Keep what the windows ending anywhere in (previous, fix] still see: the crossings below
    # are searched there. Pruning from fix.time made a long silence drop the driving first, so
    # an episode "ended" one second after the silence began instead of when the sum fell back.
    horizon = previous.time - (windows[0].span if len(windows) == 1
                               else max(w.span for w in windows))
    while intervals and intervals[0][1] <= horizon:
        first, last = intervals.popleft()
        state.kept -= last - first
    if not state.episodes and all(state.kept <= w.limit for w in windows):
        return []  # no window can be over its limit: nothing opens (most fixes)
    opened = []
    for window in windows:
        total = driving_in(state, fix.time, window.span)
        episode = state.episodes.get(window.name)
        if episode is None and total > window.limit:
            start = _crossing(state, previous.time, fix.time, window, above=True)
            episode = Episode(RULE, start, measured={"window": window.name},
                              thresholds={"window_h": window.span / dt.timedelta(hours=1),
                                          "limit_h": window.limit / dt.timedelta(hours=1)})
            state.episodes[window.name] = episode
            opened.append(episode)
        elif episode is not None and total <= window.limit:
            episode.end = _crossing(state, previous.time, fix.time, window, above=False)
            state.closed.append(state.episodes.pop(window.name))
        if episode is not None and episode.end is None:
            peak = max(float(episode.measured.get("max_driving_h", 0)),
                       total / dt.timedelta(hours=1))
            episode.measured["max_driving_h"] = round(peak, 3)
    return opened
