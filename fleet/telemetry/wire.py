"""Records ↔ bytes on the ingest bus.

A stream entry's ``r`` field holds one of:

- a batch (the current format): ``0x01`` then records, each a 4-byte big-endian length and the
  record's bytes. One XADD carries every record a publish has for one shard, so Redis commands,
  stream entries and acknowledgements are per batch, not per fix.
- one JSON record (the format before batches). Still decoded, so entries already in a stream
  during an upgrade drain normally; nothing writes it any more.

A record is either a compact fix (``F`` + a fixed binary layout + SIM, plate and the additional
items as sent) or a JSON object (every other record type, and the rare fix the compact layout
cannot hold: active-safety alarms, numbers outside its ranges, naive times). Fixes are nearly all
of the traffic: the compact form costs a struct pack/unpack instead of building and parsing a
JSON tree, and a third of the bytes.

Every record type of fleet.gateway.records round-trips exactly (times keep their UTC offset);
meter trips and ride-hailing orders from the ingest API travel as ``MeterTripRecord`` /
``OrderRecord``.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import orjson

from fleet.gateway.records import (
    ActiveSafetyAlarm,
    CardReport,
    DriverSignIn,
    DriverSignOut,
    Fix,
    TerminalEvent,
    WaybillReport,
    WaybillUpload,
)
from fleet.jt808 import CST


@dataclass(frozen=True, slots=True)
class MeterTripRecord:
    """A taxi meter trip pushed through the ingest API (or a JT/T 905 terminal later)."""

    source: str
    vehicle_id: int
    trip_number: str
    boarded_at: dt.datetime
    alighted_at: dt.datetime
    board_lon: float | None
    board_lat: float | None
    alight_lon: float | None
    alight_lat: float | None
    distance_km: float
    fare_yuan: float
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A ride-hailing order status change pushed by a platform through the ingest API."""

    source: str
    vehicle_id: int
    order_id: str
    status: str
    time: dt.datetime
    driver_id_number: str
    lon: float | None
    lat: float | None
    fare_yuan: float | None
    received_at: dt.datetime


BusRecord = (Fix | TerminalEvent | CardReport | WaybillUpload | DriverSignIn | DriverSignOut
             | WaybillReport | MeterTripRecord | OrderRecord)
_TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    Fix, TerminalEvent, CardReport, WaybillUpload, DriverSignIn, DriverSignOut, WaybillReport,
    MeterTripRecord, OrderRecord)}


class WireError(ValueError):
    """A bus entry that cannot be decoded (kept in a dead-letter stream, never dropped)."""


# -- entries -------------------------------------------------------------------------------------
_BATCH_TAG = b"\x01"
_LENGTH = struct.Struct(">I")


def pack_entry(records: Sequence[bytes]) -> bytes:
    """One stream entry holding encoded records, in order."""
    parts = [_BATCH_TAG]
    pack = _LENGTH.pack
    for record in records:
        parts.append(pack(len(record)))
        parts.append(record)
    return b"".join(parts)


def split_entry(payload: bytes) -> list[bytes]:
    """The encoded records of one stream entry (a legacy entry is one JSON record).

    Raises WireError when the batch framing is broken; the caller then keeps the entry whole
    (decoding it fails again, so it is dead-lettered as received)."""
    if payload[:1] != _BATCH_TAG:
        return [payload]
    records = []
    pos, end = 1, len(payload)
    unpack = _LENGTH.unpack_from
    try:
        while pos < end:
            (size,) = unpack(payload, pos)
            pos += 4
            if pos + size > end:
                raise WireError(f"batch record of {size} bytes runs past the entry")
            records.append(payload[pos:pos + size])
            pos += size
    except struct.error as exc:
        raise WireError(f"broken batch framing: {exc}") from exc
    return records


# -- compact fixes -------------------------------------------------------------------------------
_FIX_TAG = b"F"
# flags, vehicle_id, time and received_at (each: year, month, day, hour, minute, second,
# microsecond, UTC offset in s), latitude, longitude, speed_kmh, heading, altitude, alarm,
# status, serial, source, len(sim), len(plate); then the SIM and plate (UTF-8) and the additional
# items as on the wire (id, length, value). Times travel as their fields: exact, and cheaper to
# take apart and rebuild than epoch arithmetic.
_FIX = struct.Struct(">Bq" + "HBBBBBIi" * 2 + "dddiiIIiHBB")
_HAS_VEHICLE, _HAS_LAT, _HAS_LON, _BACKFILL = 1, 2, 4, 8
_OFFSETS: dict[dt.tzinfo, int] = {}  # fixed-offset zones seen → their offset in seconds
# Offsets back to zones; the gateway's (UTC) and the terminals' (CST) are those very objects.
_ZONES: dict[int, dt.tzinfo] = {0: dt.UTC, 8 * 3600: CST}


def _offset(value: dt.datetime) -> int:
    """UTC offset in seconds; TypeError for a naive time."""
    zone = value.tzinfo
    offset = _OFFSETS.get(zone)  # type: ignore[arg-type]
    if offset is None:
        delta = value.utcoffset()
        if delta is None:
            raise TypeError("naive datetime")
        if delta.microseconds:
            raise ValueError("sub-second UTC offset")
        offset = delta.days * 86400 + delta.seconds
        if type(zone) is dt.timezone:  # fixed: the same for every time (unlike a ZoneInfo)
            _OFFSETS[zone] = offset
    return offset


def _zone(offset: int) -> dt.tzinfo:
    zone = _ZONES.get(offset)
    if zone is None:
        zone = _ZONES[offset] = dt.timezone(dt.timedelta(seconds=offset))
    return zone


def _encode_fix(fix: Fix) -> bytes | None:
    """The compact form, or None when this fix needs the JSON form."""
    if fix.safety_alarms:
        return None  # rare, and nested: JSON carries them
    try:
        time, received = fix.time, fix.received_at
        sim, plate = fix.sim.encode(), fix.plate.encode()
        items = b"".join([bytes((item_id, len(value))) + value for item_id, value in fix.items])
        vehicle_id, latitude, longitude = fix.vehicle_id, fix.latitude, fix.longitude
        flags = ((_HAS_VEHICLE if vehicle_id is not None else 0)
                 | (_HAS_LAT if latitude is not None else 0)
                 | (_HAS_LON if longitude is not None else 0)
                 | (_BACKFILL if fix.backfill else 0))
        head = _FIX.pack(
            flags, vehicle_id or 0,
            time.year, time.month, time.day, time.hour, time.minute, time.second,
            time.microsecond, _offset(time),
            received.year, received.month, received.day, received.hour, received.minute,
            received.second, received.microsecond, _offset(received),
            latitude or 0.0, longitude or 0.0, fix.speed_kmh, fix.heading, fix.altitude,
            fix.alarm, fix.status, fix.serial, fix.source, len(sim), len(plate))
    except (struct.error, ValueError, TypeError, OverflowError, AttributeError):
        return None  # out of the layout's ranges (or not the expected types): JSON keeps it
    return b"".join((_FIX_TAG, head, sim, plate, items))


def _decode_fix(data: bytes) -> Fix:
    (flags, vehicle_id, year, month, day, hour, minute, second, micro, offset,
     r_year, r_month, r_day, r_hour, r_minute, r_second, r_micro, r_offset,
     latitude, longitude, speed, heading, altitude, alarm, status, serial, source, sim_len,
     plate_len) = _FIX.unpack_from(data, 1)
    pos = 1 + _FIX.size
    sim = data[pos:pos + sim_len].decode()
    pos += sim_len
    plate = data[pos:pos + plate_len].decode()
    pos += plate_len
    end = len(data)
    if pos > end:
        raise WireError("compact fix shorter than its SIM and plate")
    items = []
    while pos < end:
        if pos + 2 > end or pos + 2 + data[pos + 1] > end:
            raise WireError("compact fix ends inside an additional item")
        stop = pos + 2 + data[pos + 1]
        items.append((data[pos], data[pos + 2:stop]))
        pos = stop
    return Fix(sim, vehicle_id if flags & _HAS_VEHICLE else None, plate,
               dt.datetime(year, month, day, hour, minute, second, micro, _zone(offset)),
               dt.datetime(r_year, r_month, r_day, r_hour, r_minute, r_second, r_micro,
                           _zone(r_offset)),
               latitude if flags & _HAS_LAT else None, longitude if flags & _HAS_LON else None,
               speed, heading, altitude, alarm, status, tuple(items), (),
               bool(flags & _BACKFILL), serial, source)


# -- JSON records --------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b": value.hex()}
    if isinstance(value, ActiveSafetyAlarm):
        return {"$sa": [_plain(getattr(value, f.name)) for f in fields(value)]}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {"$m": {k: _plain(v) for k, v in value.items()}}
    return value


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if "$dt" in value:
            return dt.datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return dt.date.fromisoformat(value["$d"])
        if "$b" in value:
            return bytes.fromhex(value["$b"])
        if "$sa" in value:
            return ActiveSafetyAlarm(*(_restore(v) for v in value["$sa"]))
        if "$m" in value:
            return {k: _restore(v) for k, v in value["$m"].items()}
    if isinstance(value, list):
        return tuple(_restore(v) for v in value)
    return value


def _encode_json(record: BusRecord) -> bytes:
    body = {f.name: _plain(getattr(record, f.name)) for f in fields(record)}
    return orjson.dumps({"type": type(record).__name__, "body": body})


# -- records -------------------------------------------------------------------------------------
def encode(record: BusRecord) -> bytes:
    """One record's bytes (an element of pack_entry's list)."""
    if type(record) is Fix:
        compact = _encode_fix(record)
        if compact is not None:
            return compact
    return _encode_json(record)


def decode(payload: bytes) -> BusRecord:
    """One record from its bytes (compact fix or JSON, whichever it is)."""
    try:
        if payload[:1] == _FIX_TAG:
            return _decode_fix(payload)
        data = orjson.loads(payload)
        cls = _TYPES[data["type"]]
        return cls(**{key: _restore(value) for key, value in data["body"].items()})
    except WireError:
        raise
    except (orjson.JSONDecodeError, ValueError, KeyError, TypeError, IndexError,
            OverflowError, struct.error) as exc:
        raise WireError(f"undecodable bus entry: {exc}") from exc


def shard_key(record: BusRecord) -> int:
    """Records of one vehicle always go to one shard (per-vehicle order)."""
    vehicle_id = getattr(record, "vehicle_id", None)
    if vehicle_id is not None:
        return int(vehicle_id)
    return sum(getattr(record, "sim", "0").encode())  # no vehicle: stable per terminal
