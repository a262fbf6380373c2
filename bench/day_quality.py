"""Per vehicle and day quality figures (compliance.daily_quality.compute_day) against a bare scan.

    .venv/bin/python bench/day_quality.py [--vehicles 1000] [--every 30]

Demo scale is ~12k vehicles reporting every 30 s, ≈ 34M fixes a day: too much for a 2-core box
shared with others, so the bench takes a fraction (default 1,000 vehicles ≈ 2.9M fixes) and prints
rows/s, which is what scales. It runs in its own database (created, migrated, dropped at the end;
never the dev database): one day of synthetic fixes is generated server-side into that day's
partition, with drift fixes, reports without a position, silences of 10+ minutes and 3 km jumps,
so every branch of the computation has work. Then, in the same run:

1. Baseline: ``SELECT count(*)`` over the day's partition — a sequential scan, the least any
   per-day computation must read.
2. For reference, one bare LAG over (vehicle, fix_time) of the same rows: the sort every
   per-vehicle track figure needs, whatever else it computes.
3. ``compute_day`` (first run inserts the rows, second run updates them).

Prints the rates and the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

BENCH_DB = "bench_day_quality"
DAY = dt.date(2030, 1, 15)
DEFAULT_URL = "postgis://postgres:postgres@127.0.0.1:5432/fleetwatch"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_dsn(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))


def create_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_admin_dsn(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_admin_dsn(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def make_registry(vehicles: int) -> list[int]:
    from django.contrib.gis.geos import MultiPolygon, Polygon

    from fleet import validators
    from fleet.models import District, Enterprise, Vehicle

    ring = ((122.0, 41.0), (122.5, 41.0), (122.5, 41.5), (122.0, 41.5), (122.0, 41.0))
    district = District.objects.create(code="211199", name="基准区",
                                       boundary=MultiPolygon(Polygon(ring), srid=4326))
    code = "91211100000000001"
    enterprise = Enterprise.objects.create(
        name="基准运输公司", credit_code=code + validators.uscc_check_character(code),
        kind="taxi_company", district=district)
    Vehicle.objects.bulk_create(
        [Vehicle(plate=f"辽L{n:05d}", plate_colour=1, kind="taxi", enterprise=enterprise,
                 registered_district=district, seats=5) for n in range(vehicles)],
        batch_size=5000)
    return list(Vehicle.objects.values_list("pk", flat=True))


# Server-side generation: one row per vehicle and report time, every `every` seconds. Each
# vehicle drives to and fro along a parallel and parks between legs; modular tests sprinkle
# the quality problems.
_GENERATE = """
INSERT INTO telemetry_position (vehicle_id, fix_time, received_at, longitude, latitude,
    speed_kmh, heading, altitude, alarm, status, flags, source)
SELECT v, t, t + interval '1 second',
       CASE WHEN unpositioned THEN NULL
            ELSE 122.0 + (v %% 100) * 0.003 + jump * 0.03 + abs(leg - 100) * 0.0035 END,
       CASE WHEN unpositioned THEN NULL
            ELSE 41.1 + (v / 100) * 0.003 + CASE WHEN drift THEN 0.5 ELSE 0 END END,
       CASE WHEN s %% 240 < 200 THEN 35.0 ELSE 0.0 END, 90, 10, 0, 3,
       CASE WHEN unpositioned THEN 0 WHEN drift THEN %(drift_flags)s ELSE %(valid_flags)s END,
       512
FROM (
    SELECT v, s, %(start)s::timestamptz + s * %(every)s * interval '1 second' AS t,
           (v * 31 + s) %% 997 = 0 AS drift,
           (v * 17 + s) %% 503 = 0 AS unpositioned,
           ((v * 13 + s) / 1500) %% 2 AS jump,
           -- 200 steps driving ~290 m each (35 km/h), then 40 steps parked.
           least(s %% 240, 200) AS leg
    FROM unnest(%(vehicle_ids)s::bigint[]) AS v, generate_series(0, %(steps)s - 1) AS s
) g
-- A 12-minute silence now and then: online time and incomplete track both see gaps.
WHERE (v + s / 24) %% 40 <> 0
ORDER BY s, v  -- rows land in arrival order, as the pipeline writes them
"""


def generate(vehicle_ids: list[int], every: int) -> int:
    from django.db import connection

    from compliance.daily_quality import day_bounds
    from fleet.telemetry.schema import FLAG_DRIFT, FLAG_POSITIONED, FLAG_VALID

    start, _ = day_bounds(DAY)
    with connection.cursor() as cursor:
        cursor.execute(_GENERATE, {
            "start": start, "every": every, "steps": 86_400 // every,
            "vehicle_ids": vehicle_ids, "valid_flags": FLAG_POSITIONED | FLAG_VALID,
            "drift_flags": FLAG_POSITIONED | FLAG_DRIFT})
        return cursor.rowcount


def timed(function) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def bare_count(partition: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{partition}"')
        return cursor.fetchone()[0]


def ordered_pass(partition: str) -> int:
    """One LAG over (vehicle, fix_time): the sort every per-vehicle track figure needs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        cursor.execute(f"SELECT count(previous) FROM (SELECT lag(fix_time) OVER (PARTITION BY "
                       f'vehicle_id ORDER BY fix_time) AS previous FROM "{partition}") x')
        return cursor.fetchone()[0]


def run(vehicles: int, every: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from compliance.daily_quality import compute_day
    from compliance.models import VehicleDayQuality
    from fleet.telemetry.partitions import maintain_partitions, partition_name

    call_command("migrate", verbosity=0)
    maintain_partitions(now=dt.datetime.combine(DAY - dt.timedelta(days=1), dt.time(12),
                                                dt.UTC), ahead_days=2, retention_days=100_000)
    vehicle_ids = make_registry(vehicles)
    generate_s, rows = timed(lambda: generate(vehicle_ids, every))
    partition = partition_name(DAY)
    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM ANALYZE "{partition}"')  # hint bits and statistics, as in life
        cursor.execute(f"SELECT pg_size_pretty(pg_total_relation_size('\"{partition}\"'))")
        size = cursor.fetchone()[0]
    bare_count(partition)  # warm the cache: both measurements then read from memory
    count_s, counted = min((timed(lambda: bare_count(partition)) for _ in range(3)),
                           key=lambda pair: pair[0])
    assert counted == rows
    lag_s, _lagged = timed(lambda: ordered_pass(partition))
    first_s, written = timed(lambda: compute_day(DAY))
    again_s, rewritten = timed(lambda: compute_day(DAY))
    assert written == rewritten == VehicleDayQuality.objects.filter(day=DAY).count()

    print(f"day {DAY}: {rows:,} fixes of {vehicles:,} vehicles (1 per {every} s), partition "
          f"{size}; generated in {generate_s:.1f} s")
    print(f"baseline SELECT count(*) of the partition: {count_s:7.2f} s  "
          f"{rows / count_s:12,.0f} rows/s")
    print(f"compute_day, first run (insert):           {first_s:7.2f} s  "
          f"{rows / first_s:12,.0f} rows/s  ({written:,} vehicle rows)")
    print(f"compute_day, re-run (update):              {again_s:7.2f} s  "
          f"{rows / again_s:12,.0f} rows/s")
    print(f"reference: one LAG over (vehicle, time):   {lag_s:7.2f} s  "
          f"{rows / lag_s:12,.0f} rows/s")
    print(f"ratio compute_day / bare scan:             {again_s / count_s:7.1f}×")
    print(f"ratio compute_day / one LAG pass:          {again_s / lag_s:7.1f}×")
    demo_rows = 12_000 * 86_400 // 30
    print(f"at demo scale ({demo_rows:,} fixes) compute_day would take ≈ "
          f"{demo_rows / (rows / again_s) / 60:.1f} min on this box")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--every", type=int, default=30, help="seconds between reports")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    create_database(url)
    os.environ["DATABASE_URL"] = _with_database(url, BENCH_DB)
    try:
        import django

        django.setup()
        run(args.vehicles, args.every)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url)


if __name__ == "__main__":
    main()
