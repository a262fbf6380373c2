"""Where the ingest benches put what they write: a partition of the position table of their
own for the bench's day (created for the run, dropped after it), so bench rows never mix with
live data, never bloat the DEFAULT partition over repeated runs, and go through the same
partition routing as live rows. The latest states, violations and rule checkpoints the bench
set (times on its day) are removed at the end; a vehicle's live state comes back with its next
fix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.backends.utils import CursorWrapper

from fleet.telemetry.schema import POSITIONS_TABLE

PARTITION = f"{POSITIONS_TABLE}_bench"


def _clear(cursor: CursorWrapper, start: dt.datetime, end: dt.datetime) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {PARTITION}")
    cursor.execute("DELETE FROM fleet_vehiclestate WHERE fix_time >= %s AND fix_time < %s",
                   [start, end])
    # With the rules on: the bench's findings, and rule checkpoints that have seen its day (a
    # checkpoint "through 2030" would make the rules ignore every live fix of that vehicle).
    cursor.execute("DELETE FROM compliance_violation WHERE started_at >= %s AND started_at < %s",
                   [start, end])
    cursor.execute("DELETE FROM compliance_rulecheckpoint WHERE through >= %s AND through < %s",
                   [start, end])


@contextmanager
def bench_days(start: dt.datetime, end: dt.datetime) -> Iterator[None]:
    with connection.cursor() as cursor:
        _clear(cursor, start, end)  # what an interrupted run left
        # Rows of these days in the DEFAULT partition (older bench versions) would forbid it.
        cursor.execute(f"DELETE FROM {POSITIONS_TABLE} WHERE fix_time >= %s AND fix_time < %s",
                       [start, end])
        cursor.execute(f"CREATE TABLE {PARTITION} PARTITION OF {POSITIONS_TABLE} "
                       "FOR VALUES FROM (%s) TO (%s)", [start, end])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            _clear(cursor, start, end)
