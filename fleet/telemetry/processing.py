"""Apply one batch of bus records: positions, latest state, events, meter trips.

Everything for a batch is written in the caller's single transaction; the caller acknowledges
the bus entries only after it committed. Every write is idempotent, so re-processing a batch
after a crash changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import psycopg

from fleet.gateway.records import DriverSignIn, DriverSignOut, Fix, TerminalEvent, WaybillReport
from fleet.telemetry import quality
from fleet.telemetry.schema import FLAG_VALID
from fleet.telemetry.store import RowTuple, write_fixes
from fleet.telemetry.wire import BusRecord, MeterTripRecord, OrderRecord


@dataclass
class BatchResult:
    new_fixes: list[Fix] = field(default_factory=list)
    duplicate_fixes: int = 0
    events: int = 0
    meter_trips: int = 0
    states: dict[int, Fix] = field(default_factory=dict)
    # The quality flags (schema FLAG_*) the store judged each fix by, by the fix's position in
    # the batch's records (None for other records): the rules take drift from here, so live
    # judges by what is stored, as a replay does, and the ranges and implied speed are
    # computed once per fix, not twice.
    fix_flags: list[int | None] = field(default_factory=list)


@dataclass
class VehicleMemory:
    """Per-vehicle facts the worker keeps between batches (its shards own these vehicles)."""

    last_valid: dict[int, quality.LastValid] = field(default_factory=dict)


def _mileage_km(items: tuple[tuple[int, bytes], ...]) -> float | None:
    for item_id, raw in items:
        if item_id == 0x01 and len(raw) == 4:
            return int.from_bytes(raw, "big") / 10
    return None


_BY_VEHICLE_TIME = attrgetter("vehicle_id", "time")
FLAGS_COLUMN = 10  # of a position row, as position_rows builds it


def position_rows(fixes: Sequence[Fix], memory: VehicleMemory) -> list[RowTuple]:
    """One position row per fix, in the order of ``fixes`` (every fix has a vehicle). Quality
    flags are computed in time order per vehicle, whatever order the fixes arrived in."""
    rows: list[Any] = [None] * len(fixes)
    last_valid = memory.last_valid
    flags_for = quality.flags_for
    keys = list(map(_BY_VEHICLE_TIME, fixes))
    for index in sorted(range(len(fixes)), key=keys.__getitem__):
        fix = fixes[index]
        vehicle_id = fix.vehicle_id
        previous = last_valid.get(vehicle_id)  # type: ignore[arg-type]
        flags = flags_for(fix, previous)
        if flags & FLAG_VALID and (previous is None or fix.time > previous.time):
            assert fix.longitude is not None and fix.latitude is not None
            last_valid[vehicle_id] = quality.LastValid(  # type: ignore[index]
                fix.time, fix.longitude, fix.latitude)
        items = fix.items
        rows[index] = (
            vehicle_id, fix.time, fix.received_at, fix.longitude, fix.latitude, fix.speed_kmh,
            fix.heading, fix.altitude, fix.alarm, fix.status, flags, fix.source,
            _mileage_km(items) if items else None,
            b"".join([bytes((i, len(v))) + v for i, v in items]) if items else None)
    return rows


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
    result = BatchResult(fix_flags=[None] * len(records))
    fixes: list[Fix] = []
    at: list[int] = []  # each fix's position in records
    others: list[BusRecord] = []
    for position, record in enumerate(records):
        if isinstance(record, Fix):
            if record.vehicle_id is not None:
                fixes.append(record)
                at.append(position)
        else:
            others.append(record)
    if fixes:
        rows = position_rows(fixes, memory)
        for position, row in zip(at, rows, strict=True):
            result.fix_flags[position] = row[FLAGS_COLUMN]
        # Positions and latest states in one statement; the new fixes come back as indexes.
        new = write_fixes(conn, rows)
        result.duplicate_fixes = len(fixes) - len(new)
        new_fixes, states = result.new_fixes, result.states
        for index in new:  # ascending, so new_fixes keeps the batch order
            fix = fixes[index]
            new_fixes.append(fix)
            current = states.get(fix.vehicle_id)  # type: ignore[arg-type]
            if current is None or fix.time > current.time:
                states[fix.vehicle_id] = fix  # type: ignore[index]
    if others:
        _apply_others(conn, others, result)
    return result


def _apply_others(conn: psycopg.Connection, records: Sequence[BusRecord],
                  result: BatchResult) -> None:
    """Events, card sign-in/out, meter trips and orders: few, so plain parameterised SQL."""
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
