"""overspeed at its edges (RULES.md §2a)."""

import datetime as dt

from compliance.engine import overspeed
from compliance.engine.model import RuleFix
from tests.compliance.scenario import at

SETTINGS = overspeed.OverspeedSettings()


def fixes(start: dt.datetime, speeds: list[float], every_s: int = 10, limit: float = 60.0,
          **extra) -> list[RuleFix]:
    return [RuleFix(start + dt.timedelta(seconds=i * every_s), 122.0, 41.1, s, limit_kmh=limit,
                    **extra) for i, s in enumerate(speeds)]


def run(sequence: list[RuleFix], kind: str = "taxi") -> overspeed.Overspeed:
    state = overspeed.Overspeed()
    for fix in sequence:
        overspeed.step(state, fix, kind, SETTINGS)
    overspeed.flush(state, sequence[-1].time + dt.timedelta(minutes=5), SETTINGS)
    return state


def test_29_seconds_above_is_not_a_violation():
    state = run(fixes(at(20, 8), [70, 70, 70, 70.0], every_s=9) + fixes(at(20, 8, 1), [50]))
    assert state.closed == []


def test_30_seconds_above_is_one_violation():
    state = run(fixes(at(20, 8), [70, 75, 90, 70.0]) + fixes(at(20, 8, 1), [50]))
    [episode] = state.closed
    assert episode.measured["duration_s"] == 30 and episode.measured["max_speed_kmh"] == 90


def test_runs_less_than_a_minute_apart_merge():
    first = fixes(at(20, 8), [70, 70.0])                    # 10 s
    second = fixes(at(20, 8, 1, 5), [70, 70, 70.0])         # 65 s after start, 55 s after last
    state = run(first + fixes(at(20, 8, 0, 30), [50.0]) + second)
    [episode] = state.closed
    assert episode.start == at(20, 8) and episode.measured["duration_s"] == 85


def test_runs_a_minute_apart_do_not_merge():
    first = fixes(at(20, 8), [70, 70.0])
    second = fixes(at(20, 8, 1, 10), [70, 70.0])
    assert run(first + second).closed == []


def test_hazmat_cap_applies_below_the_road_limit():
    sequence = fixes(at(20, 8), [70, 70, 70, 70.0], limit=100)
    assert len(run(sequence, "hazmat").closed) == 1
    assert run(sequence, "heavy_truck").closed == []
    on_expressway = fixes(at(20, 8), [85, 85, 85, 85.0], limit=120, on_expressway=True)
    assert len(run(on_expressway, "hazmat").closed) == 1


def test_coach_at_night_runs_at_80_percent():
    night = fixes(at(20, 23), [85, 85, 85, 85.0], limit=100)
    day = fixes(at(20, 12), [85, 85, 85, 85.0], limit=100)
    assert len(run(night, "coach").closed) == 1
    assert run(day, "coach").closed == []
