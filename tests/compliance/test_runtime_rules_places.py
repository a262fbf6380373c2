"""Scenario tests of the rule runtime (RULES.md §2a): hazardous goods (no_waybill, no_escort,
cert_invalid at waybill start, restricted_zone, long_stop_toxic), route_deviation (waybill,
bus line, coach line) and the bus stop rules. See test_runtime_rules.py for the harness."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point

from compliance.models import Violation
from fleet.models import Driver, Vehicle
from tests.compliance.runtime_harness import (
    ALL_DAYS,
    LAT,
    LOADED,
    LON,
    MOVING,
    Row,
    Trip,
    at,
    box,
    by_rule,
    certified,
    east,
    east_west,
    make_bus_line,
    make_coach_line,
    make_vehicle,
    make_waybill,
    make_zone,
    minutes,
    north,
    only,
    rows,
    run,
    seconds,
    set_rule,
)


@pytest.fixture
def hazmat(world) -> Vehicle:
    return make_vehicle(world, "hazmat")


@pytest.fixture
def crew(world) -> tuple[Driver, Driver]:
    """A driver and an escort with valid hazmat certificates."""
    return certified(world, "hazmat_driver"), certified(world, "hazmat_escort")


# -- no_waybill / no_escort / cert_invalid at waybill start ----------------------------------------
def test_driving_loaded_without_a_waybill_is_one_episode_per_movement(hazmat):
    trip = (Trip(at(9), status=MOVING | LOADED).drive(minutes(10)).stop(minutes(5))
            .drive(minutes(10)).stop(minutes(1)))
    found = run(hazmat, trip.items)
    # Each run from its first driving interval to the first fix stopped.
    assert rows(found) == [Row("no_waybill", at(9), at(9, 11)),
                           Row("no_waybill", at(9, 15), at(9, 26))]


def test_driving_loaded_with_an_active_waybill_is_lawful(hazmat, crew):
    make_waybill(hazmat, at(9), at(12), driver=crew[0], escort=crew[1])
    trip = Trip(at(9), status=MOVING | LOADED).drive(minutes(10)).stop(minutes(5))
    assert run(hazmat, trip.items) == []


def test_empty_and_not_leaving_a_depot_needs_no_waybill(hazmat):
    assert run(hazmat, Trip(at(9)).drive(minutes(10)).stop(minutes(5)).items) == []


def test_leaving_a_depot_without_a_waybill(hazmat):
    make_zone("depot", box(LON - 0.001, LAT - 0.001, LON + 0.001, LAT + 0.001))
    trip = Trip(at(9)).stop(minutes(5)).drive(minutes(10), east_m=100).stop(minutes(2))
    assert rows(run(hazmat, trip.items)) == [Row("no_waybill", at(9, 5), at(9, 16))]


def test_a_waybill_becoming_active_ends_no_waybill(hazmat, crew):
    # Planned from 10:00, active from 09:00 (the default early margin of 60 min).
    make_waybill(hazmat, at(10), at(12), driver=crew[0], escort=crew[1])
    trip = Trip(at(8, 50), status=MOVING | LOADED).drive(minutes(20)).stop(minutes(5))
    assert rows(run(hazmat, trip.items)) == [Row("no_waybill", at(8, 50), at(9))]


def test_no_escort_when_the_waybill_becomes_active(world, hazmat, crew):
    waybill = make_waybill(hazmat, at(9), at(12), driver=crew[0], escort=None)
    trip = Trip(at(7, 58)).drive(minutes(5)).stop(minutes(10))  # active from 08:00
    violation = only(run(hazmat, trip.items), "no_escort")
    # Judged once, when the waybill becomes active: an instant, not an episode left open.
    assert violation.started_at == violation.ended_at == at(8)
    assert violation.measured == {"waybill": waybill.number}
    assert violation.episode_key == f"waybill:{waybill.number}"


def test_waybill_start_judges_the_driver_and_escort_certificates(world, hazmat):
    today = at(9).date()
    driver = certified(world, "hazmat_driver", valid_to=today - dt.timedelta(days=1))
    escort = certified(world, "taxi_driver")  # a certificate, but not an escort's
    waybill = make_waybill(hazmat, at(9), at(12), driver=driver, escort=escort)
    found = run(hazmat, Trip(at(8)).drive(minutes(5)).stop(minutes(5)).items)
    assert {(v.rule, v.started_at, v.measured["role"], v.measured["state"]) for v in found} == {
        ("cert_invalid", at(8), "driver", "expired"),
        ("cert_invalid", at(8), "escort", "missing")}
    assert {v.measured["waybill"] for v in found} == {waybill.number}
    assert {v.thresholds["required"] for v in found} == {"hazmat_driver", "hazmat_escort"}


# -- restricted_zone -------------------------------------------------------------------------------
ZONE_WEST, ZONE_EAST = 122.03, 122.04


def _through_the_zone(start: dt.datetime, inside: dt.timedelta) -> Trip:
    """Two fixes west of the zone, ``inside`` of fixes every 20 s inside it, then out east."""
    trip = Trip(start, lon=ZONE_WEST - 0.001).drive(seconds(20), every_s=20, speed=30.0, east_m=5)
    trip.move_to(lon=ZONE_WEST + 0.001).drive(inside, every_s=20, speed=30.0, east_m=5)
    return trip.move_to(lon=ZONE_EAST + 0.001).drive(seconds(40), every_s=20, speed=30.0)


def test_entering_a_zone_a_minute_before_its_window_opens(hazmat):
    make_zone("hazmat_restricted", box(ZONE_WEST, 41.1, ZONE_EAST, 41.2),
              windows=[{"days": ALL_DAYS, "start": "08:00", "end": "10:00"}])
    # Inside from 07:59:10; the window opens at 08:00; the first fix inside once it is in
    # force is 08:00:10. Out of the zone at 08:05:30.
    trip = _through_the_zone(at(7, 58, 30), minutes(6) + seconds(20))
    violation = only(run(hazmat, trip.items), "restricted_zone")
    assert (violation.started_at, violation.ended_at) == (at(8, 0, 10), at(8, 5, 30))
    assert violation.episode_key == f"zone:{violation.measured['zone_id']}"


def test_a_zone_window_closing_ends_the_episode(hazmat):
    make_zone("hazmat_restricted", box(ZONE_WEST, 41.1, ZONE_EAST, 41.2),
              windows=[{"days": ALL_DAYS, "start": "08:00", "end": "10:00"}])
    trip = _through_the_zone(at(9, 58, 30), minutes(4))
    # It ends at the first fix out of force, as it starts at the first fix in force.
    assert rows(run(hazmat, trip.items)) == [Row("restricted_zone", at(9, 59, 10),
                                                  at(10, 0, 10))]


def test_a_zone_out_of_force_that_day_or_of_another_kind_is_nothing(hazmat):
    # Saturday 21 November is not in a Monday–Friday window.
    make_zone("hazmat_restricted", box(ZONE_WEST, 41.1, ZONE_EAST, 41.2),
              windows=[{"days": [1, 2, 3, 4, 5], "start": "00:00", "end": "23:59"}])
    make_zone("school", box(ZONE_WEST, 41.1, ZONE_EAST, 41.2))
    assert run(hazmat, _through_the_zone(at(9), minutes(5)).items) == []


def test_at_its_depot_inside_the_zone_a_truck_is_not_passing_through(hazmat):
    """Loading in its depot inside a zone while the window is in force is not 通行; driving
    out of the depot into the zone is (from the first fix outside the depot). The setting
    exempt_approved_places = 0 counts the depot too."""
    make_zone("hazmat_restricted", box(ZONE_WEST, 41.1, ZONE_EAST, 41.2),
              windows=[{"days": ALL_DAYS, "start": "08:00", "end": "10:00"}])
    make_zone("depot", box(ZONE_WEST + 0.002, 41.1, ZONE_WEST + 0.004, 41.2))
    trip = Trip(at(8, 30), lon=ZONE_WEST + 0.003).stop(minutes(10))
    trip.move_to(lon=ZONE_WEST + 0.006).drive(minutes(2), every_s=20, speed=30.0, east_m=5)
    trip.move_to(lon=ZONE_EAST + 0.001).drive(seconds(40), every_s=20, speed=30.0)
    # (Leaving a depot is a loaded run: no_waybill is found as well, not looked at here.)
    assert rows(by_rule(run(hazmat, trip.items), "restricted_zone")) == [
        Row("restricted_zone", at(8, 40, 20), at(8, 42, 20))]
    Violation.objects.all().delete()
    set_rule("restricted_zone", exempt_approved_places=0)
    assert rows(by_rule(run(hazmat, trip.items), "restricted_zone")) == [
        Row("restricted_zone", at(8, 30), at(8, 42, 20))]


def test_an_overnight_window_is_in_force_after_midnight(hazmat):
    # Friday 22:00 → Saturday 06:00 is in force at 05:00 on Saturday.
    make_zone("hazmat_restricted", box(ZONE_WEST, 41.1, ZONE_EAST, 41.2),
              windows=[{"days": [5], "start": "22:00", "end": "06:00"}])
    found = run(hazmat, _through_the_zone(at(5), minutes(2)).items)
    assert rows(found) == [Row("restricted_zone", at(5, 0, 40), at(5, 2, 40))]


# -- route_deviation -------------------------------------------------------------------------------
def _off_the_route(metres: float, span: dt.timedelta, *, back: dt.timedelta | None = None,
                   start: dt.datetime | None = None) -> Trip:
    """On the route (along LAT) for 2 min, then ``metres`` north of it: the first fix outside at
    +2:30, the last at +2:30 + ``span`` (every 30 s, and one at the end of the span), then back
    on the route 30 s later for ``back``, moving all the while."""
    trip = Trip(start or at(9), first_speed=30.0).drive(minutes(2), every_s=30, speed=30.0)
    trip.move_to(lat=LAT + north(metres)).drive(seconds(30), every_s=30, speed=30.0)
    whole = int(span.total_seconds()) // 30 * 30
    trip.drive(seconds(whole), every_s=30, speed=30.0)
    if span.total_seconds() > whole:
        rest = int(span.total_seconds()) - whole
        trip.drive(seconds(rest), every_s=rest, speed=30.0)
    return trip.move_to(lat=LAT).drive(back or minutes(2), every_s=30, speed=30.0)


def test_deviating_from_the_waybill_route(hazmat, crew):
    make_waybill(hazmat, at(9), at(12), driver=crew[0], escort=crew[1], route=east_west())
    # Outside fixes from 09:02:30 to 09:04:30 (2 min): a deviation from 09:02:30. Back inside
    # from 09:05:00; inside for 1 min at 09:06:00, so it ended at 09:05:00.
    violation = only(run(hazmat, _off_the_route(250, minutes(2)).items), "route_deviation")
    assert (violation.started_at, violation.ended_at) == (at(9, 2, 30), at(9, 5))
    assert violation.measured["max_distance_m"] == pytest.approx(250, abs=3)
    assert violation.thresholds["corridor_m"] == 200


def test_less_than_two_minutes_outside_or_inside_200_m_is_no_deviation(hazmat, crew):
    make_waybill(hazmat, at(9), at(12), driver=crew[0], escort=crew[1], route=east_west())
    # Outside fixes from 09:02:30 to 09:04:29: 1 min 59 s.
    assert run(hazmat, _off_the_route(250, seconds(119)).items) == []
    assert run(hazmat, _off_the_route(150, minutes(5)).items) == []  # inside the corridor


def test_a_short_return_inside_does_not_end_the_deviation(hazmat, crew):
    make_waybill(hazmat, at(9), at(12), driver=crew[0], escort=crew[1], route=east_west())
    trip = _off_the_route(250, minutes(2), back=seconds(30))  # 09:05:00 inside for 30 s only
    trip.move_to(lat=LAT + north(300)).drive(minutes(1), every_s=30, speed=30.0)
    trip.move_to(lat=LAT).drive(minutes(2), every_s=30, speed=30.0)  # back from 09:06:30
    violation = only(run(hazmat, trip.items), "route_deviation")
    assert (violation.started_at, violation.ended_at) == (at(9, 2, 30), at(9, 6, 30))
    assert violation.measured["max_distance_m"] == pytest.approx(300, abs=3)


def test_a_bus_keeps_to_100_m_of_its_line(world):
    bus = make_vehicle(world, "bus")
    make_bus_line(bus)
    violation = only(run(bus, _off_the_route(150, minutes(3)).items), "route_deviation")
    assert (violation.started_at, violation.ended_at) == (at(9, 2, 30), at(9, 6))
    assert violation.thresholds["corridor_m"] == 100
    assert run(make_vehicle(world, "bus"), _off_the_route(150, minutes(3)).items) == []  # no line


def test_a_coach_keeps_to_200_m_of_its_approved_line(world):
    coach = make_vehicle(world, "coach")
    make_coach_line(coach)
    assert run(coach, _off_the_route(150, minutes(3)).items) == []
    violation = only(run(coach, _off_the_route(250, minutes(3), start=at(10)).items),
                     "route_deviation")
    assert (violation.started_at, violation.ended_at) == (at(10, 2, 30), at(10, 6))


# -- long_stop_toxic -------------------------------------------------------------------------------
def _long_stop(stopped: dt.timedelta) -> Trip:
    """From the origin 1 km east in 10 min, stopped there for ``stopped``, then on."""
    trip = Trip(at(9)).drive(minutes(10), east_m=100)
    return trip.stop(stopped, every_s=30).drive(minutes(2), east_m=100)


@pytest.fixture
def toxic_waybill(hazmat, crew):
    return make_waybill(hazmat, at(9), at(15), driver=crew[0], escort=crew[1],
                        hazard_class="6.1", origin=Point(LON, LAT, srid=4326),
                        destination=Point(122.09, LAT, srid=4326))


def test_toxic_goods_stopped_30_minutes_is_lawful(hazmat, toxic_waybill):
    assert run(hazmat, _long_stop(minutes(30)).items) == []


def test_toxic_goods_stopped_more_than_30_minutes(hazmat, toxic_waybill):
    # Stopped from 09:10 (the last driving fix: RULES.md §2a, the interval to a fix below
    # 5 km/h is a stop) to 09:40:30, moving again at 09:41:30.
    violation = only(run(hazmat, _long_stop(minutes(30.5)).items), "long_stop_toxic")
    assert (violation.started_at, violation.ended_at) == (at(9, 10), at(9, 41, 30))
    assert violation.thresholds["limit_s"] == 1800


def test_toxic_goods_may_stop_at_approved_places(world, hazmat, crew):
    stop_at = LON + east(1000)
    make_zone("hazmat_parking", box(stop_at - 0.001, LAT - 0.001, stop_at + 0.001, LAT + 0.001))
    make_waybill(hazmat, at(9), at(15), driver=crew[0], escort=crew[1], hazard_class="6.1")
    assert run(hazmat, _long_stop(minutes(45)).items) == []


def test_toxic_goods_may_stop_at_the_waybill_destination(world, hazmat, crew):
    make_waybill(hazmat, at(9), at(15), driver=crew[0], escort=crew[1], hazard_class="6.1",
                 destination=Point(LON + east(1200), LAT, srid=4326))  # 200 m on
    assert run(hazmat, _long_stop(minutes(45)).items) == []


def test_other_goods_may_stop_anywhere(hazmat, crew):
    make_waybill(hazmat, at(9), at(15), driver=crew[0], escort=crew[1], hazard_class="3")
    assert run(hazmat, _long_stop(minutes(45)).items) == []


# -- bus stops -------------------------------------------------------------------------------------
STOP_LON = LON + east(300)


@pytest.fixture
def line_bus(world) -> Vehicle:
    bus = make_vehicle(world, "bus")
    make_bus_line(bus, [(STOP_LON, LAT)], radius_m=50)
    return bus


def test_passing_a_stop_without_stopping_is_a_skip(line_bus):
    # 20 m every 5 s at a reported 25 km/h: inside the 50 m geofence (250–350 m on) from
    # 09:01:05 to 09:01:25, out again at 09:01:30.
    trip = Trip(at(9), first_speed=25.0).drive(minutes(2), every_s=5, speed=25.0, east_m=20)
    violation = only(run(line_bus, trip.items), "bus_skip_stop")
    assert (violation.started_at, violation.ended_at) == (at(9, 1, 5), at(9, 1, 30))
    assert violation.measured["min_speed_kmh"] == 25.0
    assert violation.episode_key == f"stop:{violation.measured['stop_id']}"


def test_stopping_at_the_stop_with_doors_open_is_lawful(line_bus):
    trip = Trip(at(9), first_speed=25.0).drive(seconds(65), every_s=5, speed=25.0, east_m=20)
    trip.status = MOVING | 1 << 13
    trip.stop(seconds(20), every_s=5)
    trip.status = MOVING
    trip.drive(minutes(1), every_s=5, speed=25.0, east_m=20)
    assert run(line_bus, trip.items) == []


@pytest.mark.parametrize("bit", [13, 14, 15, 16, 17])
def test_doors_open_outside_a_stop(line_bus, bit):
    trip = Trip(at(10), lon=LON + east(1000), first_speed=20.0)
    trip.drive(seconds(20), every_s=10, speed=20.0)
    trip.status = MOVING | 1 << bit
    trip.drive(seconds(20), every_s=10, speed=8.0)
    trip.status = MOVING
    trip.drive(seconds(30), every_s=10, speed=20.0)
    violation = only(run(line_bus, trip.items), "bus_stop_outside")
    assert (violation.started_at, violation.ended_at) == (at(10, 0, 30), at(10, 0, 50))
    assert violation.measured == {"doors_open": "yes"}


@pytest.mark.parametrize("bit", [12, 18])
def test_other_status_bits_are_not_doors(line_bus, bit):
    trip = Trip(at(10), lon=LON + east(1000), first_speed=20.0, status=MOVING | 1 << bit)
    assert run(line_bus, trip.drive(minutes(1), every_s=10, speed=20.0).items) == []


def test_stopped_outside_a_stop_more_than_30_seconds(line_bus):
    def stopped_for(duration: dt.timedelta) -> Trip:
        trip = Trip(at(10), lon=LON + east(1000), first_speed=20.0)
        trip.drive(seconds(20), every_s=10, speed=20.0).stop(duration, every_s=10)
        return trip.drive(seconds(30), every_s=10, speed=20.0)

    assert run(line_bus, stopped_for(seconds(30)).items) == []
    # Stopped from 10:00:20 (the last fix moving) to 10:01:00, moving again at 10:01:10.
    violation = only(run(line_bus, stopped_for(seconds(40)).items), "bus_stop_outside")
    assert (violation.started_at, violation.ended_at) == (at(10, 0, 20), at(10, 1, 10))


def test_a_bus_may_stop_in_a_depot(line_bus):
    depot_lon = LON + east(1000)
    make_zone("depot", box(depot_lon - 0.002, LAT - 0.001, depot_lon + 0.002, LAT + 0.001))
    trip = Trip(at(10), lon=depot_lon, first_speed=20.0)
    trip.status = MOVING | 1 << 13
    assert run(line_bus, trip.stop(minutes(10), every_s=30).items) == []
