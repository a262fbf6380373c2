"""Scenario tests of the rule runtime (RULES.md §2a): what the terminal reports itself (DSM/ADAS
alarms, device faults), data quality (gps_drift), the taxi meter (no_meter), certificates at
sign-in (cert_invalid) and ride-hailing orders (unlicensed_ride_hailing). See
test_runtime_rules.py for the harness."""

from __future__ import annotations

import datetime as dt

import pytest

from compliance.models import Violation
from compliance.runtime.inputs import order_key
from fleet.jt808.safety import ALARM_CODE_TABLES
from fleet.models import Certificate, Vehicle
from tests import factories
from tests.compliance.runtime_harness import (
    ACC_ON,
    LAT,
    LOADED,
    LON,
    MOVING,
    Row,
    Trip,
    alarm,
    at,
    bind_on_platform,
    box,
    certified,
    fx,
    make_vehicle,
    make_zone,
    meter_trip,
    minutes,
    only,
    order,
    rows,
    run,
    seconds,
    set_rule,
    sign_in,
)

TODAY = at(9).date()


def _driving(duration: dt.timedelta | None = None) -> Trip:
    """From 09:00 a fix every 30 s (5 min by default), moving at 40 km/h: no rule has anything
    to say about the driving itself."""
    return Trip(at(9), first_speed=40.0).drive(duration or minutes(5), every_s=30, speed=40.0)


# -- terminal alarms (DSM / ADAS) ------------------------------------------------------------------
@pytest.fixture
def taxi(world) -> Vehicle:
    return make_vehicle(world, "taxi")


def test_an_alarm_runs_from_its_start_flag_to_its_end_flag(taxi):
    trip = _driving().add(alarm(at(9, 0, 10), "dsm_phone", 1),
                          alarm(at(9, 0, 30), "dsm_phone", 2))
    violation = only(run(taxi, trip.items), "dsm_phone")
    assert (violation.started_at, violation.ended_at) == (at(9, 0, 10), at(9, 0, 30))
    assert violation.measured == {"reports": 1, "type": "dsm_phone", "duration_s": 20.0}
    assert violation.thresholds["quiet_close_s"] == 60


def test_an_alarm_without_an_end_closes_60_seconds_after_its_last_report(taxi):
    trip = _driving().add(alarm(at(9, 0, 10), "dsm_smoking", 1),
                          alarm(at(9, 0, 50), "dsm_smoking", 0),
                          alarm(at(9, 1, 40), "dsm_smoking", 0))
    violation = only(run(taxi, trip.items), "dsm_smoking")
    assert (violation.started_at, violation.ended_at) == (at(9, 0, 10), at(9, 2, 40))
    assert violation.measured["reports"] == 3


@pytest.mark.parametrize(("restart", "expected"), [
    # 59 s after the end: the same episode, running on to the second end.
    (at(9, 1, 29), [Row("dsm_distraction", at(9, 0, 10), at(9, 1, 50))]),
    # 60 s after: a new one.
    (at(9, 1, 30), [Row("dsm_distraction", at(9, 0, 10), at(9, 0, 30)),
                    Row("dsm_distraction", at(9, 1, 30), at(9, 1, 50))]),
])
def test_a_restart_within_60_seconds_is_the_same_episode(taxi, restart, expected):
    trip = _driving().add(alarm(at(9, 0, 10), "dsm_distraction", 1),
                          alarm(at(9, 0, 30), "dsm_distraction", 2),
                          alarm(restart, "dsm_distraction", 1),
                          alarm(at(9, 1, 50), "dsm_distraction", 2))
    assert rows(run(taxi, trip.items)) == expected


def test_late_reports_of_a_closed_alarm_change_nothing(taxi):
    # Found by test_rules_any_input: a late report (a terminal's backlog) of an episode the
    # quiet close had ended re-opened it from the older time, and it closed before it began.
    trip = _driving().add(alarm(at(9, 0, 10), "dsm_phone", 0))
    late = [alarm(at(9, 0, 5), "dsm_phone", 0),  # inside (merge gap before the start)
            alarm(at(9, 0, 40), "dsm_phone", 0),  # inside
            alarm(at(9, 0, 20), "dsm_phone", 2)]  # an end, but the episode closed already
    items = sorted(trip.items, key=order_key) + late
    assert rows(run(taxi, items, sort=False)) == [Row("dsm_phone", at(9, 0, 10), at(9, 1, 10))]


def test_a_late_report_long_before_a_closed_alarm_is_its_own_episode(taxi):
    trip = _driving().add(alarm(at(9, 2), "dsm_phone", 0))
    items = [*sorted(trip.items, key=order_key), alarm(at(9, 0, 10), "dsm_phone", 0)]
    # Open: nothing after it has come yet to close it.
    assert rows(run(taxi, items, sort=False)) == [
        Row("dsm_phone", at(9, 0, 10), None), Row("dsm_phone", at(9, 2), at(9, 3))]


@pytest.mark.parametrize(("standard", "kind", "code", "rule"), [
    ("su", "dsm", 0x01, "dsm_fatigue"),
    ("su", "dsm", 0x02, "dsm_phone"),
    ("su", "dsm", 0x03, "dsm_smoking"),
    ("su", "dsm", 0x04, "dsm_distraction"),
    ("yue", "dsm", 0x06, "camera_blocked"),
    ("yue", "dsm", 0x0A, "dsm_seatbelt"),
    ("yue", "dsm", 0x0D, "dsm_phone"),
    ("su", "adas", 0x04, "zebra_not_yield"),
    ("su", "adas", 0x01, None),  # forward collision warning: not a violation
    ("su", "dsm", 0x11, None),  # driver change
])
def test_terminal_alarm_codes_map_to_rules(taxi, standard, kind, code, rule):
    name = ALARM_CODE_TABLES[standard].name(kind, code)
    trip = _driving().add(alarm(at(9, 1), name, 1), alarm(at(9, 1, 5), name, 2))
    found = run(taxi, trip.items)
    assert [v.rule for v in found] == ([rule] if rule else [])


@pytest.mark.parametrize(("kind", "name", "expected"), [
    ("bus", "adas_pedestrian_collision", ["zebra_not_yield"]),
    ("hazmat", "adas_pedestrian_collision", []),  # zebra_not_yield: taxi and bus only
    ("hazmat", "dsm_phone", ["dsm_phone"]),
    ("heavy_truck", "dsm_phone", []),  # DSM rules: taxi, bus, coach, hazmat
    ("ride_hailing", "dsm_phone", []),
])
def test_terminal_alarms_only_for_the_kinds_listed(world, kind, name, expected):
    vehicle = make_vehicle(world, kind)
    trip = _driving().add(alarm(at(9, 1), name, 1), alarm(at(9, 1, 5), name, 2))
    assert [v.rule for v in run(vehicle, trip.items)] == expected


# -- device_fault ---------------------------------------------------------------------------------
def _with_alarm_bits(spans: list[tuple[int, dt.datetime, dt.datetime]]) -> Trip:
    """Fixes every 30 s from 09:00 to 09:05 with each (bit, from, to) set in the alarm word of
    the fixes in [from, to)."""
    trip = Trip(at(9), first_speed=40.0)
    while trip.now < at(9, 5):
        moment = trip.now + seconds(30)
        trip.alarm = sum(1 << bit for bit, a, b in spans if a <= moment < b)
        trip.drive(seconds(30), every_s=30, speed=40.0)
    return trip


@pytest.mark.parametrize("bit", [4, 5, 6, 8])
def test_a_fault_bit_runs_from_its_rise_to_its_fall(taxi, bit):
    trip = _with_alarm_bits([(bit, at(9, 0, 30), at(9, 2))])
    violation = only(run(taxi, trip.items), "device_fault")
    assert (violation.started_at, violation.ended_at) == (at(9, 0, 30), at(9, 2))


@pytest.mark.parametrize("bit", [0, 1, 7, 11])
def test_other_alarm_bits_are_not_device_faults(taxi, bit):
    assert run(taxi, _with_alarm_bits([(bit, at(9, 0, 30), at(9, 2))]).items) == []


def test_overlapping_fault_bits_are_one_fault(taxi):
    trip = _with_alarm_bits([(4, at(9, 0, 30), at(9, 1, 30)), (5, at(9, 1), at(9, 2, 30))])
    assert rows(run(taxi, trip.items)) == [Row("device_fault", at(9, 0, 30), at(9, 2, 30))]


def _video_items(flag: str, on_from: dt.datetime, on_to: dt.datetime) -> list:
    """Fixes every 30 s from 09:00 to 09:05; those in [on_from, on_to) carry ``flag``."""
    return [fx(at(9) + seconds(30 * i), speed=40.0,
               **{flag: on_from <= at(9) + seconds(30 * i) < on_to}) for i in range(11)]


def test_a_video_occlusion_item_is_camera_blocked(taxi):
    items = _video_items("occluded", at(9, 0, 30), at(9, 2))
    violation = only(run(taxi, items), "camera_blocked")
    assert (violation.started_at, violation.ended_at) == (at(9, 0, 30), at(9, 2))
    assert violation.measured["type"] == "video_occluded"


def test_video_loss_is_a_device_fault(taxi):
    items = _video_items("video_lost", at(9, 1), at(9, 3))
    assert rows(run(taxi, items)) == [Row("device_fault", at(9, 1), at(9, 3))]


def test_a_fault_bit_held_across_sparse_reports_is_one_fault(taxi):
    """Parked with ACC off, a report every 5 min, antenna cut (bit 5) from 09:00 to 10:00: one
    episode to the first report with the bit clear, not one per report (the 60 s quiet close
    is for alarms that never report an end; a bit reports its end by clearing)."""
    items = [fx(at(9) + minutes(5 * i), speed=0.0, status=0b10, alarm=1 << 5 if i < 12 else 0)
             for i in range(14)]
    assert rows(run(taxi, items)) == [Row("device_fault", at(9), at(10))]


def _unpositioned(until: dt.datetime, *, status: int) -> list:
    """A positioned fix at 08:59, reports without a position every 30 s from 09:00 to
    ``until``, then positioned again 30 s later."""
    items = [fx(at(8, 59), speed=0.0)]
    moment = at(9)
    while moment <= until:
        items.append(fx(moment, lon=None, lat=None, speed=0.0, status=status))
        moment += seconds(30)
    return [*items, fx(moment, speed=0.0)]


def test_acc_on_without_a_position_for_more_than_ten_minutes(taxi):
    assert run(taxi, _unpositioned(at(9, 10), status=ACC_ON)) == []  # exactly 10 min
    violation = only(run(taxi, _unpositioned(at(9, 10, 30), status=ACC_ON)), "device_fault")
    assert (violation.started_at, violation.ended_at) == (at(9), at(9, 11))
    assert violation.measured == {"fault": "no_fix"}


def test_acc_off_without_a_position_is_no_fault(taxi):
    assert run(taxi, _unpositioned(at(9, 30), status=0)) == []


# -- gps_drift -------------------------------------------------------------------------------------
def test_a_jump_is_a_drift_record_and_the_rules_ignore_it(world):
    hazmat = make_vehicle(world, "hazmat")
    far = LON + 0.3  # 25 km east: 10 s away it implies ~9,000 km/h
    make_zone("hazmat_restricted", box(far - 0.01, LAT - 0.01, far + 0.01, LAT + 0.01))
    trip = Trip(at(9), first_speed=40.0).drive(seconds(20), every_s=10, speed=40.0)
    # Five fixes in a restricted zone at 120 km/h over 40 s: a restricted_zone and an
    # overspeed (hazmat cap 60) if the rules saw them.
    drifted = [at(9, 0, 30) + seconds(10 * i) for i in range(5)]
    trip.add(*[fx(moment, lon=far, speed=120.0) for moment in drifted])
    trip.now = at(9, 1, 10)  # valid fixes again from 09:01:20, where the vehicle really is
    trip.drive(minutes(2), every_s=10, speed=40.0, east_m=50)
    found = run(hazmat, trip.items)
    assert [(v.rule, v.started_at, v.ended_at) for v in found] == [
        ("gps_drift", moment, moment) for moment in drifted]
    assert {v.review_status for v in found} == {"recorded"}
    assert {v.measured["reason"] for v in found} == {"implied_speed"}
    assert found[0].measured["implied_kmh"] > 160 and found[0].thresholds["max_kmh"] == 160
    assert found[0].location.x == pytest.approx(far)


def test_drift_is_recorded_even_where_violations_are_auto_confirmed(world, taxi):
    set_rule("gps_drift", auto_confirm=True)
    set_rule("dsm_phone", auto_confirm=True)
    trip = Trip(at(9), first_speed=40.0).drive(seconds(20), every_s=10, speed=40.0)
    trip.add(fx(at(9, 0, 25), lon=LON + 0.5), alarm(at(9, 0, 40), "dsm_phone", 1),
             alarm(at(9, 0, 45), "dsm_phone", 2))
    trip.drive(seconds(40), every_s=10, speed=40.0)
    found = run(taxi, trip.items)
    assert {(v.rule, v.review_status, v.auto_confirmed) for v in found} == {
        ("gps_drift", "recorded", False), ("dsm_phone", "confirmed", True)}


# -- no_meter -------------------------------------------------------------------------------------
def _loaded(minutes_loaded: int = 10, east_m: float = 100.0) -> Trip:
    """Empty at 08:58–08:59, loaded from 09:00 (status bits 8–9) until the first empty fix
    ``minutes_loaded`` later, then empty for 10 min (the 5 min grace passes)."""
    trip = Trip(at(8, 58), first_speed=30.0).drive(minutes(1), speed=30.0, east_m=east_m)
    trip.status = MOVING | LOADED
    trip.drive(minutes(minutes_loaded), speed=30.0, east_m=east_m)
    trip.status = MOVING
    return trip.drive(minutes(10), speed=30.0, east_m=east_m)


@pytest.mark.parametrize(("trips", "covered"), [
    ([(at(9), at(9, 5))], None),                                # exactly half: lawful
    ([(at(9), at(9, 2, 30)), (at(9, 6), at(9, 8, 30))], None),  # half in two trips
    ([(at(9), at(9, 4, 59))], 0.4983),                          # less than half
    ([(at(8, 40), at(8, 55))], 0.0),                            # a trip outside the interval
    ([], 0.0),                                                  # no trip at all
])
def test_no_meter_when_trips_cover_less_than_half(taxi, trips, covered):
    trip = _loaded().add(*[meter_trip(a, b, str(n)) for n, (a, b) in enumerate(trips)])
    found = run(taxi, trip.items)
    if covered is None:
        assert found == []
        return
    violation = only(found, "no_meter")
    assert (violation.started_at, violation.ended_at) == (at(9), at(9, 10))
    assert violation.measured["covered_fraction"] == covered
    assert violation.measured["duration_s"] == 600.0
    assert violation.measured["distance_m"] == pytest.approx(1000, abs=2)


def test_no_meter_needs_more_than_3_minutes_and_500_m(taxi):
    assert run(taxi, _loaded(minutes_loaded=3, east_m=400).items) == []
    assert run(taxi, _loaded(minutes_loaded=10, east_m=49.9).items) == []


def test_no_meter_is_a_taxi_rule_only(world):
    # A bus reporting the same load bits, with no meter trip, has no meter rule at all.
    bus = make_vehicle(world, "bus")
    assert run(bus, _loaded().items) == []


# -- cert_invalid at sign-in ----------------------------------------------------------------------
@pytest.fixture
def coach(world) -> Vehicle:
    return make_vehicle(world, "coach")


def test_certificates_at_sign_in(world, coach):
    driver = factories.make_driver(world.enterprise_a)
    days = dt.timedelta(days=1)

    def cert(valid_to: dt.date, kind: str = "passenger_driver") -> str:
        return factories.make_certificate(driver, kind=kind, valid_to=valid_to).number

    valid, yesterday = cert(TODAY), cert(TODAY - days)
    day_180, day_181 = cert(TODAY - 180 * days), cert(TODAY - 181 * days)
    taxi_cert = cert(TODAY + 30 * days, kind="taxi_driver")
    cards = [(valid, None), (yesterday, None), (day_180, None), (day_181, None), ("", None),
             (taxi_cert, None), ("CARD-ONLY-1", TODAY - days), ("CARD-ONLY-2", None)]
    trip = _driving(duration=minutes(10))
    trip.add(*[sign_in(at(9, n), driver, number, until) for n, (number, until) in
               enumerate(cards)])
    found = run(coach, trip.items)
    assert [(v.started_at, v.measured["state"], v.measured["source"], v.measured["certificate"])
            for v in found] == [
        (at(9, 1), "expired", "registry", yesterday),  # expired yesterday
        (at(9, 2), "expired", "registry", day_180),    # 180 days past: still only expired
        (at(9, 3), "void", "registry", day_181),       # 181 days past: void
        (at(9, 4), "missing", "card", ""),             # a card without a certificate number
        (at(9, 5), "missing", "registry", taxi_cert),  # not the kind a coach needs
        (at(9, 6), "expired", "card", "CARD-ONLY-1"),  # unknown to the registry: the card's date
        (at(9, 7), "missing", "card", "CARD-ONLY-2"),
    ]
    assert {(v.rule, v.started_at == v.ended_at, v.driver_id) for v in found} == {
        ("cert_invalid", True, driver.pk)}
    assert {v.thresholds["required"] for v in found} == {"passenger_driver"}


@pytest.mark.parametrize(("passenger_valid_to", "state"), [
    (TODAY, None), (TODAY - dt.timedelta(days=1), "expired")])
def test_one_number_for_several_kinds_is_judged_by_the_kind_needed(world, coach,
                                                                   passenger_valid_to, state):
    """The registry allows one certificate number for several kinds (unique per kind and
    number: often the ID number). A coach needs the passenger certificate, whatever other
    kind carries the same number (here a taxi one, registered later and valid)."""
    driver = factories.make_driver(world.enterprise_a)
    number = driver.id_number
    for kind, valid_to in (("passenger_driver", passenger_valid_to),
                           ("taxi_driver", TODAY + dt.timedelta(days=300))):
        Certificate.objects.create(driver=driver, kind=kind, number=number, valid_to=valid_to)
    found = run(coach, Trip(at(9)).add(sign_in(at(9, 1), driver, number)).items)
    assert [v.measured["state"] for v in found] == ([state] if state else [])


def test_a_certificate_is_judged_on_the_local_date_of_the_sign_in(world, coach):
    driver = factories.make_driver(world.enterprise_a)
    number = factories.make_certificate(driver, kind="passenger_driver",
                                        valid_to=TODAY - dt.timedelta(days=1)).number
    # 07:30 in the city is 23:30 UTC the day before, when the certificate was still valid;
    # a replay reads times back in UTC. The bureau's date is the local one.
    signed = at(7, 30).astimezone(dt.UTC)
    trip = Trip(at(7, 29)).add(sign_in(signed, driver, number))
    violation = only(run(coach, trip.items), "cert_invalid")
    assert violation.measured["state"] == "expired"


def test_the_void_threshold_is_a_setting(world, coach):
    set_rule("cert_invalid", void_after_days=30)
    driver = factories.make_driver(world.enterprise_a)
    number = factories.make_certificate(driver, kind="passenger_driver",
                                        valid_to=TODAY - dt.timedelta(days=31)).number
    violation = only(run(coach, Trip(at(9)).add(sign_in(at(9, 1), driver, number)).items),
                     "cert_invalid")
    assert violation.measured["state"] == "void" and violation.thresholds["void_after_days"] == 30


@pytest.mark.parametrize("kind", ["bus", "heavy_truck"])
def test_no_certificate_rule_for_kinds_rules_md_leaves_out(world, kind):
    vehicle = make_vehicle(world, kind)
    driver = factories.make_driver(world.enterprise_a)
    assert run(vehicle, Trip(at(9)).add(sign_in(at(9, 1), driver, "")).items) == []


# -- unlicensed_ride_hailing ----------------------------------------------------------------------
@pytest.fixture
def ride(world):
    """A permitted car and its certified driver, bound on the platform."""
    car = make_vehicle(world, "ride_hailing")
    car.ride_hailing_permit_valid_to = dt.date(2027, 12, 31)
    car.save(update_fields=["ride_hailing_permit_valid_to"])
    driver = certified(world, "ride_hailing_driver")
    bind_on_platform(car, driver)
    return car, driver


def test_a_licensed_bound_driver_in_a_permitted_car_is_lawful(ride):
    car, driver = ride
    assert run(car, [order(at(9), "O1", driver)]) == []


def test_an_order_is_judged_once_across_its_status_changes(ride):
    car, driver = ride
    car.ride_hailing_permit_valid_to = None
    car.save(update_fields=["ride_hailing_permit_valid_to"])
    items = [order(at(9), "O1", driver), order(at(9, 5), "O1", driver),
             order(at(9, 30), "O1", driver), order(at(10), "O2", driver)]
    found = run(car, items)
    assert [(v.started_at, v.ended_at, v.episode_key, v.measured["problems"]) for v in found] == [
        (at(9), at(9), "order:O1", "vehicle_permit"),
        (at(10), at(10), "order:O2", "vehicle_permit")]


def test_a_vehicle_permit_that_expired(ride):
    car, driver = ride
    car.ride_hailing_permit_valid_to = TODAY - dt.timedelta(days=1)
    car.save(update_fields=["ride_hailing_permit_valid_to"])
    violation = only(run(car, [order(at(9), "O1", driver)]), "unlicensed_ride_hailing")
    assert violation.measured["problems"] == "vehicle_permit"


def test_the_permit_date_is_the_local_date_of_the_order(ride):
    car, driver = ride
    car.ride_hailing_permit_valid_to = TODAY
    car.save(update_fields=["ride_hailing_permit_valid_to"])
    # 00:30 on the 22nd in the city is 16:30 UTC on the 21st, the permit's last day.
    late = at(0, 30, day=22).astimezone(dt.UTC)
    violation = only(run(car, [order(late, "O1", driver)], facts_at=at(12, day=22)),
                     "unlicensed_ride_hailing")
    assert violation.measured["problems"] == "vehicle_permit"


def test_a_driver_without_a_ride_hailing_driver_certificate(world, ride):
    car, _ = ride
    taxi_driver = certified(world, "taxi_driver")
    bind_on_platform(car, taxi_driver)  # bound, but without 网约车驾驶员证
    violation = only(run(car, [order(at(9), "O1", taxi_driver)]), "unlicensed_ride_hailing")
    assert violation.measured["problems"] == "driver_permit"
    unknown = run(car, [order(at(10), "O2", None)])  # an ID number the registry does not know
    assert [v.measured["problems"] for v in unknown] == ["driver_permit", "driver_permit"]


def test_a_driver_other_than_the_platform_binding(world, ride):
    car, _ = ride
    stranger = certified(world, "ride_hailing_driver")
    violation = only(run(car, [order(at(9), "O1", stranger)]), "unlicensed_ride_hailing")
    assert violation.measured["problems"] == "binding_mismatch"
    assert Violation.objects.get().review_status == "pending"
