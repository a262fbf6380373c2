"""Apply one batch of bus records: positions, latest state, events, meter trips.

Everything for a batch is written in the caller's single transaction; the caller acknowledges
the bus entries only after it committed. Every write is idempotent, so re-processing a batch
after a crash changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import psycopg

from fleet.gateway.records import DriverSignIn, DriverSignOut, Fix, TerminalEvent, WaybillReport
from fleet.telemetry import quality
from fleet.telemetry.schema import FLAG_VALID
from fleet.telemetry.store import PositionRow, write_positions
from fleet.telemetry.wire import BusRecord, MeterTripRecord, OrderRecord

_LOAD_STATES = {0: "empty", 1: "half", 2: "half", 3: "full"}


@dataclass
class BatchResult:
    new_fixes: list[Fix] = field(default_factory=list)
    duplicate_fixes: int = 0
    events: int = 0
    meter_trips: int = 0
    states: dict[int, Fix] = field(default_factory=dict)


@dataclass
class VehicleMemory:
    """Per-vehicle facts the worker keeps between batches (its shards own these vehicles)."""

    last_valid: dict[int, quality.LastValid] = field(default_factory=dict)


def _mileage_km(fix: Fix) -> float | None:
    for item_id, raw in fix.items:
        if item_id == 0x01 and len(raw) == 4:
            return int.from_bytes(raw, "big") / 10
    return None


def position_rows(fixes: Sequence[Fix], memory: VehicleMemory) -> list[PositionRow]:
    rows = []
    for fix in sorted(fixes, key=lambda f: (f.vehicle_id or 0, f.time)):
        if fix.vehicle_id is None:
            continue
        previous = memory.last_valid.get(fix.vehicle_id)
        flags = quality.flags_for(fix, previous)
        if flags & FLAG_VALID and (previous is None or fix.time > previous.time):
            assert fix.longitude is not None and fix.latitude is not None
            memory.last_valid[fix.vehicle_id] = quality.LastValid(fix.time, fix.longitude,
                                                                  fix.latitude)
        rows.append(PositionRow(
            vehicle_id=fix.vehicle_id, fix_time=fix.time, received_at=fix.received_at,
            longitude=fix.longitude, latitude=fix.latitude, speed_kmh=fix.speed_kmh,
            heading=fix.heading, altitude=fix.altitude, alarm=fix.alarm, status=fix.status,
            flags=flags, source=fix.source, mileage_km=_mileage_km(fix),
            items=b"".join(bytes((i, len(v))) + v for i, v in fix.items) or None))
    return rows


# One statement per batch: unnest() turns the column arrays into rows (a row-by-row
# executemany was most of the worker's time).
_UPSERT_STATE = """
INSERT INTO fleet_vehiclestate (vehicle_id, fix_time, received_at, location, speed_kmh, heading,
    status, alarm, acc_on, load_state, online, last_event)
SELECT v.vehicle_id, v.fix_time, v.received_at,
    CASE WHEN v.lon IS NULL OR v.lat IS NULL THEN NULL
         ELSE ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326) END,
    v.speed, v.heading, v.status, v.alarm, v.acc_on, v.load_state, true, ''
FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::float8[], %s::float8[],
            %s::float8[], %s::int[], %s::bigint[], %s::bigint[], %s::bool[], %s::text[])
    AS v(vehicle_id, fix_time, received_at, lon, lat, speed, heading, status, alarm, acc_on,
         load_state)
ON CONFLICT (vehicle_id) DO UPDATE SET
    fix_time = EXCLUDED.fix_time, received_at = EXCLUDED.received_at,
    location = COALESCE(EXCLUDED.location, fleet_vehiclestate.location),
    speed_kmh = EXCLUDED.speed_kmh, heading = EXCLUDED.heading, status = EXCLUDED.status,
    alarm = EXCLUDED.alarm, acc_on = EXCLUDED.acc_on, load_state = EXCLUDED.load_state,
    online = true
WHERE fleet_vehiclestate.fix_time < EXCLUDED.fix_time
"""


def _upsert_states(cursor: psycopg.Cursor, latest: Iterable[Fix]) -> None:
    fixes = list(latest)
    if not fixes:
        return
    # Binary parameters: psycopg's text dumping of eleven arrays was a fifth of the worker's time.
    cursor.execute(_UPSERT_STATE, (
        [f.vehicle_id for f in fixes], [f.time for f in fixes], [f.received_at for f in fixes],
        [f.longitude for f in fixes], [f.latitude for f in fixes],
        [f.speed_kmh for f in fixes], [f.heading for f in fixes], [f.status for f in fixes],
        [f.alarm for f in fixes], [bool(f.status & 1) for f in fixes],
        [_LOAD_STATES[(f.status >> 8) & 3] for f in fixes]), binary=True)


_INSERT_EVENT = """
INSERT INTO fleet_terminaleventlog (vehicle_id, time, received_at, kind, code, event_key, detail)
VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING
"""


def _event_row(record: BusRecord) -> tuple[object, ...] | None:
    if isinstance(record, TerminalEvent):
        detail = {k: (v if isinstance(v, str | int | float | bool | None) else str(v))
                  for k, v in record.detail.items()}
        key = str(detail.get("alarm_id", ""))
        return (record.vehicle_id, record.time, record.received_at, record.kind, record.code,
                key, json.dumps(detail, ensure_ascii=False))
    if isinstance(record, DriverSignIn):
        detail = {"driver_id": record.driver_id, "certificate_number": record.certificate_number,
                  "driver_name": record.driver_name, "issuer": record.issuer,
                  "certificate_valid_until": record.certificate_valid_until and
                  record.certificate_valid_until.isoformat(), "read_result": record.read_result}
        return (record.vehicle_id, record.time, record.received_at, "card_in",
                record.certificate_number, "", json.dumps(detail, ensure_ascii=False))
    if isinstance(record, DriverSignOut):
        return (record.vehicle_id, record.time, record.received_at, "card_out", "", "",
                json.dumps({"driver_id": record.driver_id}))
    if isinstance(record, WaybillReport):
        return (record.vehicle_id, record.received_at, record.received_at, "waybill",
                record.waybill_number, "", json.dumps({"waybill_id": record.waybill_id,
                                                        "text": record.text or ""},
                                                       ensure_ascii=False))
    return None


_DRIVER_ON_DUTY = """
UPDATE fleet_vehiclestate SET driver_id = %s, last_event = %s, last_event_at = %s
WHERE vehicle_id = %s AND (last_event_at IS NULL OR last_event_at <= %s)
"""

_INSERT_METER = """
INSERT INTO fleet_metertrip (vehicle_id, source, trip_number, boarded_at, alighted_at,
    board_location, alight_location, distance_km, fare_yuan, received_at)
VALUES (%s, %s, %s, %s, %s,
    CASE WHEN %s::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(%s, %s), 4326) END,
    CASE WHEN %s::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(%s, %s), 4326) END,
    %s, %s, %s)
ON CONFLICT DO NOTHING
"""


# The driver is matched by ID number so the ride-hailing rule can compare it with the binding.
_INSERT_ORDER = """
INSERT INTO fleet_ridehailingorder (vehicle_id, source, order_id, status, time,
    driver_id_number, driver_id, location, fare_yuan, received_at)
VALUES (%s, %s, %s, %s, %s, %s, (SELECT id FROM fleet_driver WHERE id_number = %s),
    CASE WHEN %s::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(%s, %s), 4326) END,
    %s, %s)
ON CONFLICT DO NOTHING
"""


def apply_batch(conn: psycopg.Connection, records: Sequence[BusRecord],
                memory: VehicleMemory) -> BatchResult:
    """Write one batch inside the caller's transaction."""
    result = BatchResult()
    fixes = [r for r in records if isinstance(r, Fix) and r.vehicle_id is not None]
    new_keys = write_positions(conn, position_rows(fixes, memory))
    for fix in fixes:
        key = (fix.vehicle_id, fix.time)
        if key in new_keys:
            new_keys.discard(key)  # a fix repeated inside the batch counts once
            result.new_fixes.append(fix)
            current = result.states.get(fix.vehicle_id)  # type: ignore[arg-type]
            if current is None or fix.time > current.time:
                result.states[fix.vehicle_id] = fix  # type: ignore[index]
        else:
            result.duplicate_fixes += 1
    # A server-side-binding cursor: Django's connections hand out client-side ones, which cannot
    # send binary parameters.
    with psycopg.Cursor(conn) as binary_cursor:
        _upsert_states(binary_cursor, result.states.values())
    with conn.cursor() as cursor:
        events = [row for row in map(_event_row, records) if row and row[0] is not None]
        if events:
            cursor.executemany(_INSERT_EVENT, events)
            result.events = len(events)
        for record in records:
            if isinstance(record, DriverSignIn | DriverSignOut) and record.vehicle_id:
                driver = record.driver_id if isinstance(record, DriverSignIn) else None
                kind = "card_in" if isinstance(record, DriverSignIn) else "card_out"
                cursor.execute(_DRIVER_ON_DUTY, (driver, kind, record.time, record.vehicle_id,
                                                 record.time))
        trips = [r for r in records if isinstance(r, MeterTripRecord)]
        if trips:
            cursor.executemany(_INSERT_METER, [(
                t.vehicle_id, t.source, t.trip_number, t.boarded_at, t.alighted_at,
                t.board_lon, t.board_lon, t.board_lat, t.alight_lon, t.alight_lon, t.alight_lat,
                t.distance_km, t.fare_yuan, t.received_at) for t in trips])
            result.meter_trips = len(trips)
        orders = [r for r in records if isinstance(r, OrderRecord)]
        if orders:
            cursor.executemany(_INSERT_ORDER, [(
                o.vehicle_id, o.source, o.order_id, o.status, o.time, o.driver_id_number,
                o.driver_id_number, o.lon, o.lon, o.lat, o.fare_yuan, o.received_at)
                for o in orders])
    return result
