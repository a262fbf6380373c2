"""Binary-COPY writer of the partitioned position table, idempotent per (vehicle, time).

COPY cannot skip conflicting rows, so a batch goes into a temporary staging table by binary COPY
and then into the real table with INSERT … ON CONFLICT DO NOTHING. The caller learns which rows
were new, so re-delivered fixes change nothing downstream either.

The pipeline's variant (`write_fixes`) also upserts the latest state of each vehicle from the new
rows in the same statement: the staging table already holds every value the state needs, so
nothing is sent twice and no parameter arrays are built in Python.
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
# The staging rows carry their index in the caller's list (`ord`), so the statement answers with
# small integers instead of (vehicle, time) keys to parse and hash. Speed is float8 here: the
# latest state keeps the value as sent (the position table stores float4).
_STAGING_COLUMNS = (*COLUMNS, "ord")
_STAGING_TYPES = (*TYPES[:5], "float8", *TYPES[6:], "int4")
# Per-session scratch table; ON COMMIT DELETE ROWS empties it at the end of each transaction.
_CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} ("
    + ", ".join(f"{column} {type_}"
                for column, type_ in zip(_STAGING_COLUMNS, _STAGING_TYPES, strict=True))
    + ") ON COMMIT DELETE ROWS"
)
# Emptied first, in the same round trip: ON COMMIT clears it between transactions, this
# between two writes of one transaction.
_PREPARE_STAGING = f"{_CREATE_STAGING}; DELETE FROM {_STAGING}"
_COPY = f"COPY {_STAGING} ({', '.join(_STAGING_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COLUMN_LIST = ", ".join(COLUMNS)
# Rows go in in key order (index-friendly); the caller's rows are unique per key already.
_INSERT = (f"INSERT INTO {POSITIONS_TABLE} ({_COLUMN_LIST}) "
           f"SELECT {_COLUMN_LIST} FROM {_STAGING} ORDER BY vehicle_id, fix_time "
           "ON CONFLICT (vehicle_id, fix_time) DO NOTHING RETURNING vehicle_id, fix_time")
_NEW_ROWS = (f"WITH new AS ({_INSERT}) "
             f"SELECT s.ord FROM new JOIN {_STAGING} s USING (vehicle_id, fix_time)")
# The latest new fix of each vehicle becomes its state, unless the state is already newer
# (an out-of-order or backfilled fix is stored but does not move the state back).
_NEW_ROWS_AND_STATES = f"""
WITH new AS ({_INSERT}),
fresh AS (SELECT s.* FROM new JOIN {_STAGING} s USING (vehicle_id, fix_time)),
state AS (
    INSERT INTO fleet_vehiclestate (vehicle_id, fix_time, received_at, location, speed_kmh,
        heading, status, alarm, acc_on, load_state, online, last_event)
    SELECT DISTINCT ON (vehicle_id) vehicle_id, fix_time, received_at,
        CASE WHEN longitude IS NULL OR latitude IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(longitude, latitude), 4326) END,
        speed_kmh, heading, status, alarm, (status & 1) = 1,
        CASE (status >> 8) & 3 WHEN 0 THEN 'empty' WHEN 3 THEN 'full' ELSE 'half' END,
        true, ''
    FROM fresh ORDER BY vehicle_id, fix_time DESC
    ON CONFLICT (vehicle_id) DO UPDATE SET
        fix_time = EXCLUDED.fix_time, received_at = EXCLUDED.received_at,
        location = COALESCE(EXCLUDED.location, fleet_vehiclestate.location),
        speed_kmh = EXCLUDED.speed_kmh, heading = EXCLUDED.heading, status = EXCLUDED.status,
        alarm = EXCLUDED.alarm, acc_on = EXCLUDED.acc_on, load_state = EXCLUDED.load_state,
        online = true
    WHERE fleet_vehiclestate.fix_time < EXCLUDED.fix_time
)
SELECT ord FROM fresh
"""

# One position row, in COLUMNS order.
RowTuple = tuple[int, dt.datetime, dt.datetime, float | None, float | None, float, int, int, int,
                 int, int, int, float | None, bytes | None]


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

    def as_tuple(self) -> RowTuple:
        return (self.vehicle_id, self.fix_time, self.received_at, self.longitude, self.latitude,
                self.speed_kmh, self.heading, self.altitude, self.alarm, self.status, self.flags,
                self.source, self.mileage_km, self.items)


def _write(conn: psycopg.Connection, rows: Sequence[RowTuple], statement: str) -> list[int]:
    """Stage ``rows`` and run ``statement``; the indexes (into ``rows``) of the new ones, in
    ascending order. A key repeated inside ``rows`` is staged once (the first wins)."""
    seen: set[tuple[int, dt.datetime]] = set()
    with conn.cursor() as cursor:
        cursor.execute(_PREPARE_STAGING)
        with cursor.copy(_COPY) as copy:
            copy.set_types(_STAGING_TYPES)
            for index, row in enumerate(rows):
                key = (row[0], row[1])
                if key not in seen:
                    seen.add(key)
                    copy.write_row((*row, index))
    # A server-side-binding cursor with binary results: Django's connections hand out
    # client-side cursors, whose text results go through Python loaders.
    with psycopg.Cursor(conn) as cursor:
        cursor.execute(statement, binary=True)
        return sorted(index for (index,) in cursor.fetchall())


def write_positions(conn: psycopg.Connection, rows: Sequence[PositionRow],
                    ) -> set[tuple[int, dt.datetime]]:
    """Store ``rows`` inside the caller's transaction; return the (vehicle, time) keys that
    were new. Duplicates inside the batch are collapsed (the first wins)."""
    if not rows:
        return set()
    new = _write(conn, [row.as_tuple() for row in rows], _NEW_ROWS)
    return {(rows[i].vehicle_id, rows[i].fix_time) for i in new}


def write_fixes(conn: psycopg.Connection, rows: Sequence[RowTuple]) -> list[int]:
    """The pipeline's write: store ``rows`` (COLUMNS order) inside the caller's transaction and
    make the latest new row of each vehicle its state (fleet_vehiclestate). Returns the indexes
    of the new rows, ascending; a key repeated inside ``rows`` counts once (the first)."""
    if not rows:
        return []
    return _write(conn, rows, _NEW_ROWS_AND_STATES)
