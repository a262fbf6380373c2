"""overspeed (RULES.md §2 and §2a).

An episode is a run of fixes above the limit in force at each fix; an above-limit fix less than
60 s after the previous above-limit fix continues the run. The run is a violation when its
duration (last above-limit fix − first) is at least 30 s. Limit in force = the lowest of the
road/zone limit and the vehicle kind's cap: hazmat 80 km/h on expressways and 60 elsewhere;
coaches at night 80 % of the daytime limit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.engine.model import Episode, RuleFix, is_night

RULE = "overspeed"


@dataclass(frozen=True)
class OverspeedSettings:
    min_duration: dt.timedelta = dt.timedelta(seconds=30)
    merge_gap: dt.timedelta = dt.timedelta(seconds=60)
    hazmat_expressway_cap: float = 80.0
    hazmat_cap: float = 60.0
    coach_night_factor: float = 0.8
    night_start: dt.time = dt.time(22, 0)
    night_end: dt.time = dt.time(6, 0)

    def as_thresholds(self) -> dict[str, float | str]:
        return {"min_duration_s": self.min_duration.total_seconds(),
                "merge_gap_s": self.merge_gap.total_seconds(),
                "hazmat_expressway_cap": self.hazmat_expressway_cap,
                "hazmat_cap": self.hazmat_cap, "coach_night_factor": self.coach_night_factor}


def limit_in_force(fix: RuleFix, kind: str, settings: OverspeedSettings) -> float | None:
    limit = fix.limit_kmh
    if kind == "hazmat":
        cap = settings.hazmat_expressway_cap if fix.on_expressway else settings.hazmat_cap
        return cap if limit is None else min(limit, cap)
    if (kind == "coach" and limit is not None
            and is_night(fix.time, settings.night_start, settings.night_end)):
        return min(limit, limit * settings.coach_night_factor)
    return limit


@dataclass
class OverspeedRun:
    first: RuleFix
    last: RuleFix
    peak_kmh: float
    peak_limit: float
    fixes: int = 1


@dataclass
class Overspeed:
    run: OverspeedRun | None = None
    episode: Episode | None = None  # open once the run reached the minimum duration
    closed: list[Episode] = field(default_factory=list)


def _finish(state: Overspeed) -> None:
    if state.episode is not None and state.run is not None:
        state.episode.end = state.run.last.time
        state.episode.measured.update(_measures(state.run))
        state.closed.append(state.episode)
    state.run = None
    state.episode = None


def _measures(run: OverspeedRun) -> dict[str, float | str]:
    return {"duration_s": (run.last.time - run.first.time).total_seconds(),
            "max_speed_kmh": run.peak_kmh, "limit_kmh": run.peak_limit, "fixes": run.fixes}


def step(state: Overspeed, fix: RuleFix, kind: str,
         settings: OverspeedSettings) -> Episode | None:
    """Feed one valid fix (time order); returns the episode that became a violation, if any."""
    run = state.run
    if run is not None and fix.time - run.last.time >= settings.merge_gap:
        _finish(state)
        run = None
    limit = limit_in_force(fix, kind, settings)
    if limit is None or fix.speed_kmh <= limit:
        return None
    if run is None:
        state.run = run = OverspeedRun(fix, fix, fix.speed_kmh, limit)
    else:
        run.last = fix
        run.fixes += 1
        if fix.speed_kmh - limit > run.peak_kmh - run.peak_limit:
            run.peak_kmh, run.peak_limit = fix.speed_kmh, limit
    if state.episode is None and run.last.time - run.first.time >= settings.min_duration:
        state.episode = Episode(RULE, run.first.time, measured=_measures(run),
                                thresholds=settings.as_thresholds())
        return state.episode
    return None


def flush(state: Overspeed, now: dt.datetime, settings: OverspeedSettings) -> None:
    """Close a run whose merge window has passed without new data (data time ``now``)."""
    if state.run is not None and now - state.run.last.time >= settings.merge_gap:
        _finish(state)
