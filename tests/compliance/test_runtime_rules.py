"""Scenario tests of the rule runtime at RULES.md §2a's edges: driving time (fatigue, daily),
GPS gaps, speed, night ban, offline, which kinds a rule applies to, settings.

Registry rows → inputs fed through the runtime (VehicleRules with the registry facts and the
settings in force, or the real pipeline) → the Violation rows that come out, and nothing else.
Other families: test_runtime_rules_places.py (hazmat, routes, stops, zones),
test_runtime_rules_terminal.py (terminal alarms, device faults, drift, meter, certificates,
ride-hailing orders) and test_runtime_rules_pipeline.py (the same through the real pipeline).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from compliance.catalogue import ALL_KINDS, RULES
from compliance.models import Violation
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
    box,
    certified,
    fx,
    hours,
    make_coach_line,
    make_road,
    make_vehicle,
    make_waybill,
    make_zone,
    minutes,
    only,
    rows,
    run,
    seconds,
    set_rule,
)

RULES_MD = Path("/work/shared/RULES.md")


# -- fatigue_continuous ---------------------------------------------------------------------------
@pytest.fixture
def truck(world):
    return make_vehicle(world, "heavy_truck")


def test_exactly_four_hours_of_driving_is_not_fatigue(truck):
    assert run(truck, Trip(at(8)).drive(hours(4)).stop(minutes(30)).items) == []


def test_four_hours_and_one_more_fix_is_fatigue_from_the_four_hour_mark(truck):
    trip = Trip(at(8)).drive(hours(4)).drive(minutes(1)).stop(minutes(20))
    violation = only(run(truck, trip.items), "fatigue_continuous")
    # In violation from the moment the 4 h were reached; it ends where the resetting stop began.
    assert (violation.started_at, violation.ended_at) == (at(12), at(12, 1))
    assert violation.measured == {"fatigue_duration_s": 60.0, "continuous_driving_s": 14460.0}
    assert violation.thresholds["day_limit_h"] == 4 and violation.thresholds["reset_stop_min"] == 20


def test_a_stop_of_19_59_does_not_reset_the_clock(truck):
    trip = (Trip(at(8)).drive(hours(3)).stop(minutes(19)).stop(seconds(59), every_s=59)
            .drive(hours(1)).drive(minutes(1)).stop(minutes(20)))
    violation = only(run(truck, trip.items), "fatigue_continuous")
    # 3 h + 1 h reached at 12:19:59 (the short stop only paused the clock).
    assert violation.started_at == at(12, 19, 59) and violation.ended_at == at(12, 20, 59)
    assert violation.measured["fatigue_duration_s"] == 60.0


def test_a_stop_of_exactly_20_minutes_resets_the_clock(truck):
    trip = (Trip(at(8)).drive(hours(3)).stop(minutes(20)).drive(hours(1)).drive(minutes(1))
            .stop(minutes(20)))
    assert run(truck, trip.items) == []


@pytest.mark.parametrize(("start", "violation_from"), [(19, 22), (21, 23)])
def test_a_drive_into_the_night_meets_the_two_hour_limit(truck, start, violation_from):
    """From 19:00 the drive already has 3 h at 22:00: in violation at once. From 21:00 it
    reaches the night limit of 2 h at 23:00."""
    trip = Trip(at(start)).drive(hours(23.5 - start)).stop(minutes(20))
    violation = only(run(truck, trip.items), "fatigue_continuous")
    assert violation.started_at == at(violation_from) and violation.ended_at == at(23, 30)
    # Fatigue duration is the driving while above the limit in force.
    assert violation.measured["fatigue_duration_s"] == (at(23, 30) - at(violation_from)).seconds
    assert violation.thresholds["night_limit_h"] == 2


def test_over_the_night_limit_until_06_00_then_under_the_day_limit(truck):
    """03:00 → 06:30: over the 2 h night limit from 05:00. At 06:00 the day limit (4 h) is in
    force and 3 h are not above it, but the episode only ends at the next reset; its fatigue
    duration counts only the driving while above the limit in force (05:00–06:00)."""
    trip = Trip(at(3)).drive(hours(3.5)).stop(minutes(20))
    violation = only(run(truck, trip.items), "fatigue_continuous")
    assert (violation.started_at, violation.ended_at) == (at(5), at(6, 30))
    assert violation.measured["fatigue_duration_s"] == 3600.0


# -- GPS gaps: across a silence > 5 min, driving is judged by displacement -------------------------
def test_a_silence_covering_distance_is_driving_whatever_the_next_fix_reports(truck):
    # 3 h 50 min, then 15 min without a fix and 5 km further on (20 km/h): driving, although
    # the fix after the gap reports 0 km/h. That makes 4 h 05 min.
    trip = (Trip(at(8)).drive(hours(3) + minutes(50))
            .silence(minutes(15), east_m=5000, speed=0.0).stop(minutes(20)))
    found = run(truck, trip.items)
    assert rows(found) == [Row("offline_in_service", at(11, 50), at(12, 5)),
                           Row("fatigue_continuous", at(12), at(12, 5))]
    assert found[1].measured["fatigue_duration_s"] == 300.0
    assert found[0].measured["silence_s"] == 900.0


def test_a_silence_without_displacement_is_a_stop_whatever_the_next_fix_reports(truck):
    # 25 min and 1 km (2.4 km/h): a stop of ≥ 20 min, which resets the clock even though the
    # fix after it reports 60 km/h. Without the reset the further hour would be fatigue.
    trip = (Trip(at(8)).drive(hours(3) + minutes(50))
            .silence(minutes(25), east_m=1000, speed=60.0).drive(hours(1)).stop(minutes(20)))
    # The silence itself is offline_in_service (the last fix before it was driving).
    assert rows(run(truck, trip.items)) == [Row("offline_in_service", at(11, 50), at(12, 15))]


def test_a_silence_of_exactly_5_minutes_is_judged_by_speed(truck):
    # 3 h 55 min, a 5 min gap without displacement, then a fix at 60 km/h: not a silence
    # longer than 5 min, so the reported speed makes it driving (4 h at 12:00).
    trip = (Trip(at(8)).drive(hours(3) + minutes(55)).silence(minutes(5), speed=60.0)
            .drive(minutes(1)).stop(minutes(20)))
    assert rows(run(truck, trip.items)) == [Row("fatigue_continuous", at(12), at(12, 1))]


# -- fatigue_daily ---------------------------------------------------------------------------------
def _eight_hours_in_four_drives() -> Trip:
    trip = Trip(at(6))
    for _ in range(3):
        trip.drive(hours(2)).stop(minutes(30))
    return trip.drive(hours(2))  # 15:30, 8 h driven, no continuous stretch over 2 h


def test_eight_hours_in_24_h_is_not_daily_fatigue(truck):
    assert run(truck, _eight_hours_in_four_drives().stop(minutes(30)).items) == []


def test_more_than_eight_hours_in_24_h_is_daily_fatigue_until_it_falls_back(truck):
    trip = _eight_hours_in_four_drives().stop(minutes(30)).drive(minutes(1)).stop(minutes(30))
    # Heard again the next evening, parked where it stopped.
    trip.silence(hours(24.5))
    found = run(truck, trip.items)
    daily = found[0]
    assert (daily.rule, daily.measured["window"]) == ("fatigue_daily", "24h")
    # Over 8 h from just after 16:00 (whole seconds); back to 8 h once 06:00–06:01 of the first
    # drive leaves the rolling 24 h, at 06:01 the next day.
    assert daily.started_at == at(16, 0, 1) and daily.ended_at == at(6, 1, day=22)
    assert daily.measured["max_driving_h"] == pytest.approx(8.017, abs=0.001)
    # The 24.5 h without a report is offline_in_service for any vehicle (server-clock rule,
    # recorded from data time when the vehicle is heard again).
    assert [(v.rule, v.started_at, v.ended_at) for v in found[1:]] == [
        ("offline_in_service", at(16, 31), at(17, 1, day=22))]


def test_a_coach_over_44_hours_in_7_days(world):
    """7.5 h a day (never 8 h in 24 h, never 4 h at a stretch) from Saturday: the sixth day
    passes 44 h at 14:00; the sum falls back to 44 h when the first day's first hour has left
    the rolling 7 days, at 07:00 the Saturday after."""
    coach = make_vehicle(world, "coach")
    trip = Trip(at(6))
    for day in range(21, 27):
        if day > 21:
            trip.silence(at(6, day=day) - trip.now)
        for stretch in (2, 2, 2):
            trip.drive(hours(stretch)).stop(minutes(30))
        trip.drive(hours(1.5)).stop(minutes(5))
    for _ in range(2):  # parked, reporting twice a day
        trip.silence(hours(12))
    trip.silence(hours(16))
    found = run(coach, trip.items, facts_at=at(12, day=28))
    assert rows(found) == [Row("fatigue_daily", at(14, 0, 1, day=26), at(7, day=28))]
    assert found[0].measured["window"] == "7d" and found[0].thresholds["limit_h"] == 44


# -- overspeed -------------------------------------------------------------------------------------
def _speeding(start: dt.datetime, speed: float, over_s: int = 30) -> Trip:
    """``over_s`` seconds at ``speed`` (a fix every 10 s, on the road at LAT), then lawful
    driving at 30 km/h long enough for the episode to close."""
    trip = Trip(start, first_speed=speed).drive(seconds(over_s), every_s=10, speed=speed,
                                                east_m=150)
    return trip.drive(seconds(80), every_s=10, speed=30.0, east_m=80)


def test_overspeed_on_a_road_for_30_seconds(world):
    taxi = make_vehicle(world, "taxi")
    make_road(60)
    violation = only(run(taxi, _speeding(at(10), 70.0).items), "overspeed")
    assert (violation.started_at, violation.ended_at) == (at(10), at(10, 0, 30))
    assert violation.measured["duration_s"] == 30.0 and violation.measured["limit_kmh"] == 60
    assert violation.measured["max_speed_kmh"] == 70.0 and violation.measured["fixes"] == 4


def test_overspeed_for_20_seconds_is_nothing_and_a_taxi_off_road_has_no_limit(world):
    taxi = make_vehicle(world, "taxi")
    assert run(taxi, _speeding(at(10), 120.0).items) == []  # no road, no zone: no limit
    make_road(60)
    assert run(taxi, _speeding(at(11), 70.0, over_s=20).items) == []


def test_above_limit_fixes_less_than_a_minute_apart_are_one_episode(world):
    taxi = make_vehicle(world, "taxi")
    make_road(60)
    # 20 s over, 55 s lawful, 10 s over again: one episode of 85 s; the 30 s test applies to
    # the merged episode.
    trip = (Trip(at(10), first_speed=70.0).drive(seconds(20), every_s=10, speed=70.0, east_m=150)
            .drive(seconds(50), every_s=10, speed=40.0, east_m=100)
            .drive(seconds(5), every_s=5, speed=70.0, east_m=80)
            .drive(seconds(10), every_s=10, speed=70.0, east_m=150)
            .drive(seconds(90), every_s=10, speed=40.0, east_m=100))
    violation = only(run(taxi, trip.items), "overspeed")
    assert (violation.started_at, violation.ended_at) == (at(10), at(10, 1, 25))
    assert violation.measured["duration_s"] == 85.0 and violation.measured["fixes"] == 5


@pytest.mark.parametrize(("road", "speed", "limit"), [
    (("expressway", 100), 90.0, 80),   # hazmat cap on expressways
    (("expressway", 100), 80.0, None),  # at the cap is not above it
    (("arterial", 70), 65.0, 60),      # hazmat cap elsewhere
    (("local", 50), 55.0, 50),         # a road limit below the cap
    (None, 65.0, 60),                  # off any road: the cap still applies
])
def test_hazmat_caps(world, road, speed, limit):
    hazmat = make_vehicle(world, "hazmat")
    if road is not None:
        make_road(road[1], road_class=road[0])
    found = run(hazmat, _speeding(at(10), speed).items)
    if limit is None:
        assert found == []
    else:
        assert only(found, "overspeed").measured["limit_kmh"] == limit


def test_coach_at_night_is_held_to_80_percent_of_the_road_limit(world):
    coach = make_vehicle(world, "coach")
    make_road(100)
    assert run(coach, _speeding(at(10), 85.0).items) == []  # by day 85 is lawful on a 100 road
    # 21:59:30–22:00:30 at 85: above the limit in force only from 22:00 (80 km/h), for 30 s.
    violation = only(run(coach, _speeding(at(21, 59, 30), 85.0, over_s=60).items), "overspeed")
    assert violation.started_at == at(22) and violation.ended_at == at(22, 0, 30)
    assert violation.measured["limit_kmh"] == 80.0
    # 05:59:30–06:00:30: the night ends at 06:00, so only 20 s were above the limit.
    Violation.objects.all().delete()
    assert run(coach, _speeding(at(5, 59, 30, day=22), 85.0, over_s=60).items,
               facts_at=at(12, day=22)) == []


def test_a_zone_speed_limit_applies_only_in_its_window(world):
    """School zone at 30 km/h on weekday-and-Saturday mornings: the lowest of road and zone."""
    taxi = make_vehicle(world, "taxi")
    make_road(60)
    make_zone("school", box(LON - 0.01, LAT - 0.01, LON + 0.05, LAT + 0.01), limit=30,
              windows=[{"days": [1, 2, 3, 4, 5, 6], "start": "07:00", "end": "09:00"}])
    violation = only(run(taxi, _speeding(at(8), 45.0).items), "overspeed")
    assert violation.measured["limit_kmh"] == 30 and violation.started_at == at(8)
    Violation.objects.all().delete()
    assert run(taxi, _speeding(at(9, 30), 45.0).items) == []  # the road's 60 only


# -- night_ban -------------------------------------------------------------------------------------
def _night_drive() -> Trip:
    """01:50–02:30 on the line's road, stopped from 02:30, heard again at 05:01 where it stopped.
    Coach lines run along LAT, so there is no route deviation."""
    return (Trip(at(1, 50, day=22)).drive(minutes(40)).stop(minutes(1))
            .silence(minutes(150)))


@pytest.mark.parametrize(("line", "expected"), [
    ("regular", [Row("night_ban", at(2, day=22), at(2, 30, day=22))]),
    ("exempt", []),
    (None, [Row("night_ban", at(2, day=22), at(2, 30, day=22))]),  # no line: not exempt
])
def test_night_ban(world, line, expected):
    coach = make_vehicle(world, "coach")
    if line == "regular":
        make_coach_line(coach, service_type="regular")
    elif line == "exempt":
        make_coach_line(coach, exempt=True)
    assert rows(run(coach, _night_drive().items, facts_at=at(12, day=22))) == expected


def test_night_ban_is_one_episode_per_night(world):
    coach = make_vehicle(world, "coach")
    trip = (Trip(at(2, 10, day=22)).drive(minutes(10)).stop(minutes(40))
            .drive(minutes(10)).stop(minutes(1)).silence(hours(2)))
    assert rows(run(coach, trip.items, facts_at=at(12, day=22))) == [
        Row("night_ban", at(2, 10, day=22), at(3, 10, day=22))]


# -- offline_in_service ----------------------------------------------------------------------------
def test_offline_after_more_than_ten_minutes_while_driving(truck):
    exactly = Trip(at(8)).drive(minutes(10)).silence(minutes(10), east_m=3000, speed=60.0)
    assert run(truck, exactly.items) == []
    longer = Trip(at(9)).drive(minutes(10)).silence(minutes(10) + seconds(1), east_m=3000,
                                                    speed=60.0)
    violation = only(run(truck, longer.items), "offline_in_service")
    assert (violation.started_at, violation.ended_at) == (at(9, 10), at(9, 20, 1))
    assert violation.measured["silence_s"] == 601.0
    assert violation.thresholds["offline_after_s"] == 600.0


def test_parked_without_a_waybill_is_not_offline_but_on_a_waybill_it_is(world, truck):
    parked = Trip(at(8)).drive(minutes(10)).stop(minutes(5)).silence(hours(2))
    assert run(truck, parked.items) == []
    hazmat = make_vehicle(world, "hazmat")
    make_waybill(hazmat, at(9), at(12), driver=certified(world, "hazmat_driver"),
                 escort=certified(world, "hazmat_escort"))
    on_waybill = Trip(at(9)).stop(minutes(5)).silence(minutes(30))
    violation = only(run(hazmat, on_waybill.items), "offline_in_service")
    assert (violation.started_at, violation.ended_at) == (at(9, 5), at(9, 35))


def _gnss_lost(trip: Trip, duration: dt.timedelta) -> Trip:
    """Reports without a position every 30 s for ``duration`` (GNSS lost, the terminal still
    sending: status ACC on, positioned bit clear), the clock carried forward."""
    for _ in range(round(duration.total_seconds() / 30)):
        trip.now += seconds(30)
        trip.add(fx(trip.now, lon=None, lat=None, speed=60.0, status=ACC_ON))
    return trip


def test_a_terminal_reporting_without_a_position_is_not_offline(truck):
    """GNSS lost for 15 min while the terminal keeps reporting: device_fault (RULES.md §2a, a
    terminal reporting > 10 min with ACC on and no positioned fix), not also offline."""
    trip = _gnss_lost(Trip(at(9)).drive(minutes(10)), minutes(15)).drive(minutes(5))
    assert rows(run(truck, trip.items)) == [Row("device_fault", at(9, 10, 30), at(9, 26))]


def test_with_reports_keep_online_off_an_unpositioned_stretch_is_offline_too(truck):
    set_rule("offline_in_service", reports_keep_online=0)
    trip = _gnss_lost(Trip(at(9)).drive(minutes(10)), minutes(15)).drive(minutes(5))
    assert rows(run(truck, trip.items)) == [Row("offline_in_service", at(9, 10), at(9, 26)),
                                            Row("device_fault", at(9, 10, 30), at(9, 26))]


def test_a_silence_before_reports_without_a_position_is_offline_from_the_silence(truck):
    """12 min of nothing, then 5 min of reports without a position: the silence is the gap
    between reports, 09:10 → 09:22, whatever came after it."""
    trip = Trip(at(9)).drive(minutes(10))
    trip.now += minutes(12)
    trip.add(fx(trip.now, lon=None, lat=None, speed=60.0, status=ACC_ON))
    _gnss_lost(trip, minutes(5)).drive(minutes(5))
    violation = only(run(truck, trip.items), "offline_in_service")
    assert (violation.started_at, violation.ended_at) == (at(9, 10), at(9, 22))
    assert violation.measured["silence_s"] == 720.0


# -- which kinds a rule applies to ----------------------------------------------------------------
def _rules_md_kinds() -> dict[str, set[str]]:
    """The "applies to" column of RULES.md §2, read as kind codes."""
    table: dict[str, set[str]] = {}
    section = RULES_MD.read_text().split("## 2. ")[1].split("## 2a.")[0]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        applies = cells[1]
        kinds = (set(ALL_KINDS) if applies == "all"
                 else {k for k in ALL_KINDS if re.search(rf"\b{k}\b", applies)})
        for code in re.findall(r"`(\w+)`", cells[0]):
            table[code] = kinds
    return table


def test_the_catalogue_applies_each_rule_to_the_kinds_rules_md_lists():
    listed = _rules_md_kinds()
    assert set(listed) == set(RULES)
    assert {code: set(spec.kinds) for code, spec in RULES.items()} == listed


def _loaded_long_drive() -> Trip:
    """4 h 30 min loaded (status bits 8–9) without a meter trip or waybill, a phone alarm, a
    15 min silence mid-drive, then a 30 min stop."""
    trip = Trip(at(8), status=MOVING | LOADED).drive(hours(2))
    trip.add(alarm(at(9), "dsm_phone", 1), alarm(at(9, 0, 30), "dsm_phone", 2))
    trip.silence(minutes(15), east_m=5000, speed=60.0).drive(hours(2) + minutes(15))
    trip.status = MOVING
    return trip.stop(minutes(30))


@pytest.mark.parametrize(("kind", "expected"), [
    ("taxi", {"no_meter", "fatigue_continuous", "dsm_phone"}),
    ("ride_hailing", set()),
    ("bus", {"fatigue_continuous", "dsm_phone"}),
    ("coach", {"fatigue_continuous", "dsm_phone", "offline_in_service"}),
    ("hazmat", {"fatigue_continuous", "dsm_phone", "offline_in_service", "no_waybill"}),
    ("heavy_truck", {"fatigue_continuous", "offline_in_service"}),
])
def test_the_same_drive_gives_each_kind_only_its_rules(world, kind, expected):
    vehicle = make_vehicle(world, kind)
    assert {v.rule for v in run(vehicle, _loaded_long_drive().items)} == expected


# -- settings --------------------------------------------------------------------------------------
def test_a_rule_disabled_by_a_setting_produces_nothing(world, truck):
    set_rule("fatigue_continuous", enabled=False, kind="heavy_truck")
    drive = Trip(at(8)).drive(hours(5)).stop(minutes(20))
    assert run(truck, drive.items) == []
    coach = make_vehicle(world, "coach")  # the setting is for heavy trucks only
    assert [v.rule for v in run(coach, drive.items)] == ["fatigue_continuous"]


def test_a_rule_disabled_in_another_district_still_judges_this_one(world, truck):
    set_rule("fatigue_continuous", enabled=False, district=world.district_b)
    drive = Trip(at(8)).drive(hours(5)).stop(minutes(20))
    assert [v.rule for v in run(truck, drive.items)] == ["fatigue_continuous"]
    in_b = make_vehicle(world, "heavy_truck")
    in_b.registered_district = world.district_b
    in_b.save(update_fields=["registered_district"])
    assert run(in_b, drive.items) == []


def test_a_changed_threshold_is_used_and_recorded(truck):
    setting = set_rule("fatigue_continuous", kind="heavy_truck", day_limit_h=3)
    violation = only(run(truck, Trip(at(8)).drive(hours(3.5)).stop(minutes(20)).items),
                     "fatigue_continuous")
    assert violation.started_at == at(11) and violation.setting == setting
    assert violation.thresholds["day_limit_h"] == 3
