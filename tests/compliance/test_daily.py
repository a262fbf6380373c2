from compliance.engine import daily
from tests.compliance.scenario import at, drive, hours, minutes, stop


def run(fixes, windows=(daily.DAY_WINDOW,)):
    state = daily.DailyDriving()
    opened = [e for f in fixes for e in daily.step(state, f, windows)]
    return opened, state


def shifts(count: int, drive_h: float, rest_h: float, start=None):
    """``count`` drives of exactly ``drive_h`` hours separated by rests of ``rest_h`` hours
    (the first fix of each drive is the last fix of the rest, so no transition is counted)."""
    fixes, moment = [], start or at(20, 0)
    for _ in range(count):
        part = drive(moment, hours(drive_h))
        fixes += part if not fixes else part[1:]
        fixes += stop(part[-1].time, hours(rest_h))
        moment = fixes[-1].time
    return fixes


def test_exactly_eight_hours_in_a_day_is_not_a_violation():
    opened, _ = run(shifts(2, 4, 1))
    assert opened == []


def test_over_eight_hours_starts_at_the_crossing_moment():
    fixes = drive(at(20, 0), hours(4)) + stop(at(20, 4), hours(1))
    fixes += drive(at(20, 5), hours(4) + minutes(10))[1:]
    [episode] = run(fixes)[0]
    # 4 h before the rest and 4 h after it reach 8 h at 09:00: above it from the next second.
    assert episode.start == at(20, 9, 0, 1)


def test_ends_when_the_rolling_sum_falls_back():
    fixes = drive(at(20, 0), hours(9))
    fixes += stop(fixes[-1].time, hours(24))
    _, state = run(fixes)
    [episode] = state.closed
    # Above 8 h from 08:00 until the first hour of driving leaves the window at 01:00 next day.
    assert episode.start == at(20, 8, 0, 1) and episode.end == at(21, 1)
    assert episode.measured["max_driving_h"] == 9


def test_coach_weekly_window():
    # 7 h a day: never more than 8 h in 24 h, but over 44 h in 7 days on the 7th day.
    fixes = shifts(7, 7, 17)
    opened, _ = run(fixes, (daily.DAY_WINDOW, daily.WEEK_WINDOW))
    assert [e.measured["window"] for e in opened] == ["7d"]


def test_kept_driving_is_the_sum_of_the_intervals_kept():
    """``kept`` lets most fixes skip the window sums: it must stay the exact sum of the
    intervals through merges, new intervals and pruning (nine 5 h shifts; the day window
    prunes, the coach windows keep the week)."""
    for windows, expected in (((daily.DAY_WINDOW,), {"24h"}),
                              ((daily.DAY_WINDOW, daily.WEEK_WINDOW), {"24h", "7d"})):
        state = daily.DailyDriving()
        opened = []
        for fix in shifts(9, 5, 7):
            opened += daily.step(state, fix, windows)
            assert state.kept == sum((b - a for a, b in state.intervals), hours(0))
        # 5 h twice in 24 h is over 8 h, and 45 h in the week over 44 h: the skip hid nothing.
        assert {e.measured["window"] for e in opened} == expected
