"""fatigue_continuous at its edges (RULES.md §2a)."""

from compliance.engine import fatigue
from compliance.engine.model import RuleFix
from tests.compliance.scenario import at, drive, hours, minutes, stop

SETTINGS = fatigue.FatigueSettings()


def run(fixes: list[RuleFix]) -> tuple[list, fatigue.ContinuousDriving]:
    state = fatigue.ContinuousDriving()
    opened = [e for e in (fatigue.step(state, f, SETTINGS) for f in fixes) if e]
    return opened, state


def test_exactly_four_hours_by_day_is_not_a_violation():
    opened, state = run(drive(at(20, 8), hours(4)))
    assert opened == [] and state.driving == hours(4)


def test_one_fix_past_four_hours_is():
    opened, _ = run(drive(at(20, 8), hours(4) + minutes(0.5)))
    assert [e.start for e in opened] == [at(20, 12)]


def test_a_19_minute_stop_does_not_reset_the_clock():
    fixes = drive(at(20, 8), hours(2))
    fixes += stop(fixes[-1].time, minutes(19))
    fixes += drive(fixes[-1].time + minutes(0.5), hours(2) + minutes(1))
    opened, _state = run(fixes)
    assert len(opened) == 1  # 2 h + 2 h 1 min of driving, the short stop only paused the clock


def test_a_20_minute_stop_resets_it():
    fixes = drive(at(20, 8), hours(2))
    fixes += stop(fixes[-1].time, minutes(20))
    fixes += drive(fixes[-1].time + minutes(0.5), hours(2) + minutes(1))
    opened, state = run(fixes)
    assert opened == []
    assert state.driving < hours(2.1)


def test_drive_starting_at_21_is_in_violation_from_23():
    opened, _ = run(drive(at(20, 21), hours(2) + minutes(5)))
    assert [e.start for e in opened] == [at(20, 23)]


def test_drive_starting_at_19_is_in_violation_from_22():
    opened, state = run(drive(at(20, 19), hours(3) + minutes(30)))
    assert [e.start for e in opened] == [at(20, 22)]
    # Above the 2 h night limit from 22:00: 30 minutes of fatigue so far.
    assert state.over == minutes(30)


def test_episode_ends_at_the_reset_with_its_fatigue_duration():
    fixes = drive(at(20, 8), hours(5))
    fixes += stop(fixes[-1].time, minutes(25))
    _, state = run(fixes)
    [episode] = state.closed
    assert episode.start == at(20, 12) and episode.end == at(20, 13)
    assert episode.measured["fatigue_duration_s"] == 3600
    assert episode.thresholds["day_limit_h"] == 4


def test_gap_in_gps_counts_as_driving_when_displacement_implies_it():
    # Two fixes 30 min apart, 20 km apart: the silence is driving (40 km/h implied).
    first = RuleFix(at(20, 8), 122.0, 41.1, 60.0)
    second = RuleFix(at(20, 8, 30), 122.24, 41.1, 60.0)
    _, state = run([first, second])
    assert state.driving == minutes(30)
    # Same silence without displacement: stopped, and 30 min ≥ 20 min resets.
    third = RuleFix(at(20, 9, 0), 122.24, 41.1, 60.0)
    _, state = run([first, second, third])
    assert state.driving == minutes(0)


def test_duplicate_and_out_of_order_fixes_change_nothing():
    fixes = drive(at(20, 8), hours(1))
    shuffled = [*fixes, fixes[10], fixes[5]]
    _, state = run(shuffled)
    assert state.driving == hours(1)
