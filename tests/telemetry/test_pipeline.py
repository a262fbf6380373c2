"""Bus → worker → PostGIS over real Redis and PostgreSQL connections."""

import datetime as dt

import pytest
from django.db import connection

from fleet.gateway.records import DriverSignIn, TerminalEvent
from fleet.models import TerminalEventLog, VehicleState
from fleet.telemetry import processing, wire
from fleet.telemetry.bus import dead_letter_key
from fleet.telemetry.schema import FLAG_BACKFILL, FLAG_DRIFT, FLAG_VALID
from fleet.telemetry.worker import PipelineWorker
from tests.telemetry.fixtures import T0, fix


def stored(vehicle_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT fix_time, flags, speed_kmh FROM telemetry_position "
                       "WHERE vehicle_id = %s ORDER BY fix_time", [vehicle_id])
        return cursor.fetchall()


def drain(worker: PipelineWorker) -> None:
    while worker.step():
        pass


def test_every_fix_stored_once_and_state_updated(world, make_bus, make_leases):
    bus = make_bus()
    worker = PipelineWorker(bus, make_leases("w1"))
    a, b = world.vehicle_a.pk, world.vehicle_b.pk
    bus.publish([fix(a, 0), fix(b, 0), fix(a, 30), fix(a, 30)])  # duplicate delivery
    bus.publish([fix(a, 60, speed=55.0), fix(a, 30)])
    drain(worker)
    assert [row[0] for row in stored(a)] == [T0 + dt.timedelta(seconds=s) for s in (0, 30, 60)]
    assert len(stored(b)) == 1
    assert worker.stats.duplicates == 2
    state = VehicleState.objects.get(vehicle_id=a)
    assert state.fix_time == T0 + dt.timedelta(seconds=60) and state.speed_kmh == 55.0
    assert state.acc_on and state.load_state == "empty"
    assert bus.backlog() == 0  # acknowledged and deleted


def test_out_of_order_fix_is_stored_but_does_not_move_state_back(world, make_bus, make_leases):
    bus = make_bus()
    worker = PipelineWorker(bus, make_leases("w1"))
    a = world.vehicle_a.pk
    bus.publish([fix(a, 120)])
    drain(worker)
    bus.publish([fix(a, 60, speed=10.0)])
    drain(worker)
    assert len(stored(a)) == 2
    assert VehicleState.objects.get(vehicle_id=a).fix_time == T0 + dt.timedelta(seconds=120)


def test_quality_flags(world, make_bus, make_leases):
    bus = make_bus()
    worker = PipelineWorker(bus, make_leases("w1"))
    a = world.vehicle_a.pk
    bus.publish([fix(a, 0), fix(a, 10, lon=122.5),        # 36 km in 10 s: drift
                 fix(a, 20, speed=200.0),                 # implausible speed: drift
                 fix(a, 30, backfill=True)])
    drain(worker)
    flags = [row[1] for row in stored(a)]
    assert flags[0] & FLAG_VALID and not flags[0] & FLAG_DRIFT
    assert flags[1] & FLAG_DRIFT and not flags[1] & FLAG_VALID
    assert flags[2] & FLAG_DRIFT
    assert flags[3] & FLAG_VALID and flags[3] & FLAG_BACKFILL  # compared with fix 0, not drift


def test_events_and_card_sign_in_are_idempotent(world, make_bus, make_leases):
    bus = make_bus()
    worker = PipelineWorker(bus, make_leases("w1"))
    a = world.vehicle_a.pk
    event = TerminalEvent("13912345678", a, "辽L10001", "safety_alarm", T0, T0, "dsm_phone",
                          {"alarm_id": 7, "flag": 1})
    sign_in = DriverSignIn("13912345678", a, "辽L10001", T0, T0, None, "211100000001", "张三",
                           "盘锦", dt.date(2020, 1, 1), 0, None, 3)
    bus.publish([fix(a, 0), event, sign_in])
    bus.publish([event, sign_in])  # re-delivered
    drain(worker)
    kinds = sorted(TerminalEventLog.objects.filter(vehicle_id=a).values_list("kind", flat=True))
    assert kinds == ["card_in", "safety_alarm"]
    assert VehicleState.objects.get(vehicle_id=a).last_event == "card_in"


def test_undecodable_entry_goes_to_dead_letter_not_lost(world, make_bus, make_leases,
                                                         redis_client, bus_prefix):
    bus = make_bus(shards=1)
    worker = PipelineWorker(bus, make_leases("w1", shards=1))
    redis_client.xadd(f"{bus_prefix}:ingest:0", {"r": b"{not json"})
    bus.publish([fix(world.vehicle_a.pk, 0)])
    drain(worker)
    assert len(stored(world.vehicle_a.pk)) == 1
    dead = redis_client.xrange(dead_letter_key(bus_prefix))
    assert len(dead) == 1 and dead[0][1][b"payload"] == b"{not json"


def test_worker_crash_mid_batch_then_takeover(world, make_bus, make_leases, monkeypatch):
    """Worker 1 dies after writing but before committing; worker 2 takes the shard after the
    lease expires and re-processes the pending entries: nothing lost, nothing duplicated."""
    bus = make_bus(shards=1)
    a = world.vehicle_a.pk
    bus.publish([fix(a, s) for s in range(0, 300, 10)])

    first = PipelineWorker(bus, make_leases("w1", shards=1, ttl_ms=300))
    real_apply = processing.apply_batch

    def crash(*args, **kwargs):
        real_apply(*args, **kwargs)
        raise RuntimeError("killed mid-batch")

    monkeypatch.setattr("fleet.telemetry.worker.apply_batch", crash)
    with pytest.raises(RuntimeError):
        first.step()
    monkeypatch.setattr("fleet.telemetry.worker.apply_batch", real_apply)
    assert stored(a) == []  # rolled back
    assert bus.backlog() == 30  # still in the stream, pending for shard 0

    second = PipelineWorker(bus, make_leases("w2", shards=1, ttl_ms=300))
    second.heartbeat_if_due()
    assert second.leases.owned == set()  # the dead worker's lease still runs
    import time

    time.sleep(0.4)
    second._last_heartbeat = 0
    drain(second)
    assert len(stored(a)) == 30
    assert bus.backlog() == 0
    bus.publish([fix(a, 0)])  # a late re-delivery changes nothing
    drain(second)
    assert len(stored(a)) == 30


def test_wire_round_trip(world):
    original = fix(world.vehicle_a.pk, 5, backfill=True)
    assert wire.decode(wire.encode(original)) == original
    with pytest.raises(wire.WireError):
        wire.decode(b'{"type": "Nope", "body": {}}')


def test_haversine_agrees_with_geopy():
    from geopy.distance import great_circle

    from fleet.geo.distance import haversine_km

    for a, b in [((41.12, 122.07), (41.2, 122.3)), ((40.0, 120.0), (45.0, 125.0))]:
        assert abs(haversine_km(*a, *b) - great_circle(a, b).km) < 1e-3  # metres: rounding


def test_a_record_the_database_refuses_is_dead_lettered_not_blocking(
        world, make_bus, make_leases, redis_client, bus_prefix):
    bus = make_bus(shards=1)
    worker = PipelineWorker(bus, make_leases("w1", shards=1))
    gone = 987_654_321  # a vehicle id that does not exist (deleted after the gateway read it)
    bus.publish([fix(world.vehicle_a.pk, 0), fix(gone, 0), fix(world.vehicle_a.pk, 10)])
    drain(worker)
    assert len(stored(world.vehicle_a.pk)) == 2
    assert bus.backlog() == 0
    dead = redis_client.xrange(dead_letter_key(bus_prefix))
    assert len(dead) == 1 and b"refused by the database" in dead[0][1][b"reason"]
    assert worker.stats.dead_letters == 1
