import datetime as dt

from compliance.engine import routes as r
from compliance.engine.model import RuleFix
from tests.compliance.scenario import at

SETTINGS = r.RouteSettings()


def fixes_every(start: dt.datetime, count: int, every_s: int = 10, speed: float = 40.0):
    return [RuleFix(start + dt.timedelta(seconds=i * every_s), 122.0, 41.1, speed)
            for i in range(count)]


def test_deviation_needs_two_minutes_outside_and_one_back_inside():
    state = r.RouteWatch()
    outside = fixes_every(at(21, 9), 13)           # 0 … 120 s outside
    opened = [e for f in outside if (e := r.route_step(state, f, 350, 200, SETTINGS))]
    assert len(opened) == 1 and opened[0].start == at(21, 9)
    back = fixes_every(at(21, 9, 2, 10), 7)        # 60 s back inside
    for f in back:
        r.route_step(state, f, 50, 200, SETTINGS)
    [episode] = state.closed
    assert episode.end == at(21, 9, 2, 10) and episode.measured["max_distance_m"] == 350


def test_under_two_minutes_outside_is_not_a_deviation():
    state = r.RouteWatch()
    for f in fixes_every(at(21, 9), 12):           # 110 s
        assert r.route_step(state, f, 350, 200, SETTINGS) is None
    r.route_step(state, RuleFix(at(21, 9, 2), 122.0, 41.1, 40.0), 10, 200, SETTINGS)
    assert state.episode is None


def test_long_stop_of_toxic_goods_outside_depots():
    state = r.StopWatch()
    stopped = fixes_every(at(21, 10), 32, every_s=60, speed=0)   # 31 minutes
    opened = [e for f in stopped if (e := r.long_stop_toxic_step(
        state, f, toxic_load=True, at_allowed_place=False, settings=SETTINGS))]
    assert len(opened) == 1 and opened[0].start == at(21, 10)
    depot = r.StopWatch()
    assert not [f for f in stopped if r.long_stop_toxic_step(
        depot, f, toxic_load=True, at_allowed_place=True, settings=SETTINGS)]


def test_bus_skipping_a_stop_and_stopping_at_it():
    state = r.SkipWatch()
    r.bus_skip_step(state, RuleFix(at(21, 10, 59, 50), 122.0, 41.1, 30), None)  # approaching
    for f in fixes_every(at(21, 11), 3, speed=30):
        r.bus_skip_step(state, f, 5)
    episode = r.bus_skip_step(state, RuleFix(at(21, 11, 0, 30), 122.0, 41.1, 30), None)
    assert episode is not None and episode.measured["stop_id"] == 5
    served = r.SkipWatch()
    r.bus_skip_step(served, RuleFix(at(21, 10, 59, 50), 122.0, 41.1, 30), None)
    for second, speed in ((0, 20), (10, 0), (20, 0), (30, 15)):
        r.bus_skip_step(served, RuleFix(at(21, 11, 0, second), 122.0, 41.1, speed), 6)
    assert r.bus_skip_step(served, RuleFix(at(21, 11, 0, 40), 122.0, 41.1, 30), None) is None


def test_a_stop_visit_not_seen_whole_is_not_judged():
    """Data that begins inside a stop (a terminal powered on mid-route), a silence inside it
    or on leaving it: the bus may have stopped unseen, so no bus_skip_stop."""
    def visit(times_and_stops, max_gap=dt.timedelta(seconds=60)):  # type: ignore[no-untyped-def]
        state = r.SkipWatch()
        return [e for t, stop in times_and_stops if (e := r.bus_skip_step(
            state, RuleFix(at(21, 11) + dt.timedelta(seconds=t), 122.0, 41.1, 30), stop,
            max_gap))]

    assert visit([(0, 5), (10, 5), (20, None)]) == []  # first fix already inside
    assert visit([(0, None), (100, 5), (110, None)]) == []  # long gap before the entry
    assert visit([(0, None), (10, 5), (200, 5), (210, None)]) == []  # silence inside
    assert visit([(0, None), (10, 5), (300, None)]) == []  # silence on leaving
    assert len(visit([(0, None), (10, 5), (20, 5), (30, None)])) == 1  # seen whole
    assert len(visit([(0, None), (100, 5), (110, None)], dt.timedelta(seconds=120))) == 1
    # Straight from one stop's geofence into the next one's: both entries were seen.
    assert [e.measured["stop_id"] for e in visit([(0, None), (10, 5), (20, 6), (30, None)])
            ] == [5, 6]


def test_bus_stopping_outside_stops():
    state = r.StopWatch()
    opened = [e for f in fixes_every(at(21, 12), 5, speed=0) if (e := r.bus_stop_outside_step(
        state, f, doors_open=False, at_stop_or_depot=False, settings=SETTINGS))]
    assert len(opened) == 1  # 40 s stopped > 30 s
    at_stop = r.StopWatch()
    assert not [f for f in fixes_every(at(21, 12), 5, speed=0) if r.bus_stop_outside_step(
        at_stop, f, doors_open=True, at_stop_or_depot=True, settings=SETTINGS)]
    doors = r.StopWatch()
    first = RuleFix(at(21, 12), 122.0, 41.1, 0)
    assert r.bus_stop_outside_step(doors, first, doors_open=True, at_stop_or_depot=False,
                                   settings=SETTINGS) is not None
