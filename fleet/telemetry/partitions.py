"""Daily partitions of the position table: created ahead, dropped after the retention period.

The table has a DEFAULT partition so a fix outside every daily range (a terminal with a wrong
clock, a very old backfill) is still stored rather than refused; maintenance keeps the daily
partitions far enough ahead that live data never lands there.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import connection

from fleet.telemetry.schema import POSITIONS_TABLE

_PARTITION_NAME = re.compile(rf"^{POSITIONS_TABLE}_p(\d{{8}})$")
# Partitions are cut at midnight in the bureau's time zone (days as users read them).
BUREAU_TZ = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class MaintenanceReport:
    created: list[str]
    dropped: list[str]


def partition_name(day: dt.date) -> str:
    return f"{POSITIONS_TABLE}_p{day:%Y%m%d}"


def existing_partitions() -> dict[dt.date, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s", [POSITIONS_TABLE])
        names = [row[0] for row in cursor.fetchall()]
    days = {}
    for name in names:
        match = _PARTITION_NAME.match(name)
        if match:
            days[dt.datetime.strptime(match.group(1), "%Y%m%d").date()] = name
    return days


def maintain_partitions(*, now: dt.datetime, ahead_days: int, retention_days: int,
                        ) -> MaintenanceReport:
    """Create partitions from today to ``ahead_days`` ahead; drop whole days older than the
    retention period. ``now`` is passed in so tests (and replays) control the clock."""
    today = now.astimezone(BUREAU_TZ).date()
    existing = existing_partitions()
    created, dropped = [], []
    with connection.cursor() as cursor:
        for offset in range(ahead_days + 1):
            day = today + dt.timedelta(days=offset)
            if day in existing:
                continue
            start = dt.datetime.combine(day, dt.time(), BUREAU_TZ)
            end = start + dt.timedelta(days=1)
            name = partition_name(day)
            cursor.execute(
                f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{POSITIONS_TABLE}" '
                "FOR VALUES FROM (%s) TO (%s)", [start, end])
            created.append(name)
        oldest_kept = today - dt.timedelta(days=retention_days)
        for day, name in sorted(existing.items()):
            if day < oldest_kept:
                cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
                dropped.append(name)
    return MaintenanceReport(created=created, dropped=dropped)
