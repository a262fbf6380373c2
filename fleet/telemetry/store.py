"""Binary-COPY writer of the partitioned position table, idempotent per (vehicle, time).

COPY cannot skip conflicting rows, so a batch goes into a temporary staging table by binary COPY
and then into the real table with INSERT … ON CONFLICT DO NOTHING. The caller learns which fixes
were new, so re-delivered fixes change nothing downstream either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from fleet.telemetry.schema import POSITIONS_TABLE

COLUMNS = ("vehicle_id", "fix_time", "received_at", "longitude", "latitude", "speed_kmh",
           "heading", "altitude", "alarm", "status", "flags", "source", "mileage_km", "items")
TYPES = ("int8", "timestamptz", "timestamptz", "float8", "float8", "float4", "int2", "int4",
         "int8", "int8", "int2", "int2", "float4", "bytea")
_STAGING = "telemetry_position_staging"
# Per-session scratch table; ON COMMIT DELETE ROWS empties it at the end of each transaction.
_CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} ("
    + ", ".join(f"{column} {type_}" for column, type_ in zip(COLUMNS, TYPES, strict=True))
    + ") ON COMMIT DELETE ROWS"
)


@dataclass(frozen=True, slots=True)
class PositionRow:
    vehicle_id: int
    fix_time: dt.datetime
    received_at: dt.datetime
    longitude: float | None
    latitude: float | None
    speed_kmh: float
    heading: int
    altitude: int
    alarm: int
    status: int
    flags: int
    source: int
    mileage_km: float | None
    items: bytes | None

    def as_tuple(self) -> tuple[object, ...]:
        return (self.vehicle_id, self.fix_time, self.received_at, self.longitude, self.latitude,
                self.speed_kmh, self.heading, self.altitude, self.alarm, self.status, self.flags,
                self.source, self.mileage_km, self.items)


def write_positions(conn: psycopg.Connection, rows: Sequence[PositionRow],
                    ) -> set[tuple[int, dt.datetime]]:
    """Store ``rows`` inside the caller's transaction; return the (vehicle, time) keys that
    were new. Duplicates inside the batch are collapsed (the first wins)."""
    if not rows:
        return set()
    columns = ", ".join(COLUMNS)
    with conn.cursor() as cursor:
        cursor.execute(_CREATE_STAGING)
        with cursor.copy(f"COPY {_STAGING} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(TYPES)
            for row in rows:
                copy.write_row(row.as_tuple())
        cursor.execute(
            f"INSERT INTO {POSITIONS_TABLE} ({columns}) "
            f"SELECT DISTINCT ON (vehicle_id, fix_time) {columns} FROM {_STAGING} "
            "ORDER BY vehicle_id, fix_time "
            "ON CONFLICT (vehicle_id, fix_time) DO NOTHING RETURNING vehicle_id, fix_time")
        inserted = {(vehicle_id, fix_time) for vehicle_id, fix_time in cursor.fetchall()}
        cursor.execute(f"DELETE FROM {_STAGING}")  # a caller may write twice in one transaction
    return inserted
