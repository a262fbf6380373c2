"""Records ↔ bytes on the ingest bus (JSON: readable with redis-cli, fast enough here).

Every record type of fleet.gateway.records round-trips exactly; meter trips from the ingest API
travel as ``MeterTripRecord``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any

import orjson

from fleet.gateway.records import (
    ActiveSafetyAlarm,
    DriverSignIn,
    DriverSignOut,
    Fix,
    TerminalEvent,
    WaybillReport,
)


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


BusRecord = (Fix | TerminalEvent | DriverSignIn | DriverSignOut | WaybillReport | MeterTripRecord
             | OrderRecord)
_TYPES: dict[str, type] = {cls.__name__: cls for cls in (
    Fix, TerminalEvent, DriverSignIn, DriverSignOut, WaybillReport, MeterTripRecord,
    OrderRecord)}


class WireError(ValueError):
    """A bus entry that cannot be decoded (kept in a dead-letter stream, never dropped)."""


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


def encode(record: BusRecord) -> bytes:
    body = {f.name: _plain(getattr(record, f.name)) for f in fields(record)}
    return orjson.dumps({"type": type(record).__name__, "body": body})


def decode(payload: bytes) -> BusRecord:
    try:
        data = orjson.loads(payload)
        cls = _TYPES[data["type"]]
        return cls(**{key: _restore(value) for key, value in data["body"].items()})
    except (orjson.JSONDecodeError, ValueError, KeyError, TypeError) as exc:
        raise WireError(f"undecodable bus entry: {exc}") from exc


def shard_key(record: BusRecord) -> int:
    """Records of one vehicle always go to one shard (per-vehicle order)."""
    vehicle_id = getattr(record, "vehicle_id", None)
    if vehicle_id is not None:
        return int(vehicle_id)
    return sum(getattr(record, "sim", "0").encode())  # no vehicle: stable per terminal
