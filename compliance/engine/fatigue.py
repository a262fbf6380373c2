"""fatigue_continuous (RULES.md §2 and §2a).

Continuous driving time is the driving accumulated since the end of the last stop of at least
20 minutes (exactly 20:00 resets, 19:59 does not; shorter stops pause the clock). The limit at
each moment is 2 h at night [22:00, 06:00) and 4 h by day. The episode starts at the first
moment the accumulated time exceeds the limit in force and ends at the next reset; its fatigue
duration is the driving time accumulated while above the limit in force.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from compliance.engine.driving import is_driving
from compliance.engine.model import Episode, RuleFix, is_night, night_boundaries

RULE = "fatigue_continuous"
ZERO = dt.timedelta(0)


@dataclass(frozen=True)
class FatigueSettings:
    day_limit: dt.timedelta = dt.timedelta(hours=4)
    night_limit: dt.timedelta = dt.timedelta(hours=2)
    reset_stop: dt.timedelta = dt.timedelta(minutes=20)
    night_start: dt.time = dt.time(22, 0)
    night_end: dt.time = dt.time(6, 0)

    @property
    def lowest_limit(self) -> dt.timedelta:
        return min(self.day_limit, self.night_limit)

    def limit_at(self, moment: dt.datetime) -> dt.timedelta:
        night = is_night(moment, self.night_start, self.night_end)
        return self.night_limit if night else self.day_limit

    def as_thresholds(self) -> dict[str, float | str]:
        return {"day_limit_h": self.day_limit / dt.timedelta(hours=1),
                "night_limit_h": self.night_limit / dt.timedelta(hours=1),
                "reset_stop_min": self.reset_stop / dt.timedelta(minutes=1),
                "night": f"{self.night_start:%H:%M}-{self.night_end:%H:%M}"}


@dataclass
class ContinuousDriving:
    """What the rule carries between fixes of one vehicle."""

    last: RuleFix | None = None
    driving: dt.timedelta = ZERO  # accumulated since the last reset
    stop_started: dt.datetime | None = None  # start of the current stop run
    episode: Episode | None = None
    over: dt.timedelta = ZERO  # driving while above the limit, in the open episode
    closed: list[Episode] = field(default_factory=list)


def _drive(state: ContinuousDriving, start: dt.datetime, end: dt.datetime,
           settings: FatigueSettings) -> Episode | None:
    """Accumulate the driving interval [start, end]; return an episode opened inside it."""
    after = state.driving + (end - start)
    if state.episode is None and after <= settings.lowest_limit:
        # Under both limits whatever the hour: nothing to open, nothing over (the common case;
        # it spares the night-boundary search on every fix of the first hours of a drive).
        state.driving = after
        return None
    opened = None
    cuts = [start, *night_boundaries(start, end, settings.night_start, settings.night_end), end]
    for seg_start, seg_end in itertools.pairwise(cuts):
        length = seg_end - seg_start
        limit = settings.limit_at(seg_start)
        before = state.driving
        after = before + length
        if after > limit:
            if state.episode is None:
                # Exceeds from the moment the accumulated time passes the limit (at once when
                # it already had more, e.g. a drive crossing 22:00 with 3 h).
                state.episode = Episode(RULE, seg_start + max(ZERO, limit - before),
                                        thresholds=settings.as_thresholds())
                state.over = ZERO
                opened = state.episode
            state.over += min(length, after - max(before, limit))
        state.driving = after
    return opened


def step(state: ContinuousDriving, fix: RuleFix, settings: FatigueSettings) -> Episode | None:
    """Feed one fix (time order). Returns the episode opened by it, if any; closed episodes are
    appended to ``state.closed`` (the caller takes them)."""
    previous = state.last
    if previous is not None and fix.time <= previous.time:
        return None  # duplicate or late: rules see fixes in time order (the caller reorders)
    state.last = fix
    if previous is None:
        return None
    if is_driving(previous, fix):
        state.stop_started = None
        return _drive(state, previous.time, fix.time, settings)
    if state.stop_started is None:
        state.stop_started = previous.time
    if fix.time - state.stop_started >= settings.reset_stop:
        if state.episode is not None:
            state.episode.end = state.stop_started
            state.episode.measured = {
                "fatigue_duration_s": state.over.total_seconds(),
                "continuous_driving_s": state.driving.total_seconds(),
            }
            state.closed.append(state.episode)
            state.episode = None
        state.driving = ZERO
        state.over = ZERO
    return None
