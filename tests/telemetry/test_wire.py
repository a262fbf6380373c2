"""Bus encoding: compact fixes, JSON for the rest, batch entries, and the pre-batch JSON entries
still in a stream during an upgrade."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import replace

import pytest
from django.db import connection

from fleet.gateway.records import (
    ActiveSafetyAlarm,
    CardReport,
    DriverSignIn,
    TerminalEvent,
    WaybillUpload,
)
from fleet.jt808 import CST
from fleet.telemetry import wire
from fleet.telemetry.bus import ENTRY_MAX_RECORDS, dead_letter_key, stream_key
from fleet.telemetry.worker import PipelineWorker
from tests.telemetry.fixtures import T0, fix


def drain(worker: PipelineWorker) -> None:
    while worker.step():
        pass


def stored_times(vehicle_id: int) -> list[dt.datetime]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT fix_time FROM telemetry_position WHERE vehicle_id = %s "
                       "ORDER BY fix_time", [vehicle_id])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("variant", [
    {},
    {"vehicle_id": None},
    {"latitude": None, "longitude": None, "status": 0b01},
    {"backfill": True, "source": 0x0704},
    {"items": ()},
    {"items": ((0x01, b"\x00\x00\x30\x39"), (0x30, b"\x1f"), (0x01, b""), (0xE1, b"x" * 255))},
    {"plate": "", "sim": ""},
    {"speed_kmh": 0.1, "heading": 359, "altitude": -12, "alarm": 0xFFFFFFFF,
     "status": 0xFFFFFFFF, "serial": 65535},
    {"received_at": dt.datetime(2026, 11, 21, 0, 0, 31, 123456, tzinfo=dt.UTC)},
])
def test_compact_fix_round_trips_exactly(variant):
    original = replace(fix(7, 30), **variant)
    encoded = wire.encode(original)
    assert encoded[:1] == b"F"  # the compact form, not JSON
    decoded = wire.decode(encoded)
    assert decoded == original
    # Offsets and the very zone objects survive: the live view prints times as sent.
    assert decoded.time.tzinfo is CST and decoded.time.isoformat() == original.time.isoformat()
    assert decoded.received_at.tzinfo is dt.UTC


def test_compact_fix_keeps_other_offsets_as_the_same_instant():
    shanghai = dt.datetime(2026, 11, 21, 8, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    minus = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30)))
    original = replace(fix(7, 0), time=shanghai, received_at=minus)
    decoded = wire.decode(wire.encode(original))
    assert decoded == original
    assert decoded.time.isoformat() == "2026-11-21T08:00:00+08:00"
    assert decoded.received_at.isoformat() == "2026-11-21T08:00:00-03:30"


def test_fixes_the_compact_form_cannot_hold_travel_as_json():
    alarm = ActiveSafetyAlarm("dsm", 7, 1, 0x02, "dsm_phone", 2,
                              dt.datetime(2026, 11, 21, 8, 0, tzinfo=CST), 1)
    for odd in (replace(fix(7, 0), safety_alarms=(alarm,)),
                replace(fix(7, 0), alarm=1 << 40),
                replace(fix(7, 0), time=dt.datetime(2026, 11, 21, 8, 0)),  # naive
                replace(fix(7, 0), items=((0x01, b"x" * 300),))):
        encoded = wire.encode(odd)
        assert encoded[:1] == b"{"
        assert wire.decode(encoded) == odd


def test_other_records_travel_as_json():
    event = TerminalEvent("13912345678", 7, "辽L10001", "safety_alarm", T0, T0, "dsm_phone",
                          {"alarm_id": 7, "flag": 1})
    sign_in = DriverSignIn("13912345678", 7, "辽L10001", T0, T0, None, "211100000001", "张三",
                           "盘锦", dt.date(2020, 1, 1), 0, None, 3)
    card = CardReport("13912345678", 7, "辽L10001", T0, T0, True, "211100000001",
                      "211102199001011234", "张三", "盘锦", dt.date(2020, 1, 1), 0, 3)
    card_out = CardReport("13912345678", 7, "辽L10001", T0, T0, False, "", "", "", "", None,
                          None, 4)
    waybill = WaybillUpload("13912345678", 7, "辽L10001", T0, "运单YD1".encode("gbk"), "运单YD1", 5)
    for record in (event, sign_in, card, card_out, waybill):
        assert wire.decode(wire.encode(record)) == record


def test_batch_entries_split_back_into_records():
    records = [wire.encode(fix(7, s)) for s in range(5)]
    assert wire.split_entry(wire.pack_entry(records)) == records
    assert wire.split_entry(wire.pack_entry([])) == []
    legacy = b'{"type": "Fix"}'
    assert wire.split_entry(legacy) == [legacy]  # a pre-batch entry is one record
    with pytest.raises(wire.WireError):
        wire.split_entry(wire.pack_entry(records)[:-3])  # the last record is cut short
    with pytest.raises(wire.WireError):
        wire.split_entry(b"\x01\x00\x00")  # a length cut short


@pytest.mark.parametrize("payload", [
    b"", b"F", b"F" + b"\x00" * 20, wire.encode(fix(7, 0))[:-3],  # inside an item
    wire.encode(fix(7, 0)) + b"\x01",  # an item without its length
    b"\x01\x00\x00\x00\x02{}", b"[1, 2]", b'{"type": "Fix", "body": {"sim": 1}}',
])
def test_undecodable_records_raise_wire_error(payload):
    with pytest.raises(wire.WireError):
        wire.decode(payload)


# What the bus carried before batch entries: one JSON record per entry ({vid}: the vehicle).
LEGACY_FIX = (
    '{{"type":"Fix","body":{{"sim":"13912345678","vehicle_id":{vid},"plate":"辽L10001",'
    '"time":{{"$dt":"2026-11-21T08:00:30+08:00"}},'
    '"received_at":{{"$dt":"2026-11-21T00:00:31+00:00"}},"latitude":41.12,"longitude":122.07,'
    '"speed_kmh":40.0,"heading":90,"altitude":10,"alarm":0,"status":3,'
    '"items":[[1,{{"$b":"00003039"}}]],"safety_alarms":[],"backfill":false,"serial":30,'
    '"source":512}}}}')
LEGACY_EVENT = (
    '{{"type":"TerminalEvent","body":{{"sim":"13912345678","vehicle_id":{vid},'
    '"plate":"辽L10001","kind":"safety_alarm","time":{{"$dt":"2026-11-21T08:00:00+08:00"}},'
    '"received_at":{{"$dt":"2026-11-21T08:00:00+08:00"}},"code":"dsm_phone",'
    '"detail":{{"$m":{{"alarm_id":7,"flag":1}}}}}}}}')


def test_entries_written_before_batches_are_still_processed(world, make_bus, make_leases,
                                                            redis_client, bus_prefix):
    """An upgrade with entries in the streams: the new worker reads the old format too."""
    bus = make_bus(shards=1)
    vid = world.vehicle_a.pk
    assert wire.decode(LEGACY_FIX.format(vid=vid).encode()) == fix(vid, 30)
    for legacy in (LEGACY_FIX, LEGACY_EVENT):
        redis_client.xadd(stream_key(bus_prefix, 0), {"r": legacy.format(vid=vid).encode()})
    bus.publish([fix(vid, 60)])  # and a batch entry after them
    worker = PipelineWorker(bus, make_leases("w1", shards=1))
    drain(worker)
    assert stored_times(vid) == [T0 + dt.timedelta(seconds=30), T0 + dt.timedelta(seconds=60)]
    assert worker.stats.records == 3 and worker.stats.dead_letters == 0
    assert bus.backlog() == 0


def test_one_entry_per_shard_and_publish(make_bus, redis_client, bus_prefix):
    bus = make_bus(shards=2)
    records = [fix(v, s) for s in range(3) for v in (10, 11)]  # vehicles on shards 0 and 1
    bus.publish(records)
    assert [redis_client.xlen(stream_key(bus_prefix, shard)) for shard in (0, 1)] == [1, 1]
    assert bus.backlog() == 6
    bus.publish([fix(10, s) for s in range(10, 10 + 2 * ENTRY_MAX_RECORDS + 1)])
    assert redis_client.xlen(stream_key(bus_prefix, 0)) == 1 + 3  # entries hold at most 64
    assert bus.backlog() == 6 + 2 * ENTRY_MAX_RECORDS + 1


def test_records_keep_their_order_within_a_shard(make_bus):
    bus = make_bus(shards=1)
    first = [fix(v, s) for s in range(100) for v in (1, 2)]
    second = [fix(3, s) for s in range(5)]
    bus.publish(first)
    bus.publish(second)
    entries = bus.read(0, count=10_000, block_ms=None, pending=False)
    assert [wire.decode(e.payload) for e in entries] == first + second
    # Records of one entry share its id; entries come in stream order.
    ids = [e.entry_id for e in entries]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    assert len(set(ids)) == 5  # 200 records in 4 entries, then one


def test_a_read_stays_near_the_records_asked_for(make_bus):
    bus = make_bus(shards=2)
    for n in range(20):  # shard 0: twenty full entries
        bus.publish([fix(2, n * 1000 + s) for s in range(ENTRY_MAX_RECORDS)])
    for n in range(300):  # shard 1: a backlog of small entries, one record each
        bus.publish([fix(1, n)])
    # Before a shard's first read its entries count as full: no large overshoot on start-up.
    assert len(bus.read(0, count=128, block_ms=None, pending=False)) == 128
    assert len(bus.read(0, count=200, block_ms=None, pending=False)) == 192  # 3 entries
    assert len(bus.read(1, count=100, block_ms=None, pending=False)) == 2
    # Then as large as the last read found, growing step by step: small entries still end
    # up making whole batches.
    assert len(bus.read(1, count=100, block_ms=None, pending=False)) == 2 * 2 + 16
    assert len(bus.read(1, count=100, block_ms=None, pending=False)) == 2 * 20 + 16
    assert len(bus.read(1, count=100, block_ms=None, pending=False)) == 100
    # A quiet shard of small entries (then an empty read) meeting a burst of full entries
    # takes 16 of them, not 100.
    while bus.read(1, count=100, block_ms=None, pending=False):
        pass
    for n in range(40):
        bus.publish([fix(1, 100_000 + n * 1000 + s) for s in range(ENTRY_MAX_RECORDS)])
    assert len(bus.read(1, count=100, block_ms=None, pending=False)) == 16 * ENTRY_MAX_RECORDS


def test_one_bad_record_of_an_entry_is_dead_lettered_alone(world, make_bus, make_leases,
                                                          redis_client, bus_prefix):
    bus = make_bus(shards=1)
    vid = world.vehicle_a.pk
    good = [wire.encode(fix(vid, 0)), wire.encode(fix(vid, 10))]
    redis_client.xadd(stream_key(bus_prefix, 0),
                      {"r": wire.pack_entry([good[0], b"F-garbage", good[1]])})
    redis_client.xadd(stream_key(bus_prefix, 0), {"r": b"\x01\x00\x00\x00\x09cut"})
    redis_client.xadd(stream_key(bus_prefix, 0), {"other": b"not ours"})
    worker = PipelineWorker(bus, make_leases("w1", shards=1))
    drain(worker)
    assert len(stored_times(vid)) == 2
    dead = redis_client.xrange(dead_letter_key(bus_prefix))
    assert [d[1][b"payload"] for d in dead] == [b"F-garbage", b"\x01\x00\x00\x00\x09cut", b""]
    assert worker.stats.dead_letters == 3
    assert bus.backlog() == 0  # every entry acknowledged once its good records committed
