"""The same rules end to end through the real pipeline (bus → PipelineWorker(rules=Detector) →
PostGIS), for the edges that only the pipeline can show: terminal records crossing the night
boundary, out-of-order and duplicate delivery, range-invalid fixes, and live vs replay giving
the same violations. See test_runtime_rules.py for the harness and the other families."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest
from django.db import connection

from compliance.models import Violation
from compliance.runtime.detector import Detector
from compliance.runtime.replay import replay
from fleet.gateway.records import DriverSignIn, TerminalEvent
from fleet.telemetry.schema import POSITIONS_TABLE
from fleet.telemetry.worker import PipelineWorker
from tests import factories
from tests.compliance.runtime_harness import LAT, LON, at, east, make_vehicle
from tests.telemetry.fixtures import T0, fix


def drain(worker: PipelineWorker) -> None:
    while worker.step():
        pass


@pytest.fixture
def pipeline(make_bus, make_leases):
    def make(name: str = "w1") -> tuple[object, PipelineWorker, Detector]:
        bus = make_bus()
        detector = Detector(send_warnings=False)
        return bus, PipelineWorker(bus, make_leases(name), rules=detector), detector

    return make


def _seconds_after_t0(moment: dt.datetime) -> int:
    return int((moment - T0).total_seconds())


def test_a_drive_from_19_00_is_fatigue_from_22_00(world, pipeline):
    """19:00 → 22:30 as terminal fixes over the bus (3 h at 22:00, over the 2 h night limit at
    once), then a 21 min stop: positions stored, one violation from 22:00 to 22:30."""
    truck = make_vehicle(world, "heavy_truck")
    bus, worker, _ = pipeline()
    base = _seconds_after_t0(at(19))
    bus.publish([fix(truck.pk, base + m * 60, lon=LON + east(10 * m), lat=LAT,
                     speed=60.0 if 0 < m <= 210 else 0.0) for m in range(0, 232)])
    drain(worker)
    [violation] = Violation.objects.filter(vehicle=truck)
    assert (violation.rule, violation.started_at, violation.ended_at) == (
        "fatigue_continuous", at(22), at(22, 30))
    assert violation.measured["fatigue_duration_s"] == 1800.0
    assert violation.review_status == "pending" and violation.district == world.district_a
    assert violation.track is not None


def _overspeed_fixes(vehicle_id: int) -> list:
    # Hazmat off-road (cap 60): 75 km/h for 60 s, then lawful.
    return [*[fix(vehicle_id, s, lon=LON + east(20 * s), lat=LAT, speed=75.0)
              for s in range(0, 70, 10)],
            *[fix(vehicle_id, s, lon=LON + east(20 * s), lat=LAT, speed=40.0)
              for s in range(80, 200, 10)]]


def test_out_of_order_and_duplicate_fixes_change_nothing(world, pipeline):
    plain = make_vehicle(world, "hazmat")
    messy = make_vehicle(world, "hazmat")
    bus, worker, _ = pipeline()
    bus.publish(_overspeed_fixes(plain.pk))
    drain(worker)
    fixes = _overspeed_fixes(messy.pk)
    shuffled = fixes[:12] + fixes[:5]  # out of order and duplicated inside one batch
    random.Random(7).shuffle(shuffled)
    bus.publish(shuffled)
    drain(worker)
    # Later: a re-delivery of everything so far, the rest twice, and a fix older than the
    # latest that would have raised the peak speed if the rules had seen it.
    late = fix(messy.pk, 35, lon=LON + east(700), lat=LAT, speed=110.0)
    bus.publish([*fixes[:12], late, *fixes[12:], *fixes[12:]])
    drain(worker)

    def outcome(vehicle):
        return [(v.rule, v.started_at - T0, v.ended_at - T0, v.measured)
                for v in Violation.objects.filter(vehicle=vehicle)]

    assert outcome(plain) == [("overspeed", dt.timedelta(0), dt.timedelta(seconds=60),
                               {"duration_s": 60.0, "max_speed_kmh": 75.0, "limit_kmh": 60.0,
                                "fixes": 7})]
    assert outcome(messy) == outcome(plain)
    with connection.cursor() as cursor:  # the late fix is stored all the same
        cursor.execute(f"SELECT count(*) FROM {POSITIONS_TABLE} WHERE vehicle_id = %s",
                       [messy.pk])
        assert cursor.fetchone()[0] == len(fixes) + 1


def test_a_redelivered_alarm_batch_changes_nothing(world, pipeline):
    taxi = world.vehicle_a
    bus, worker, _ = pipeline()

    def event(second: int, flag: int) -> TerminalEvent:
        return TerminalEvent("13912345678", taxi.pk, taxi.plate, "safety_alarm",
                             T0 + dt.timedelta(seconds=second), T0, "dsm_smoking",
                             {"alarm_id": 9, "flag": flag})

    batch = [fix(taxi.pk, 0, lon=LON), event(5, 1), fix(taxi.pk, 20, lon=LON), event(25, 2),
             fix(taxi.pk, 40, lon=LON)]
    bus.publish(batch)
    drain(worker)
    bus.publish(batch)
    drain(worker)
    [violation] = Violation.objects.filter(vehicle=taxi)
    assert (violation.rule, violation.started_at - T0, violation.ended_at - T0) == (
        "dsm_smoking", dt.timedelta(seconds=5), dt.timedelta(seconds=25))


def test_speed_above_160_is_drift_not_overspeed(world, pipeline):
    hazmat = make_vehicle(world, "hazmat")
    bus, worker, _ = pipeline()
    bus.publish([fix(hazmat.pk, s, lon=LON + east(10 * s), lat=LAT,
                     speed=170.0 if 10 <= s <= 50 else 40.0) for s in range(0, 130, 10)])
    drain(worker)
    found = list(Violation.objects.filter(vehicle=hazmat).order_by("started_at"))
    assert [(v.rule, v.started_at, v.review_status, v.measured["reason"]) for v in found] == [
        ("gps_drift", T0 + dt.timedelta(seconds=s), "recorded", "range")
        for s in range(10, 60, 10)]


def test_an_early_morning_sign_in_gives_the_same_verdict_live_and_in_replay(world, pipeline):
    """Live records carry the terminal's UTC+8 times; a replay reads them back from the store
    in UTC, where 07:30 is the day before. The certificate expired yesterday either way."""
    taxi = world.vehicle_a
    driver = factories.make_driver(world.enterprise_a)
    expired = factories.make_certificate(driver, valid_to=at(7).date() - dt.timedelta(days=1))
    bus, worker, _ = pipeline()
    sign_in_at = at(7, 30)
    base = _seconds_after_t0(at(7, 29))
    bus.publish([fix(taxi.pk, base, lon=LON),
                 DriverSignIn("13912345678", taxi.pk, taxi.plate, sign_in_at, sign_in_at,
                              driver.pk, expired.number, driver.name, "盘锦", None, 0, None, 1),
                 fix(taxi.pk, base + 120, lon=LON)])
    drain(worker)
    [violation] = Violation.objects.filter(vehicle=taxi)
    assert (violation.rule, violation.measured["state"]) == ("cert_invalid", "expired")
    result = replay(start=at(6), end=at(9), vehicle_ids=[taxi.pk])
    assert result.by_rule() == {"cert_invalid": (1, 1)}


def test_video_items_give_the_same_violations_live_and_in_replay(world, pipeline):
    """Items 0x16 (occluded channels) and 0x15 (video lost) travel on the fix and are stored
    with it; a replay reads them back from the store."""
    taxi = world.vehicle_a
    bus, worker, _ = pipeline()

    def with_items(second: int, occluded: int, lost: int):
        record = fix(taxi.pk, second, lon=LON + east(10 * second), lat=LAT)
        items = (*record.items, (0x15, lost.to_bytes(4, "big")),
                 (0x16, occluded.to_bytes(4, "big")))
        return dataclasses.replace(record, items=items)

    bus.publish([with_items(s, 0b10 if 30 <= s < 120 else 0, 0b1 if 60 <= s < 150 else 0)
                 for s in range(0, 210, 30)])
    drain(worker)
    live = sorted((v.rule, v.started_at - T0, v.ended_at - T0)
                  for v in Violation.objects.filter(vehicle=taxi))
    assert live == [("camera_blocked", dt.timedelta(seconds=30), dt.timedelta(seconds=120)),
                    ("device_fault", dt.timedelta(seconds=60), dt.timedelta(seconds=150))]
    result = replay(start=T0 - dt.timedelta(hours=1), end=T0 + dt.timedelta(hours=1),
                    vehicle_ids=[taxi.pk])
    assert result.by_rule() == {"camera_blocked": (1, 1), "device_fault": (1, 1)}
