import datetime as dt

from compliance.engine import meter
from compliance.engine.model import RuleFix
from tests.compliance.scenario import at, minutes

SETTINGS = meter.MeterSettings()
LOADED = 0b11 << 8


def trip(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return (start, end)


def loaded_ride(start: dt.datetime, duration_min: float, *, metres_per_fix: float = 100.0,
                every_s: int = 30) -> list[RuleFix]:
    steps = int(duration_min * 60 // every_s)
    lon_step = metres_per_fix / 84_000  # ~84 km per degree of longitude at 41° N
    fixes = [RuleFix(start + dt.timedelta(seconds=i * every_s), 122.0 + i * lon_step, 41.1,
                     30.0, status=LOADED) for i in range(steps)]
    fixes.append(RuleFix(start + dt.timedelta(seconds=steps * every_s),
                         122.0 + steps * lon_step, 41.1, 30.0, status=0))
    return fixes


def interval_of(fixes: list[RuleFix]) -> meter.LoadedInterval:
    state = meter.LoadedTracker()
    for fix in fixes:
        meter.step(state, fix)
    [interval] = state.finished
    return interval


def test_interval_spans_first_loaded_to_first_empty_fix():
    interval = interval_of(loaded_ride(at(20, 8), 10))
    assert interval.start == at(20, 8) and interval.end == at(20, 8, 10)
    assert 1900 < interval.distance_m < 2100


def test_half_covered_interval_is_not_a_violation_but_less_is():
    interval = interval_of(loaded_ride(at(20, 8), 10))
    assert meter.judge(interval, [trip(at(20, 8), at(20, 8, 5))], SETTINGS) is None
    episode = meter.judge(interval, [trip(at(20, 8), at(20, 8, 4, 59))], SETTINGS)
    assert episode is not None and episode.start == at(20, 8)
    assert episode.measured["covered_fraction"] < 0.5


def test_no_meter_trip_at_all_measures_zero():
    episode = meter.judge(interval_of(loaded_ride(at(20, 8), 10)), [], SETTINGS)
    assert episode is not None and episode.measured["covered_fraction"] == 0


def test_short_or_near_intervals_do_not_count():
    three_minutes = interval_of(loaded_ride(at(20, 8), 3))
    assert meter.judge(three_minutes, [], SETTINGS) is None
    barely_moving = interval_of(loaded_ride(at(20, 8), 10, metres_per_fix=20))
    assert barely_moving.distance_m <= 500
    assert meter.judge(barely_moving, [], SETTINGS) is None


def test_overlapping_trips_are_counted_once():
    interval = interval_of(loaded_ride(at(20, 8), 10))
    trips = [trip(at(20, 8), at(20, 8, 4)), trip(at(20, 8, 2), at(20, 8, 4, 30))]
    assert abs(meter.coverage(interval, trips) - 0.45) < 1e-9


def test_judged_only_after_the_grace_period():
    state = meter.LoadedTracker()
    for fix in loaded_ride(at(20, 8), 10):
        meter.step(state, fix)
    assert meter.due(state, at(20, 8, 10) + minutes(4), SETTINGS) == []
    assert len(meter.due(state, at(20, 8, 10) + minutes(5), SETTINGS)) == 1


def test_a_silence_inside_a_loaded_interval_ends_it_at_the_last_loaded_fix():
    """The terminal went dark loaded and came back empty ten minutes later: the passenger may
    have alighted in the dark, so the unseen time is not counted against the meter trip."""
    before = loaded_ride(at(20, 8), 8)[:-1]  # loaded fixes 08:00 .. 08:07:30
    empty_after = RuleFix(at(20, 8, 18), 122.05, 41.1, 30.0, status=0)
    interval = interval_of([*before, empty_after])
    assert interval.start == at(20, 8) and interval.end == at(20, 8, 7, 30)
    assert interval.silence_s == 630
    assert 1400 < interval.distance_m < 1600  # the unseen stretch is not driven distance
    # The meter trip ended in the dark at 08:08: the seen interval is fully covered.
    assert meter.judge(interval, [trip(at(20, 8), at(20, 8, 8))], SETTINGS) is None
    episode = meter.judge(interval, [], SETTINGS)
    assert episode is not None and episode.measured["silence_after_s"] == 630


def test_a_loaded_fix_after_a_silence_starts_a_new_interval():
    before = loaded_ride(at(20, 8), 8)[:-1]
    after = loaded_ride(at(20, 8, 20), 6)
    state = meter.LoadedTracker()
    for fix in [*before, *after]:
        meter.step(state, fix)
    first, second = state.finished
    assert (first.start, first.end) == (at(20, 8), at(20, 8, 7, 30))
    assert (second.start, second.end) == (at(20, 8, 20), at(20, 8, 26))
    assert second.silence_s == 0


def test_a_silence_up_to_the_setting_does_not_split_the_interval():
    before = loaded_ride(at(20, 8), 8)[:-1]  # last loaded fix 08:07:30
    after = loaded_ride(at(20, 8, 12, 30), 5)  # five minutes later, to 08:17:30
    default = meter.LoadedTracker()
    stricter = meter.LoadedTracker()
    for fix in [*before, *after]:
        meter.step(default, fix)
        meter.step(stricter, fix, dt.timedelta(seconds=299))
    [whole] = default.finished
    assert (whole.start, whole.end, whole.silence_s) == (at(20, 8), at(20, 8, 17, 30), 0)
    assert [(i.start, i.end) for i in stricter.finished] == [
        (at(20, 8), at(20, 8, 7, 30)), (at(20, 8, 12, 30), at(20, 8, 17, 30))]
