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
import asyncio
import collections
import datetime as dt
import math
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import redis  # noqa: E402
from _scratch import bench_days  # noqa: E402  (bench/, next to this script)
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from config import native  # noqa: E402
from fleet.gateway.records import Fix  # noqa: E402
from fleet.models import Vehicle  # noqa: E402
from fleet.telemetry.bus import StreamBus  # noqa: E402
from fleet.telemetry.processing import VehicleMemory, position_rows  # noqa: E402
from fleet.telemetry.schema import POSITIONS_TABLE  # noqa: E402
from fleet.telemetry.store import COLUMNS, TYPES  # noqa: E402
from fleet.telemetry.wire import BusRecord  # noqa: E402

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


def baseline_copy(records: Sequence[BusRecord]) -> float:
    rows = position_rows([r for r in records if isinstance(r, Fix)], VehicleMemory())
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


# The rules judge fixes against the time they were received: a bench day in the future would
# make every fix invalid (RULES.md §3), so the rules comparison runs on a past day of its own.
RULES_DAY = dt.datetime(2025, 1, 6, 8, tzinfo=CST)


def make_tracks(count: int, vehicle_ids: list[int]) -> list[Fix]:
    """Fixes of vehicles driving straight lines across the city at 40 km/h, one every 10 s —
    one in twenty at 95 km/h — so the rules see real movement (roads, zones, clocks)."""
    fixes = []
    for n in range(count):
        index = n % len(vehicle_ids)
        step = n // len(vehicle_ids)
        speed = 95.0 if index % 20 == 0 else 40.0
        heading = math.radians((index * 37) % 360)
        metres = step * speed / 3.6 * 10
        lat = 40.95 + (index * 7919 % 3000) / 10_000 + metres * math.cos(heading) / 111_320
        lon = 121.85 + (index * 104_729 % 4000) / 10_000 + metres * math.sin(heading) / 84_000
        at = RULES_DAY + dt.timedelta(seconds=10 * step)
        fixes.append(Fix("013900000000", vehicle_ids[index], "", at, at, lat, lon, speed,
                         (index * 37) % 360, 5, 0, 3, ((0x01, step.to_bytes(4, "big")),), (),
                         False, n % 65536))
    return fixes


def make_city_traffic(count: int) -> list[BusRecord]:
    """The demo city's own traffic from the simulator's plans (what `manage.py simulate`
    sends, planted misbehaviour at its default share included), as the gateway and the ingest
    API would publish it (bench/_city.py): every terminal from RULES_DAY on, merged in time
    order, until `count` fixes (about 15 minutes of the whole city for 360,000). Vehicles
    drive the road graph, buses their lines and trucks their waybill routes, so places, zones
    and findings come at the city's rate, where make_tracks' straight lines leave roads and
    lines all the time. With the fixes: driver cards (applied by the worker as live) and the
    taxis' meter trips (without them every loaded taxi is a no_meter finding)."""
    from _city import as_records, city, planned

    from fleet.simulator.plan import Fix as PlannedFix

    records: list[BusRecord] = []
    fixes = 0
    for serial, (_, terminal, item) in enumerate(planned(city(RULES_DAY))):
        if fixes >= count:
            break
        fixes += isinstance(item, PlannedFix)
        records += as_records(terminal, item, serial % 65536)
    return records


def run_worker(prefix: str, shards: int, target: int, queue: multiprocessing.Queue,
               rules: bool = False, ready: multiprocessing.Queue | None = None) -> None:
    from fleet.telemetry.leases import ShardLeases
    from fleet.telemetry.worker import PipelineWorker

    client = redis.Redis.from_url(settings.REDIS_URL)
    bus = StreamBus(client, shards=shards, prefix=prefix)
    leases = ShardLeases(client, worker_id=f"bench-{os.getpid()}", shards=shards, ttl_ms=5000,
                         prefix=prefix)
    detector = None
    if rules:
        from compliance.runtime.detector import Detector

        detector = Detector(send_warnings=False, restore=False)
    worker = PipelineWorker(bus, leases, batch_size=1000, rules=detector)
    worker.tune_gc()
    if ready is not None:
        ready.put(os.getpid())  # loaded (registry facts for the rules): the clock may start
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    deadline = time.monotonic() + 600
    idle_since = None
    measuring = False
    warm_fixes, cpu, db_cpu = 0, time.process_time(), cpu_seconds(backend)
    stages_before: dict[str, float] = {}
    while time.monotonic() < deadline:
        if worker.step():
            idle_since = None
            continue
        if not measuring and client.exists(f"{prefix}:measure"):
            # The warm-up is processed: what follows is measured (its fixes, latencies, CPU).
            worker.stats.latencies.clear()
            warm_fixes, cpu, db_cpu = (worker.stats.new_fixes, time.process_time(),
                                       cpu_seconds(backend))
            stages_before = dict(detector.stage_cpu) if detector is not None else {}
            measuring = True
            client.incr(f"{prefix}:measuring")
        done = int(client.incrby(f"{prefix}:done", 0)) >= 1 and bus.backlog() == 0
        idle_since = idle_since or time.monotonic()
        if done and time.monotonic() - idle_since > 1.0:
            break
        time.sleep(0.01)
    leases.release_all()
    # CPU of this worker (all its threads) and of its database backend while measured.
    used = (time.process_time() - cpu, cpu_seconds(backend) - db_cpu)
    stages = {}
    if detector is not None:  # the rule stage's own CPU by step, measured part only
        stages = {step: seconds - stages_before.get(step, 0.0)
                  for step, seconds in detector.stage_cpu.items()}
    queue.put((worker.stats.new_fixes - warm_fixes, list(worker.stats.latencies), time.time(),
               used, stages))


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process on this machine (a PostgreSQL backend: the database
    must be local, as in every bench here)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_balanced(client: redis.Redis, prefix: str, shards: int, workers: int) -> None:
    """Publish only once every worker holds its fair share of the shards. The first worker up
    takes all of them and gives the surplus back at its next heartbeat; publishing before that
    gave one worker 60-70 % of the fixes (and, with the rules on, dropped the states of the
    vehicles whose shard moved), which made runs differ by ±15 points."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        owners = [client.get(f"{prefix}:lease:{shard}") for shard in range(shards)]
        counts = collections.Counter(owners)
        if None not in counts and len(counts) == workers and (
                max(counts.values()) - min(counts.values()) <= 1):
            return
        time.sleep(0.1)
    sys.exit(f"the workers did not share the {shards} shards within 30 s: {counts}")


@dataclass(frozen=True)
class Run:
    rate: float  # fixes/s
    p50: float  # received → commit, seconds
    p99: float
    stored: int
    worker_us: float  # CPU per fix of the workers (every thread)
    database_us: float  # CPU per fix of their PostgreSQL backends
    # With the rules: CPU per fix of the workers' rule stage, by step (Detector.stage_cpu).
    stage_us: dict[str, float]
    measured_from: float  # time.time() when the measured fixes began to be published

    @property
    def cpu_us(self) -> float:
        return self.worker_us + self.database_us


def pipeline(fixes: Sequence[BusRecord], workers: int, shards: int, rate: float | None,
             rules: bool = False, warm_up: Sequence[BusRecord] = ()) -> Run:
    """Throughput and commit latency of ``fixes`` through the workers; ``warm_up`` (the data
    just before) is processed first, untimed, so the measured part meets the workers in their
    running state: every vehicle's rule state built, the place caches filled."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    bus = StreamBus(client, shards=shards, prefix=prefix)
    bus.ensure_groups()
    connection.close()  # forked workers must not share the parent's socket
    queue: multiprocessing.Queue = multiprocessing.Queue()
    ready: multiprocessing.Queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=run_worker, args=(prefix, shards, len(fixes),
                                                                   queue, rules, ready))
                 for _ in range(workers)]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)  # start-up (and the rules' registry load) is not throughput
    wait_balanced(client, prefix, shards, workers)
    for offset in range(0, len(warm_up), 500):
        now = dt.datetime.now(dt.UTC)
        bus.publish([replace(f, received_at=now) for f in warm_up[offset:offset + 500]])
    while bus.backlog():
        time.sleep(0.2)
    client.set(f"{prefix}:measure", 1)
    deadline = time.monotonic() + 60
    while int(client.get(f"{prefix}:measuring") or 0) < workers:
        if time.monotonic() > deadline:
            sys.exit("the workers did not start measuring within 60 s (one died?)")
        time.sleep(0.05)
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
    per_fix = 1e6 / max(stored, 1)
    stage_us: dict[str, float] = collections.Counter()
    for result in results:
        stage_us.update({step: seconds * per_fix for step, seconds in result[4].items()})
    return Run(stored / (finished - started), p50, p99, stored,
               sum(r[3][0] for r in results) * per_fix, sum(r[3][1] for r in results) * per_fix,
               dict(stage_us), started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixes", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None,
                        help="publish at this many fixes/s instead of all at once")
    parser.add_argument("--repeat", type=int, default=3,
                        help="with --rules: alternate rules off / on this many times")
    parser.add_argument("--rules", action="store_true",
                        help="moving vehicles, pipeline with the rules off then on, and the "
                             "delay from a fix to its alert on the feed")
    parser.add_argument("--traffic", choices=("lines", "city"), default="lines",
                        help="with --rules: vehicles on straight lines across the city, off "
                             "roads and lines (a stress case: ~10x the findings), or the "
                             "demo city's simulated traffic")
    parser.add_argument("--warm-up", type=int, default=0, metavar="FIXES",
                        help="with --rules: first send this many fixes (the data just before "
                             "the measured ones), untimed, so the measured part meets running "
                             "workers (vehicle states built, caches filled), not a cold start")
    args = parser.parse_args()
    if args.rules:
        rules_comparison(args)
        return
    vehicle_ids = list(Vehicle.objects.values_list("pk", flat=True))
    if not vehicle_ids:
        sys.exit("load the demo city first (make run, or manage.py load_demo_city)")
    fixes = make_fixes(args.fixes, vehicle_ids)
    copy_rate = baseline_copy(fixes)
    with bench_days(BENCH_DAY, BENCH_DAY + dt.timedelta(days=1)):
        run = pipeline(fixes, args.workers, args.shards, args.rate)
    rate, p50, p99, stored = run.rate, run.p50, run.p99, run.stored
    print(f"fixes: {len(fixes)} for {len(vehicle_ids)} vehicles; workers: {args.workers}; "
          f"shards: {args.shards}; publishing: {args.rate or 'all at once'} fixes/s")
    print(f"baseline bare binary COPY:  {copy_rate:10,.0f} rows/s")
    print(f"pipeline bus → PostGIS:     {rate:10,.0f} fixes/s  (stored {stored})")
    print(f"latency received → commit:  p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print(f"ratio pipeline / COPY:      {rate / copy_rate:.3f}")
    print(f"CPU per fix:                workers {run.worker_us:.0f} µs, "
          f"database {run.database_us:.0f} µs")


def listen_alerts(stop: threading.Event, received: list[tuple[float, dict]]) -> None:
    """Joins the alert group, as a bureau browser's socket does, and notes when each alert
    came."""
    from channels.layers import get_channel_layer

    from compliance.live import ALERTS

    async def listen() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(ALERTS, channel)
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(layer.receive(channel), 0.5)
            except TimeoutError:
                continue
            arrived = time.time()
            received.extend((arrived, violation) for violation in message["violations"])
        await layer.group_discard(ALERTS, channel)

    asyncio.run(listen())


def alert_delays(received: list[tuple[float, dict]]) -> list[float]:
    """Seconds from the fix that made each overspeed episode a violation reaching the pipeline
    (its received_at, set when published to the bus as the gateway does) to the alert reaching
    a browser's group. That fix is the vehicle's last one received before the batch that wrote
    the violation began (``detected_at`` is that transaction's start). Taking "the fix 30 s
    after the start" instead was wrong whenever a fix inside the run was not over its limit (off
    any road, or under a higher one): the violation then came one or more fixes later, and
    the bench counted the 4 s between one vehicle's fixes at 3,000 fixes/s as pipeline delay
    (a p99 of 8 s). Exact when the pipeline
    keeps up (paced runs, ``--rate``: the goal's setting); with everything published at once a
    vehicle's later fixes may already be queued, and the figure is a lower bound."""
    plates = dict(Vehicle.objects.values_list("plate", "pk"))
    delays = []
    with connection.cursor() as cursor:
        for arrived, alert in received:
            vehicle_id = plates.get(alert.get("plate"))
            if alert.get("rule") != "overspeed" or vehicle_id is None:
                continue
            cursor.execute(f"SELECT max(received_at) FROM {POSITIONS_TABLE} WHERE vehicle_id = %s "
                           "AND received_at <= %s",
                           [vehicle_id, dt.datetime.fromisoformat(alert["detected_at"])])
            row = cursor.fetchone()
            if row is not None and row[0] is not None:
                delays.append(arrived - row[0].timestamp())
    return sorted(delays)


def rules_run(fixes: Sequence[BusRecord], args: argparse.Namespace, rules: bool,
              warm_up: Sequence[BusRecord] = (),
              ) -> tuple[Run, list[tuple[str, int]], list[float]]:
    """One pipeline run on the rules' day: (the run, violations by rule, alert delays);
    the day is cleared before and after, so every run starts from the same state."""
    received: list[tuple[float, dict]] = []
    stop = threading.Event()
    listener = threading.Thread(target=listen_alerts, args=(stop, received), daemon=True)
    if rules:
        listener.start()
        time.sleep(0.5)
    found: list[tuple[str, int]] = []
    delays: list[float] = []
    with bench_days(RULES_DAY, RULES_DAY + dt.timedelta(days=1)):
        run = pipeline(fixes, args.workers, args.shards, args.rate, rules=rules,
                       warm_up=warm_up)
        if rules:
            time.sleep(1.0)  # the last alerts in flight
            stop.set()
            listener.join(timeout=5)
            with connection.cursor() as cursor:
                cursor.execute("SELECT rule, count(*) FROM compliance_violation "
                               "WHERE started_at >= %s AND started_at < %s GROUP BY rule "
                               "ORDER BY 2 DESC", [RULES_DAY, RULES_DAY + dt.timedelta(days=1)])
                found = cursor.fetchall()
            # The measured part's alerts: the warm-up's are of a backlog, not of the pipeline.
            delays = alert_delays([(arrived, alert) for arrived, alert in received
                                   if arrived >= run.measured_from])
    return run, found, delays


def describe_stages(stage_us: dict[str, float]) -> str:
    """The rule stage's steps in µs of worker CPU per fix, and their sum."""
    steps = " + ".join(f"{step} {us:.1f}" for step, us in stage_us.items())
    return f"{steps} = {sum(stage_us.values()):.1f} µs"


def median_stages(runs: list[dict[str, float]]) -> dict[str, float]:
    return {step: statistics.median(run.get(step, 0.0) for run in runs) for step in runs[0]}


def split_after_fixes(records: Sequence[BusRecord], count: int,
                      ) -> tuple[Sequence[BusRecord], Sequence[BusRecord]]:
    """The records up to the ``count``-th fix, and the rest."""
    if count <= 0:
        return (), records
    seen = 0
    for index, record in enumerate(records):
        seen += isinstance(record, Fix)
        if seen == count:
            return records[:index + 1], records[index + 1:]
    return records, ()


def rules_comparison(args: argparse.Namespace) -> None:
    """Rules off and on, alternated ``--repeat`` times: on this shared 2-core machine one pair
    of runs can differ by ±15 points, so the figure is the median of the pairs."""
    vehicle_ids = list(Vehicle.objects.order_by("pk").values_list("pk", flat=True))
    if not vehicle_ids:
        sys.exit("load the demo city first (make run, or manage.py load_demo_city)")
    everything = (make_city_traffic(args.warm_up + args.fixes) if args.traffic == "city"
                  else make_tracks(args.warm_up + args.fixes, vehicle_ids))
    warm_up, fixes = split_after_fixes(everything, args.warm_up)
    copy_rate = baseline_copy(fixes)
    fix_count = sum(isinstance(f, Fix) for f in fixes)
    others = f" and {len(fixes) - fix_count} card, alarm and meter records" \
        if len(fixes) > fix_count else ""
    print(f"fixes: {fix_count}{others} of {len({f.vehicle_id for f in fixes})} vehicles "
          f"({args.traffic} traffic); workers: {args.workers}; "
          f"publishing: {args.rate or 'all at once'} fixes/s; rules "
          f"{'compiled (mypyc)' if native.in_use() else 'interpreted'}")
    if warm_up:
        print(f"warm-up: the {args.warm_up} fixes before them, processed first, untimed")
    print(f"baseline bare binary COPY:  {copy_rate:10,.0f} rows/s")
    costs, ons, offs, cpu_costs = [], [], [], []
    stages: list[dict[str, float]] = []
    for n in range(1, args.repeat + 1):
        off_run, _, _ = rules_run(fixes, args, rules=False, warm_up=warm_up)
        on_run, found, delays = rules_run(fixes, args, rules=True, warm_up=warm_up)
        off, on = off_run.rate, on_run.rate
        offs.append(off)
        ons.append(on)
        costs.append(1 - on / off)
        # The same comparison in CPU per fix (workers and their database backends): steadier
        # than throughput on a shared machine, and it says where the rules' cost lies.
        cpu_costs.append(1 - off_run.cpu_us / on_run.cpu_us)
        print(f"run {n}: rules off {off:8,.0f} fixes/s (commit p50 {off_run.p50 * 1000:.0f} ms, "
              f"p99 {off_run.p99 * 1000:.0f} ms); rules on {on:8,.0f} fixes/s (commit p50 "
              f"{on_run.p50 * 1000:.0f} ms, p99 {on_run.p99 * 1000:.0f} ms); "
              f"rules cost {costs[-1] * 100:.1f} %")
        print(f"       CPU per fix, workers + database: rules off {off_run.worker_us:.0f} + "
              f"{off_run.database_us:.0f} µs, rules on {on_run.worker_us:.0f} + "
              f"{on_run.database_us:.0f} µs; rules cost {cpu_costs[-1] * 100:.1f} % of it")
        stages.append(on_run.stage_us)
        print(f"       rule stage CPU per fix: {describe_stages(on_run.stage_us)}")
    print(f"pipeline, rules off:        {statistics.median(offs):10,.0f} fixes/s (median)")
    print(f"pipeline, rules on:         {statistics.median(ons):10,.0f} fixes/s (median)")
    print(f"rules cost:                 {statistics.median(costs) * 100:.1f} % of throughput "
          f"(median of {len(costs)}; runs {', '.join(f'{c * 100:.0f}' for c in costs)}); "
          f"ratio rules-on / COPY {statistics.median(ons) / copy_rate:.3f}")
    print(f"rules cost in CPU per fix:  {statistics.median(cpu_costs) * 100:.1f} % (median; "
          f"runs {', '.join(f'{c * 100:.0f}' for c in cpu_costs)})")
    print(f"rule stage CPU per fix:     {describe_stages(median_stages(stages))} (median)")
    print(f"violations found (last run): "
          f"{', '.join(f'{rule} {n}' for rule, n in found) or 'none'}")
    if delays:
        print(f"fix received → alert on the feed (overspeed, {len(delays)} alerts, last run): "
              f"p50 {delays[len(delays) // 2] * 1000:.0f} ms, "
              f"p99 {delays[int(len(delays) * 0.99)] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
