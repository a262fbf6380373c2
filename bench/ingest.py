"""Ingest pipeline throughput: bus → workers → PostGIS, against a bare binary COPY.

Run from the project root (the demo city must be loaded; `make run` does that):
    .venv/bin/python bench/ingest.py [--fixes 200000] [--workers 2] [--shards 8]

1. Baseline: the same rows binary-COPYed into an unpartitioned scratch copy of the position
   table (the least any store must do).
2. Pipeline: the rows as gateway records published to a private Redis Streams prefix while
   worker processes drain it; end-to-end rate (first publish → last commit) and the latency from
   a fix's `received_at` (set when it is published, as the gateway does on reading the frame) to
   its commit, p50 / p99.
Prints both rates and their ratio. Every loop is bounded; Redis keys and scratch rows are removed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import redis  # noqa: E402
from _scratch import bench_days  # noqa: E402  (bench/, next to this script)
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from fleet.gateway.records import Fix  # noqa: E402
from fleet.models import Vehicle  # noqa: E402
from fleet.telemetry.bus import StreamBus  # noqa: E402
from fleet.telemetry.processing import VehicleMemory, position_rows  # noqa: E402
from fleet.telemetry.store import COLUMNS, TYPES  # noqa: E402

CST = dt.timezone(dt.timedelta(hours=8))
# A day far from live data so the bench never collides with real fixes.
BENCH_DAY = dt.datetime(2030, 1, 1, tzinfo=CST)


def make_fixes(count: int, vehicle_ids: list[int]) -> list[Fix]:
    fixes = []
    for n in range(count):
        vehicle_id = vehicle_ids[n % len(vehicle_ids)]
        at = BENCH_DAY + dt.timedelta(seconds=10 * (n // len(vehicle_ids)) % 86_400)
        fixes.append(Fix("013900000000", vehicle_id, "", at, at, 41.1 + (n % 97) / 1e4,
                         122.0 + (n % 89) / 1e4, 42.0, 90, 5, 0, 3,
                         ((0x01, (n % 10**6).to_bytes(4, "big")),), (), False, n % 65536))
    return fixes


def baseline_copy(fixes: list[Fix]) -> float:
    rows = position_rows(fixes, VehicleMemory())
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_positions")
        cursor.execute("CREATE UNLOGGED TABLE bench_positions (LIKE telemetry_position "
                       "INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING INDEXES)")
    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    with raw.transaction(), raw.cursor() as cursor, cursor.copy(
            f"COPY bench_positions ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(TYPES)
        for row in rows:
            copy.write_row(row)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_positions")
    return len(rows) / elapsed


def run_worker(prefix: str, shards: int, target: int, queue: multiprocessing.Queue) -> None:
    from fleet.telemetry.leases import ShardLeases
    from fleet.telemetry.worker import PipelineWorker

    client = redis.Redis.from_url(settings.REDIS_URL)
    bus = StreamBus(client, shards=shards, prefix=prefix)
    leases = ShardLeases(client, worker_id=f"bench-{os.getpid()}", shards=shards, ttl_ms=5000,
                         prefix=prefix)
    worker = PipelineWorker(bus, leases, batch_size=1000)
    worker.tune_gc()
    deadline = time.monotonic() + 600
    idle_since = None
    while time.monotonic() < deadline:
        if worker.step():
            idle_since = None
            continue
        done = int(client.incrby(f"{prefix}:done", 0)) >= 1 and bus.backlog() == 0
        idle_since = idle_since or time.monotonic()
        if done and time.monotonic() - idle_since > 1.0:
            break
        time.sleep(0.01)
    leases.release_all()
    queue.put((worker.stats.new_fixes, list(worker.stats.latencies), time.time()))


def pipeline(fixes: list[Fix], workers: int, shards: int, rate: float | None,
             ) -> tuple[float, float, float, int]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    bus = StreamBus(client, shards=shards, prefix=prefix)
    bus.ensure_groups()
    connection.close()  # forked workers must not share the parent's socket
    queue: multiprocessing.Queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=run_worker, args=(prefix, shards, len(fixes),
                                                                   queue)) for _ in range(workers)]
    for process in processes:
        process.start()
    time.sleep(1.0)  # let the workers take their shards
    started = time.time()
    for offset in range(0, len(fixes), 500):
        if rate:  # paced: the latency then measures the pipeline, not a queue of the backlog
            time.sleep(max(0.0, started + offset / rate - time.time()))
        now = dt.datetime.now(dt.UTC)
        batch = [replace(f, received_at=now) for f in fixes[offset:offset + 500]]
        bus.publish(batch)
    client.incr(f"{prefix}:done")
    results = [queue.get(timeout=900) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    stored = sum(r[0] for r in results)
    finished = max(r[2] for r in results) - 1.0  # the workers idle 1 s before reporting
    latencies = sorted(x for r in results for x in r[1])
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    p50 = latencies[len(latencies) // 2] if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else float("nan")
    return stored / (finished - started), p50, p99, stored


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixes", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None,
                        help="publish at this many fixes/s instead of all at once")
    args = parser.parse_args()
    vehicle_ids = list(Vehicle.objects.values_list("pk", flat=True))
    if not vehicle_ids:
        sys.exit("load the demo city first (make run, or manage.py load_demo_city)")
    fixes = make_fixes(args.fixes, vehicle_ids)
    copy_rate = baseline_copy(fixes)
    with bench_days(BENCH_DAY, BENCH_DAY + dt.timedelta(days=1)):
        rate, p50, p99, stored = pipeline(fixes, args.workers, args.shards, args.rate)
    print(f"fixes: {len(fixes)} for {len(vehicle_ids)} vehicles; workers: {args.workers}; "
          f"shards: {args.shards}; publishing: {args.rate or 'all at once'} fixes/s")
    print(f"baseline bare binary COPY:  {copy_rate:10,.0f} rows/s")
    print(f"pipeline bus → PostGIS:     {rate:10,.0f} fixes/s  (stored {stored})")
    print(f"latency received → commit:  p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"ratio pipeline / COPY:      {rate / copy_rate:.3f}")


if __name__ == "__main__":
    main()
