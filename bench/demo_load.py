"""Time ``load_demo_city`` against a physical baseline: a bare COPY of as many rows.

    .venv/bin/python bench/demo_load.py --scale 1 --replace

Runs against the configured database (DATABASE_URL) and REPLACES its fleet registry, hence the
required ``--replace``. The baseline copies the same number of rows (six columns, one of them a
point geometry) into a temporary table with psycopg's COPY, in the same run, so the ratio says how
far the loader is from what the machine can physically write.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def copy_baseline(rows: int) -> float:
    """Seconds to COPY ``rows`` rows into a temporary table (dropped afterwards)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_copy (id bigint, name text, code text, "
                       "n integer, at timestamptz, location geometry(Point, 4326)) "
                       "ON COMMIT DROP")
        at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        started = time.perf_counter()
        with cursor.cursor.copy("COPY bench_copy FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row((i, f"名称{i}", f"{i:018d}", i % 1000, at,
                                f"SRID=4326;POINT({122 + i % 1000 / 5000} {41 + i % 997 / 5000})"))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replace", action="store_true", required=True,
                        help="confirm that the database's fleet registry may be replaced")
    args = parser.parse_args()

    import django

    django.setup()
    from django.utils import timezone

    from fleet.demo import DemoSpec, load_demo_city

    spec = DemoSpec(scale=args.scale, seed=args.seed, as_of=timezone.localdate())
    started = time.perf_counter()
    report = load_demo_city(spec, replace=True)
    load_seconds = time.perf_counter() - started
    rows = sum(report.inserted.values())
    copy_seconds = copy_baseline(rows)
    print(f"load_demo_city scale {args.scale:g}: {rows:,} rows in {load_seconds:.1f} s "
          f"({rows / load_seconds:,.0f} rows/s)")
    print(f"COPY baseline:            {rows:,} rows in {copy_seconds:.1f} s "
          f"({rows / copy_seconds:,.0f} rows/s)")
    print(f"loader / COPY: {load_seconds / copy_seconds:.1f}×")


if __name__ == "__main__":
    main()
