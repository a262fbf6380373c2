"""The rule stage inside the real pipeline: bus → worker → PostGIS positions and violations."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from types import SimpleNamespace

import psycopg
import pytest
from django.db import connection, transaction

from compliance.catalogue import validate_params
from compliance.models import RuleCheckpoint, RuleSetting, Violation
from compliance.runtime import detector as detector_module
from compliance.runtime.detector import Detector
from compliance.runtime.replay import replay
from fleet.gateway.records import DriverSignIn, TerminalEvent
from fleet.telemetry.worker import PipelineWorker
from tests import factories
from tests.telemetry.fixtures import T0, fix

LON_A, LON_B, LAT = 122.05, 122.15, 41.15  # inside district A / district B of the World


def drain(worker: PipelineWorker) -> None:
    while worker.step():
        pass


def speeding(vehicle_id: int, seconds: range, *, lon: float = LON_A, speed: float = 75.0):
    # Moving east slowly enough that the implied speed stays plausible (no drift flags).
    return [fix(vehicle_id, s, lon=lon + s * 0.00002, lat=LAT, speed=speed) for s in seconds]


def slow(vehicle_id: int, second: int):
    """A lawful fix a minute after the last speeding one: the episode closes."""
    return fix(vehicle_id, second, lon=LON_A + second * 0.00002, lat=LAT, speed=40.0)


@pytest.fixture
def hazmat(world):
    return factories.make_vehicle(world.enterprise_a, kind="hazmat")


@pytest.fixture
def record_statements(monkeypatch):
    """Call to start recording the SQL sent through psycopg; returns the list it fills."""
    def start() -> list[str]:
        statements: list[str] = []
        execute = psycopg.Cursor.execute

        def recording(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
            statements.append(str(query))
            return execute(self, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", recording)
        return statements

    return start


@pytest.fixture
def pipeline(make_bus, make_leases):
    def make(name: str = "w1") -> tuple[object, PipelineWorker, Detector]:
        bus = make_bus()
        detector = Detector(send_warnings=False)
        return bus, PipelineWorker(bus, make_leases(name), rules=detector), detector

    return make


def test_hazmat_overspeed_off_road_is_one_violation_owned_by_territory(hazmat, world, pipeline):
    bus, worker, _ = pipeline()
    # Registered in A, speeding in B: district B owns it (territorial principle).
    bus.publish([*speeding(hazmat.pk, range(0, 70, 10), lon=LON_B),
                 fix(hazmat.pk, 80, lon=LON_B + 0.002, lat=LAT, speed=40.0),
                 # 60 s after the last fix over the limit: the episode can no longer continue.
                 fix(hazmat.pk, 130, lon=LON_B + 0.003, lat=LAT, speed=40.0)])
    drain(worker)
    violation = Violation.objects.get(vehicle=hazmat)
    assert violation.rule == "overspeed"
    assert violation.started_at == T0 and violation.ended_at == T0 + dt.timedelta(seconds=60)
    assert violation.district == world.district_b and violation.enterprise == world.enterprise_a
    assert violation.measured["max_speed_kmh"] == 75.0 and violation.measured["limit_kmh"] == 60
    assert violation.thresholds["min_duration_s"] == 30 and violation.setting is None
    assert violation.review_status == "pending" and violation.severity == "medium"
    assert violation.track is not None and violation.track.num_points >= 7
    assert violation.evidence["resolution"]["how"] == "inside"


def test_redelivered_batch_leaves_one_row(hazmat, pipeline):
    bus, worker, _ = pipeline()
    fixes = speeding(hazmat.pk, range(0, 70, 10))
    bus.publish(fixes)
    drain(worker)
    bus.publish(fixes)  # the gateway re-sends what it was not sure of
    drain(worker)
    assert Violation.objects.filter(vehicle=hazmat).count() == 1


def test_a_district_override_changes_the_outcome_only_in_that_district(world, pipeline):
    in_a = factories.make_vehicle(world.enterprise_a, kind="hazmat")
    in_b = factories.make_vehicle(world.enterprise_b, kind="hazmat")
    RuleSetting.objects.create(rule="overspeed", district=world.district_a, vehicle_kind="",
                               version=1, params=validate_params("overspeed",
                                                                 {"min_duration_s": 120}))
    bus, worker, _ = pipeline()
    bus.publish(speeding(in_a.pk, range(0, 70, 10)) + speeding(in_b.pk, range(0, 70, 10)))
    drain(worker)
    assert not Violation.objects.filter(vehicle=in_a).exists()
    judged = Violation.objects.get(vehicle=in_b)
    assert judged.setting is None and judged.thresholds["min_duration_s"] == 30


def test_violation_names_the_setting_version_it_was_judged_by(world, hazmat, pipeline):
    setting = RuleSetting.objects.create(
        rule="overspeed", district=None, vehicle_kind="hazmat", version=3,
        params=validate_params("overspeed", {"hazmat_cap": 70}))
    bus, worker, _ = pipeline()
    bus.publish(speeding(hazmat.pk, range(0, 70, 10)))
    drain(worker)
    violation = Violation.objects.get(vehicle=hazmat)
    assert violation.setting == setting and violation.thresholds["hazmat_cap"] == 70
    assert violation.measured["limit_kmh"] == 70


def test_a_worker_taking_over_resumes_from_the_checkpoint(hazmat, pipeline):
    bus, worker, detector = pipeline("w1")
    bus.publish(speeding(hazmat.pk, range(0, 30, 10)))  # 20 s over the limit: not yet a finding
    drain(worker)
    with transaction.atomic():
        assert detector.checkpoint(connection.connection) == 1
    # A new worker process (fresh memory) gets the rest: 40–60 s. Without the checkpoint it
    # would see only 20 s of speeding and find nothing.
    fresh = Detector(send_warnings=False)
    worker.rules = fresh
    bus.publish([*speeding(hazmat.pk, range(30, 70, 10)), slow(hazmat.pk, 130)])
    drain(worker)
    violation = Violation.objects.get(vehicle=hazmat)
    assert violation.started_at == T0 and violation.measured["duration_s"] == 60


def test_each_state_is_checkpointed_an_interval_after_it_changed(world, hazmat, pipeline,
                                                                  monkeypatch, settings):
    """Spread over the batches, not every vehicle at once: a state is saved in the first batch
    RULES_CHECKPOINT_EVERY_S after it first changed since its last save."""
    settings.RULES_CHECKPOINT_EVERY_S = 60
    clock = [1000.0]
    monkeypatch.setattr(detector_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    bus, worker, _ = pipeline()
    taxi = world.vehicle_a

    def batch(at: float, *records) -> set[int]:
        clock[0] = at
        bus.publish(list(records))
        drain(worker)
        return set(RuleCheckpoint.objects.values_list("vehicle_id", flat=True))

    assert batch(1000, *speeding(hazmat.pk, range(0, 20, 10))) == set()
    assert batch(1030, fix(taxi.pk, 0, lon=LON_A)) == set()
    assert batch(1061, *speeding(hazmat.pk, range(20, 40, 10))) == {hazmat.pk}
    saved = RuleCheckpoint.objects.get(vehicle_id=hazmat.pk).through
    assert saved == T0 + dt.timedelta(seconds=30)  # with the batch it was saved in
    assert batch(1085, fix(taxi.pk, 10, lon=LON_A)) == {hazmat.pk}  # taxi: 55 s, not yet
    assert batch(1091, fix(hazmat.pk, 40, lon=LON_A + 0.0008, lat=LAT)) == {hazmat.pk, taxi.pk}
    # The hazmat truck changed again at 1091: saved again only from 1151 on.
    assert batch(1150, fix(taxi.pk, 20, lon=LON_A)) == {hazmat.pk, taxi.pk}
    assert RuleCheckpoint.objects.get(vehicle_id=hazmat.pk).through == saved
    batch(1151, fix(taxi.pk, 30, lon=LON_A))
    assert RuleCheckpoint.objects.get(vehicle_id=hazmat.pk).through == T0 + dt.timedelta(
        seconds=40)


def test_takeover_replays_stored_fixes_after_the_checkpoint(hazmat, pipeline):
    bus, worker, detector = pipeline("w1")
    bus.publish(speeding(hazmat.pk, range(0, 20, 10)))
    drain(worker)
    with transaction.atomic():
        detector.checkpoint(connection.connection)
    bus.publish(speeding(hazmat.pk, range(20, 40, 10)))  # processed, then the worker dies
    drain(worker)
    fresh = Detector(send_warnings=False)
    worker.rules = fresh
    bus.publish([*speeding(hazmat.pk, range(40, 70, 10)), slow(hazmat.pk, 130)])
    drain(worker)
    violation = Violation.objects.get(vehicle=hazmat)
    assert violation.started_at == T0 and violation.measured["fixes"] == 7


def test_live_and_replay_give_the_same_violations(world, hazmat, pipeline):
    taxi = world.vehicle_a
    bus, worker, _ = pipeline()
    phone = [TerminalEvent("13912345678", taxi.pk, taxi.plate, "safety_alarm",
                           T0 + dt.timedelta(seconds=s), T0, "dsm_phone",
                           {"alarm_id": 7, "flag": flag}) for s, flag in ((5, 1), (25, 2))]
    bus.publish([*speeding(hazmat.pk, range(0, 70, 10)), fix(taxi.pk, 0, lon=LON_A),
                 phone[0], fix(taxi.pk, 20, lon=LON_A), phone[1], fix(taxi.pk, 40, lon=LON_A)])
    bus.publish(speeding(hazmat.pk, range(70, 200, 10), speed=90.0))
    drain(worker)
    live = set(Violation.objects.values_list("vehicle_id", "rule", "started_at", "ended_at",
                                             "episode_key"))
    assert {row[1] for row in live} == {"overspeed", "dsm_phone"}
    result = replay(start=T0 - dt.timedelta(hours=1), end=T0 + dt.timedelta(hours=1),
                    vehicle_ids=[hazmat.pk, taxi.pk])
    assert result.by_rule() == {"dsm_phone": (1, 1), "overspeed": (1, 1)}
    rebuilt = replay(start=T0 - dt.timedelta(hours=1), end=T0 + dt.timedelta(hours=1),
                     vehicle_ids=[hazmat.pk, taxi.pk], rebuild=True)
    assert rebuilt.removed == 0 and rebuilt.written == 2
    # A rebuild counts what it wrote, under the district each row is owned by.
    assert rebuilt.by_rule() == {"dsm_phone": (1, 1), "overspeed": (1, 1)}
    assert sorted(rebuilt.replayed) == sorted(
        Violation.objects.values_list("rule", "district_id", "enterprise_id"))
    assert set(Violation.objects.values_list("vehicle_id", "rule", "started_at", "ended_at",
                                             "episode_key")) == live


def test_what_if_thresholds_do_not_touch_live_violations(hazmat, pipeline):
    bus, worker, _ = pipeline()
    bus.publish(speeding(hazmat.pk, range(0, 70, 10)))
    drain(worker)
    before = list(Violation.objects.values_list("pk", "updated_at"))
    result = replay(start=T0 - dt.timedelta(hours=1), end=T0 + dt.timedelta(hours=1),
                    vehicle_ids=[hazmat.pk], overrides={"overspeed": {"min_duration_s": 90}})
    assert result.by_rule() == {"overspeed": (0, 1)}
    assert list(Violation.objects.values_list("pk", "updated_at")) == before


def test_expired_and_void_certificates_at_sign_in(world, pipeline):
    taxi = world.vehicle_a
    driver = factories.make_driver(world.enterprise_a)
    today = T0.date()
    expired = factories.make_certificate(driver, valid_to=today - dt.timedelta(days=1))
    void = factories.make_certificate(driver, valid_to=today - dt.timedelta(days=181))
    valid = factories.make_certificate(driver, valid_to=today + dt.timedelta(days=30))
    bus, worker, _ = pipeline()
    sign_ins = [DriverSignIn("13912345678", taxi.pk, taxi.plate, T0 + dt.timedelta(minutes=m),
                             T0, driver.pk, cert.number, driver.name, "盘锦", None, 0, None, m)
                for m, cert in ((1, expired), (2, void), (3, valid))]
    bus.publish([fix(taxi.pk, 0, lon=LON_A), *sign_ins])
    drain(worker)
    found = dict(Violation.objects.filter(rule="cert_invalid")
                 .values_list("measured__certificate", "measured__state"))
    assert found == {expired.number: "expired", void.number: "void"}
    assert set(Violation.objects.values_list("driver_id", flat=True)) == {driver.pk}


def test_gps_drift_is_recorded_not_screened(hazmat, pipeline):
    bus, worker, _ = pipeline()
    bus.publish([fix(hazmat.pk, 0, lon=LON_A, lat=LAT, speed=30.0),
                 fix(hazmat.pk, 10, lon=LON_A + 0.5, lat=LAT, speed=30.0),  # 42 km in 10 s
                 fix(hazmat.pk, 20, lon=LON_A + 0.0002, lat=LAT, speed=30.0)])
    drain(worker)
    drift = Violation.objects.get(vehicle=hazmat)
    assert drift.rule == "gps_drift" and drift.review_status == "recorded"
    assert drift.started_at == T0 + dt.timedelta(seconds=10)


def test_live_drift_is_what_the_store_flagged_with_its_reason(hazmat, pipeline):
    """The worker hands the rules the flags it stored (so live judges as a replay reads); a
    drift record still says why: out of the RULES.md §3 ranges, or an impossible jump."""
    from fleet.telemetry.schema import FLAG_DRIFT, POSITIONS_TABLE

    bus, worker, _ = pipeline()
    bus.publish([fix(hazmat.pk, 0, lon=LON_A, lat=LAT, speed=30.0),
                 fix(hazmat.pk, 10, lon=LON_A + 0.5, lat=LAT, speed=30.0),  # 42 km in 10 s
                 fix(hazmat.pk, 20, lon=LON_A, lat=60.0, speed=30.0),  # north of China
                 fix(hazmat.pk, 30, lon=LON_A + 0.0002, lat=LAT, speed=30.0)])
    drain(worker)
    reasons = dict(Violation.objects.filter(rule="gps_drift")
                   .values_list("started_at", "measured__reason"))
    assert reasons == {T0 + dt.timedelta(seconds=10): "implied_speed",
                       T0 + dt.timedelta(seconds=20): "range"}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT fix_time FROM {POSITIONS_TABLE} WHERE vehicle_id = %s "
                       f"AND flags & {FLAG_DRIFT} <> 0 ORDER BY fix_time", [hazmat.pk])
        assert [row[0] for row in cursor.fetchall()] == sorted(reasons)


def test_episodes_are_placed_from_memory_where_the_store_would_place_them(world, pipeline,
                                                                         record_statements):
    """An episode's place is the last valid fix at or before its start. When that is the
    latest valid fix the rules have seen (an alarm's episode, a fault's, a fix's own), the
    rules give it and the writer does not ask the store; the place is the store's answer."""
    from compliance.runtime import writer as writer_module

    taxi = world.vehicle_a
    bus, worker, _ = pipeline()
    phone = [TerminalEvent("13912345678", taxi.pk, taxi.plate, "safety_alarm",
                           T0 + dt.timedelta(seconds=s), T0, "dsm_phone",
                           {"alarm_id": 9, "flag": flag}) for s, flag in ((5, 1), (25, 2))]
    bus.publish([fix(taxi.pk, 0, lon=LON_A, lat=LAT), phone[0],
                 fix(taxi.pk, 20, lon=LON_A + 0.001, lat=LAT),
                 phone[1], fix(taxi.pk, 40, lon=LON_A + 0.002, lat=LAT)])
    statements = record_statements()
    drain(worker)
    found = Violation.objects.get(vehicle=taxi, rule="dsm_phone")
    assert not any(s == writer_module._LOCATIONS for s in statements)
    with connection.cursor() as cursor:
        cursor.execute(writer_module._LOCATIONS, {"i": [0], "v": [taxi.pk],
                                                 "t": [found.started_at]})
        [(_, lon, lat)] = cursor.fetchall()
    assert (found.location.x, found.location.y) == (lon, lat) == (LON_A, LAT)


def test_a_settings_change_reaches_the_running_detector(world, hazmat, pipeline):
    from compliance.rule_settings import bump_generation

    bus, worker, detector = pipeline()
    RuleSetting.objects.create(rule="overspeed", district=None, vehicle_kind="", version=1,
                               enabled=False, params=validate_params("overspeed", {}))
    bump_generation()
    detector.live_settings._checked = 0.0  # the next batch checks the generation
    bus.publish(speeding(hazmat.pk, range(0, 70, 10)))
    drain(worker)
    assert not Violation.objects.filter(rule="overspeed").exists()


def test_held_findings_are_written_in_one_set_of_statements(world, pipeline, settings,
                                                            record_statements):
    """One set of statements (locations, evidence events, upsert) for all the findings held,
    however many vehicles and batches made them: three statements per finding made writes
    most of the rules' cost in a busy worker, and a set per batch still a fifth of it."""
    settings.RULES_WRITE_EVERY_S = 3600  # written when the worker is idle
    trucks = [factories.make_vehicle(world.enterprise_a, kind="hazmat") for _ in range(6)]
    bus, worker, _ = pipeline()
    worker.batch_size = 10  # several batches: an entry (a truck's fixes) at a time
    for truck in trucks:
        bus.publish(speeding(truck.pk, range(0, 70, 10), lon=LON_B))
    statements = record_statements()
    drain(worker)
    assert worker.stats.batches > 3
    upserts = [s for s in statements if "INSERT INTO compliance_violation" in s]
    evidence = [s for s in statements if "fleet_terminaleventlog" in s]
    assert len(upserts) == len(evidence) == 1
    rows = Violation.objects.filter(vehicle__in=trucks)
    assert sorted(rows.values_list("vehicle_id", flat=True)) == sorted(t.pk for t in trucks)
    # Each row placed and owned by the territory where it happened, evidence attached.
    assert {v.district_id for v in rows} == {world.district_b.pk}
    assert all(v.evidence["resolution"]["how"] == "inside" and "events" in v.evidence
               and v.track is not None for v in rows)


class FaultyRules:
    """A vehicle state whose rules raise, as a bug met by one vehicle's data would."""

    def __init__(self, vehicle_id: int) -> None:
        self.vehicle_id = vehicle_id
        self.dirty: dict = {}
        self.last_report = None
        self.through = None

    def feed(self, item, facts, config) -> None:
        raise ValueError("a rule bug")


def test_a_fault_in_one_vehicles_rules_loses_nothing_else(world, hazmat, pipeline, caplog):
    other = factories.make_vehicle(world.enterprise_a, kind="hazmat")
    bus, worker, detector = pipeline()
    detector.states[hazmat.pk] = FaultyRules(hazmat.pk)
    bus.publish(speeding(hazmat.pk, range(0, 70, 10)) + speeding(other.pk, range(0, 70, 10)))
    drain(worker)
    # The batch committed: every fix stored, the other vehicle judged, nothing dead-lettered.
    with connection.cursor() as cursor:
        cursor.execute("SELECT vehicle_id, count(*) FROM telemetry_position GROUP BY vehicle_id")
        assert dict(cursor.fetchall()) == {hazmat.pk: 7, other.pk: 7}
    assert worker.stats.dead_letters == 0 and detector.rule_faults == 1
    assert list(Violation.objects.values_list("vehicle_id", flat=True)) == [other.pk]
    assert f"the rules failed on vehicle {hazmat.pk}" in caplog.text
    # The faulty vehicle's rules start afresh and judge what comes next.
    assert type(detector.states[hazmat.pk]).__name__ == "VehicleRules"
    bus.publish(speeding(hazmat.pk, range(100, 170, 10)))
    drain(worker)
    assert Violation.objects.filter(vehicle=hazmat, rule="overspeed").count() == 1


def test_a_record_the_rules_cannot_read_is_skipped_not_fatal(world, hazmat, caplog):
    """Straight into the rule stage (the store has its own checks): a fix whose speed is not a
    number, as a faulty encoder might produce, is logged and skipped; the rest are judged."""
    taxi = world.vehicle_a
    broken = replace(fix(taxi.pk, 0, lon=LON_A), speed_kmh="fast")
    detector = Detector(send_warnings=False)
    with transaction.atomic():
        connection.ensure_connection()
        detector.process(connection.connection, [broken, *speeding(hazmat.pk, range(0, 70, 10))])
        detector.flush(connection.connection)
    assert detector.rule_faults == 1
    assert f"vehicle {taxi.pk}" in caplog.text
    assert list(Violation.objects.values_list("vehicle_id", "rule")) == [(hazmat.pk, "overspeed")]
