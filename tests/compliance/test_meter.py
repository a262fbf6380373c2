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
