"""Where the ingest benches put what they write: a partition of the position table of their
own for the bench's day (created for the run, dropped after it), so bench rows never mix with
live data, never bloat the DEFAULT partition over repeated runs, and go through the same
partition routing as live rows. What else the run wrote is removed at the end: the latest
states, violations (with their spoken-warning attempts) and rule checkpoints with times on the
bench's days, the terminal events of those days (safety alarms, card swipes), the card bindings
card swipes of those days opened (and a latest state's last card event from them), and the
events the gateway stamped with the wall clock during the run (online, offline, logout,
waybill) for the vehicles that have rows in the bench partition. A vehicle's live state comes
back with its next fix.

A bench that runs beside another passes its own `partition` name and days that do not overlap
the other's (a partition's range must not overlap another's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.backends.utils import CursorWrapper

from fleet.telemetry.schema import POSITIONS_TABLE

PARTITION = f"{POSITIONS_TABLE}_bench"


def _clear(cursor: CursorWrapper, start: dt.datetime, end: dt.datetime, partition: str,
           since: dt.datetime | None) -> None:
    days = [start, end]
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition])
    if since is not None and cursor.fetchone()[0]:
        cursor.execute("DELETE FROM fleet_terminaleventlog WHERE received_at >= %s "
                       "AND time >= %s AND vehicle_id IN "
                       f"(SELECT DISTINCT vehicle_id FROM {partition})", [since, since])
    cursor.execute(f"DROP TABLE IF EXISTS {partition}")
    cursor.execute("DELETE FROM fleet_terminaleventlog WHERE time >= %s AND time < %s", days)
    cursor.execute("DELETE FROM fleet_vehiclestate WHERE fix_time >= %s AND fix_time < %s", days)
    cursor.execute("DELETE FROM fleet_metertrip WHERE alighted_at >= %s AND alighted_at < %s",
                   days)  # posted through the ingest API by the soak's taxis
    # Card swipes: the bindings they opened, and a live state's driver taken from them.
    cursor.execute("DELETE FROM fleet_drivervehiclebinding WHERE source = 'card' "
                   "AND valid_from >= %s AND valid_from < %s", days)
    cursor.execute("UPDATE fleet_vehiclestate SET driver_id = NULL, last_event = '', "
                   "last_event_at = NULL WHERE last_event_at >= %s AND last_event_at < %s", days)
    # With the rules on: the bench's findings, and rule checkpoints that have seen its day (a
    # checkpoint "through 2030" would make the rules ignore every live fix of that vehicle).
    cursor.execute("DELETE FROM compliance_terminalwarning WHERE violation_id IN (SELECT id "
                   "FROM compliance_violation WHERE started_at >= %s AND started_at < %s)", days)
    cursor.execute("DELETE FROM compliance_violation WHERE started_at >= %s AND started_at < %s",
                   days)
    cursor.execute("DELETE FROM compliance_rulecheckpoint WHERE through >= %s AND through < %s",
                   days)


@contextmanager
def bench_days(start: dt.datetime, end: dt.datetime, *,
               partition: str = PARTITION) -> Iterator[None]:
    since = dt.datetime.now(dt.UTC)
    with connection.cursor() as cursor:
        _clear(cursor, start, end, partition, None)  # what an interrupted run left
        # Rows of these days in the DEFAULT partition (older bench versions) would forbid it.
        cursor.execute(f"DELETE FROM {POSITIONS_TABLE} WHERE fix_time >= %s AND fix_time < %s",
                       [start, end])
        cursor.execute(f"CREATE TABLE {partition} PARTITION OF {POSITIONS_TABLE} "
                       "FOR VALUES FROM (%s) TO (%s)", [start, end])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            _clear(cursor, start, end, partition, since)
