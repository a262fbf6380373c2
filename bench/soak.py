"""Soak: the demo city's terminals (manage.py simulate) against the real pipeline; no fix lost.

Run from the project root with the demo city loaded:
    .venv/bin/python bench/soak.py [--minutes 10] [--share F] [--workers 1] [--seed 1]

Starts a gateway process and pipeline worker processes (`run_pipeline --batch 1000`, the
detection rules on, as deployed) on a private bus prefix and a free port, waits until the workers
hold every shard, then runs the simulator against the gateway in real time: every demo terminal
(or --share of them), the default misbehaving share and malformed-frame rate, simulated time
from START for --minutes. Once the simulator has stopped and the ingest streams are drained
(every entry acknowledged after its commit), compares what the terminals were promised with
what is stored:

* fixes accepted: the simulator's count of distinct (terminal, fix time) keys the gateway
  answered with 0, from 0x0200 reports and from inside 0x0704 blind-area batches; a fix re-sent
  after a lost link counts once, a malformed frame (refused by the gateway) not at all. Fixes
  still unanswered when a terminal stopped, refused (nacked) or whose answer timed out are
  counted apart: they may or may not be stored.
* stored: rows of the position table for the simulated vehicles in the run's time range (the
  store is idempotent on (vehicle, time), so a re-delivered fix is one row).

With nothing unanswered, refused or timed out, every stored row is an accepted fix, so
lost = accepted - stored exactly (0 is the requirement); otherwise the figure is a range.
Also printed: duplicates in the store, dead-lettered bus entries, rows outside the run, the
worker's received→commit latency p50/p99 (each worker keeps its last 200,000 fixes), the CPU time
of each part of the path (Redis and PostgreSQL are shared servers: other clients count too), the
gateway's refused-frame counts, and the simulator's own summary.

Fix times are on START's local day or the next (--start-hour), in a position partition of its
own dropped at the end with everything else the run wrote there (bench/_scratch.py); the run's
Redis keys are deleted. The database is DATABASE_URL's: point it at a bench copy of the demo
city rather than one you care about. The meter trips the taxis write and the misbehaviour
assignment go to a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from _scratch import bench_days  # noqa: E402  (bench/, next to this script)
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from ingest_tcp import cpu_snapshot, cpu_used, free_port, listening, wait_for_workers  # noqa: E402

from fleet.jt808 import CST, Jt808Error  # noqa: E402
from fleet.simulator.localtime import from_datetime, to_datetime  # noqa: E402
from fleet.simulator.runner import SimConfig, select  # noqa: E402
from fleet.simulator.world import load_world  # noqa: E402
from fleet.telemetry.bus import GROUP  # noqa: E402
from fleet.telemetry.schema import POSITIONS_TABLE  # noqa: E402

# A Thursday, outside the other benches' days (ingest_tcp: 2020-01-01..02), so both can run.
START = dt.datetime(2020, 1, 9, 8, 0, tzinfo=CST)
DAY = START.replace(hour=0)
PARTITION = f"{POSITIONS_TABLE}_soak"
SOURCES = {0x0200: "0x0200", 0x0201: "0x0201", 0x0704: "0x0704"}
LATENCY_KEPT = 200_000  # WorkerStats.latencies' length


@dataclass
class Run:
    terminals: int
    vehicles: list[int]
    sim_out: str
    sim_seconds: float
    drained_after: float
    metrics: str
    cpu: dict[str, float]
    dead_letters: int
    worker_outs: list[str]


def sim_figure(text: str, pattern: str) -> int:
    found = re.search(pattern, text)
    if found is None:
        sys.exit(f"the simulator's summary has no {pattern!r}:\n{text}")
    return int(found[1])


def codec_codes() -> set[str]:
    """The codes the gateway counts a malformed frame under (every Jt808Error's)."""
    codes, todo = set(), [Jt808Error]
    while todo:
        cls = todo.pop()
        codes.add(cls.default_code)
        todo.extend(cls.__subclasses__())
    return codes


def metric_samples(text: str, name: str) -> dict[str, float]:
    """label value → sample of one labelled Prometheus counter of the gateway."""
    return {m[1]: float(m[2]) for m in re.finditer(
        rf'^jt808_gateway_{name}{{\w+="([^"]*)"}} ([\d.e+-]+)$', text, re.MULTILINE)}


def wait_until_drained(client: redis.Redis, prefix: str, shards: int, deadline: float) -> bool:
    """Until every ingest stream is empty with nothing pending: a worker acknowledges and
    deletes entries only after their commit."""
    keys = [f"{prefix}:ingest:{shard}" for shard in range(shards)]
    while time.time() < deadline:
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.xlen(key)
            lengths = pipe.execute()
        if not any(lengths) and not any(client.xpending(key, GROUP)["pending"] for key in keys):
            return True
        time.sleep(0.1)
    return False


def run_simulator(manage: list[str], env: dict[str, str], args: argparse.Namespace, port: int,
                  scratch: Path, log: IO[str], web_port: int | None) -> subprocess.Popen[str]:
    command = [*manage, "simulate", "--port", str(port), "--seed", str(args.seed),
               "--duration", str(round(args.minutes * 60)),
               "--start", START.replace(tzinfo=None).isoformat(timespec="minutes"),
               "--assignment-file", str(scratch / "misbehaving.json")]
    if web_port is None:
        command += ["--meter-file", str(scratch / "meter_trips.jsonl")]
    else:  # posted to the ingest API as a taxi company's system does: no_meter sees them
        command += ["--ingest-url", f"http://127.0.0.1:{web_port}/api/v1/ingest/meter-trips",
                    "--ingest-key-file", str(scratch / "ingest.key")]
    if args.share is not None:
        command += ["--share", str(args.share)]
    if args.stepped:
        command += ["--stepped"]
    elif args.speedup != 1:
        command += ["--speedup", str(args.speedup)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, text=True)


def set_checkpoints_aside(vehicles: list[int]) -> list[tuple]:
    """The run's vehicles are judged from a fresh rule state. Their live checkpoints (from a
    `make run` on today's clock) are later than the soak's day, so the workers would restore
    them and take every soak fix for late data, judged by nobody: the detection figures came
    out near zero. They are put back after the run (a crash in between only makes those
    vehicles start afresh)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_rulecheckpoint WHERE vehicle_id = ANY(%s) "
                       "RETURNING vehicle_id, through, state, saved_at", [vehicles])
        return cursor.fetchall()


def put_checkpoints_back(vehicles: list[int], rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_rulecheckpoint WHERE vehicle_id = ANY(%s)",
                       [vehicles])  # the run's own
        cursor.executemany("INSERT INTO compliance_rulecheckpoint (vehicle_id, through, state, "
                           "saved_at) VALUES (%s, %s, %s, %s)", rows)


def soak(args: argparse.Namespace, scratch: Path, logs: dict[str, IO[str]]) -> Run:
    start = from_datetime(START.replace(tzinfo=None))
    world = load_world(to_datetime(start))
    chosen = select(world, SimConfig(start=start, seed=args.seed, share=args.share))
    vehicles = sorted({t.vehicle.id for t in chosen})
    del world
    port, metrics_port = free_port(), free_port()
    prefix = f"soak-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, BUS_PREFIX=prefix, DEBUG="0")  # as deployed
    manage = [sys.executable, str(ROOT / "manage.py")]
    gateway = subprocess.Popen([*manage, "run_gateway", "--host", "127.0.0.1", "--port",
                                str(port), "--metrics-port", str(metrics_port)], env=env,
                               stdout=logs["gateway"], stderr=subprocess.STDOUT)
    workers = [subprocess.Popen([*manage, "run_pipeline", "--batch", "1000"], env=env,
                                stdout=subprocess.PIPE, stderr=logs["workers"], text=True)
               for _ in range(args.workers)]
    web = web_port = None
    if args.detection:  # the meter trips' way in: the ingest API, with a key of its own
        subprocess.run([*manage, "ingest_source", "soak-bench", "--key-file",
                        str(scratch / "ingest.key")], env=env, check=True, capture_output=True)
        web_port = free_port()
        web = subprocess.Popen([str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1",
                                "-p", str(web_port), "config.asgi:application"], cwd=ROOT,
                               env=env, stdout=logs["gateway"], stderr=subprocess.STDOUT)
    client = redis.Redis.from_url(settings.REDIS_URL)
    simulator: subprocess.Popen[str] | None = None
    aside = set_checkpoints_aside(vehicles)
    try:
        for _ in range(1500):
            if listening(port) and (web_port is None or listening(web_port)):
                break
            time.sleep(0.2)
        wait_for_workers(client, prefix, args.workers, settings.PIPELINE_SHARDS)
        simulator = run_simulator(manage, env, args, port, scratch, logs["sim"], web_port)
        parts = {"bench": [os.getpid()], "gateway": [gateway.pid],
                 "workers": [w.pid for w in workers]}
        cpu_before = cpu_snapshot(parts, client)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.time()
        try:  # world loading, connection stagger and the terminals' last acks: 10 min at most
            sim_out = simulator.communicate(timeout=args.minutes * 60 / args.speedup + 600)[0]
        except subprocess.TimeoutExpired:
            sys.exit("the simulator did not finish in time")
        sim_seconds = time.time() - began
        if simulator.returncode:
            sys.exit(f"the simulator failed ({simulator.returncode}):\n{sim_out}")
        if not wait_until_drained(client, prefix, settings.PIPELINE_SHARDS, time.time() + 600):
            sys.exit("the ingest streams were not drained within 600 s")
        drained_after = time.time() - began - sim_seconds
        # The simulator has exited: its CPU is that of the one child reaped meanwhile.
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = {"simulator": reaped.ru_utime - children.ru_utime
               + reaped.ru_stime - children.ru_stime,
               **cpu_used(cpu_before, cpu_snapshot(parts, client))}
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        dead_letters = int(client.xlen(f"{prefix}:ingest:dead"))
    finally:
        for process in [p for p in (simulator,) if p is not None and p.poll() is None]:
            process.kill()
            process.wait(timeout=60)
        for process in (gateway, *workers):
            process.send_signal(signal.SIGTERM)
        worker_outs = [worker.communicate(timeout=120)[0] or "" for worker in workers]
        gateway.wait(timeout=60)
        if web is not None:
            web.terminate()
            web.wait(timeout=60)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        put_checkpoints_back(vehicles, aside)
    return Run(len(chosen), vehicles, sim_out, sim_seconds, drained_after, metrics, cpu,
               dead_letters, worker_outs)


def stored(vehicles: list[int], seconds: float) -> tuple[Counter[str], int, int, int]:
    """Rows of the run (by source), rows outside it, rows in all, duplicate keys."""
    end = START + dt.timedelta(seconds=seconds)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT source, count(*) FROM {PARTITION} WHERE vehicle_id = ANY(%s) "
            "AND fix_time >= %s AND fix_time <= %s GROUP BY source", [vehicles, START, end])
        by_source = Counter({SOURCES.get(source, hex(source)): n
                             for source, n in cursor.fetchall()})
        cursor.execute(f"SELECT count(*), count(DISTINCT (vehicle_id, fix_time)) "
                       f"FROM {PARTITION}")
        total, distinct = cursor.fetchone()
    return by_source, total - sum(by_source.values()), total, total - distinct


def doubtful(log: Path) -> set[tuple[int, int]]:
    """(vehicle, POSIX fix time) of every fix the simulator logged as in doubt."""
    keys: set[tuple[int, int]] = set()
    with log.open() as lines:
        for line in lines:
            found = re.search(r"fixes in doubt: \w+ vehicle (\d+) at ([\d,]+)", line)
            if found:
                keys.update((int(found[1]), int(t)) for t in found[2].split(","))
    return keys


def stored_of(keys: set[tuple[int, int]]) -> int:
    """How many of these (vehicle, POSIX time) keys have a row."""
    if not keys:
        return 0
    vehicles, times = zip(*sorted(keys), strict=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {PARTITION} p JOIN unnest(%s::bigint[], "
                       "%s::float8[]) AS d(v, t) ON p.vehicle_id = d.v "
                       "AND p.fix_time = to_timestamp(d.t)", [list(vehicles), list(times)])
        return cursor.fetchone()[0]


def latency(outputs: list[str]) -> list[tuple[int, float, float]]:
    """(new fixes, p50 s, p99 s) of each worker, from what it printed when it stopped."""
    out = []
    for text in outputs:
        new = re.search(r"new fixes (\d+)", text)
        found = re.search(r"p50 ([\d.e-]+) s, p99 ([\d.e-]+) s", text)
        if new and found:
            out.append((int(new[1]), float(found[1]), float(found[2])))
    return out


def detection(vehicles: list[int], seconds: float, assignment: Path) -> None:
    """What the rules found against what the simulator planted (its misbehaving.json), as
    bench/_planted.py prints it. With --detection the meter trips go through the ingest API
    (a daphne of the run's own), as a taxi company's system sends them, so no_meter is judged
    against them."""
    from _planted import print_detection

    ways_of = {row["plate"]: row["ways"] for row in
               json.loads(assignment.read_text(encoding="utf-8"))["misbehaving"]}
    end = START + dt.timedelta(seconds=seconds)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT ON (v.rule, p.plate) v.rule, p.plate, v.started_at, "
                       "v.ended_at, v.measured FROM compliance_violation v "
                       "JOIN fleet_vehicle p ON p.id = v.vehicle_id WHERE v.vehicle_id = ANY(%s) "
                       "AND v.started_at >= %s AND v.started_at < %s "
                       "ORDER BY v.rule, p.plate, v.started_at", [vehicles, START, end])
        found: dict[str, set[str]] = {}
        examples: dict[str, list[tuple[str, str]]] = {}
        for rule, plate, began, ended, measured in cursor.fetchall():
            found.setdefault(rule, set()).add(plate)
            until = f"{ended.astimezone(CST):%H:%M:%S}" if ended else ""
            examples.setdefault(rule, []).append(
                (plate, f"{began.astimezone(CST):%H:%M:%S}–{until} {measured}"))
    print_detection(ways_of, found, examples)


def report(args: argparse.Namespace, run: Run, scratch: Path) -> bool:
    s = run.sim_out
    accepted = sim_figure(s, r"fixes accepted (\d+)")
    nacked = sim_figure(s, r"nacked (\d+)")
    timed_out = sim_figure(s, r"ack timed out (\d+)")
    unconfirmed = sim_figure(s, r"unconfirmed at the end (\d+)")
    malformed_sent = int(m[1]) if (m := re.search(r"malformed (\d+)", s)) else 0
    by_source, outside, total, duplicates = stored(run.vehicles, args.minutes * 60)
    rows = sum(by_source.values())
    # Every stored row is an accepted fix or a doubtful one (refused, timed out, unanswered).
    # The simulator logs each doubtful fix: those stored are looked up, and the rest of the
    # rows must be the accepted fixes, all of them. Without the list the loss is a range.
    doubt = nacked + timed_out + unconfirmed
    keys = doubtful(scratch / "sim.log")
    doubt_stored = stored_of(keys)
    if len(keys) == doubt:
        low = high = accepted - (rows - doubt_stored)
        lost = str(low) if low >= 0 else f"none, but {-low} stored rows were never acknowledged"
    else:
        low, high = max(0, accepted - rows), max(0, accepted - rows + doubt)
        lost = f"between {low} and {high} ({doubt} fixes in doubt, {len(keys)} logged)"
    errors = metric_samples(run.metrics, "errors_total")
    published = metric_samples(run.metrics, "records_published_total")
    frames = metric_samples(run.metrics, "frames_total")
    codes = codec_codes()
    codec = {k: int(v) for k, v in errors.items() if k in codes}
    other = {k: int(v) for k, v in errors.items() if k not in codec}
    print(f"soak: {args.minutes:g} min of simulated time from "
          f"{START.isoformat(timespec='minutes')} "
          f"{'stepped' if args.stepped else f'at ×{args.speedup:g}'}, seed {args.seed}, "
          f"pipeline workers: {args.workers} (with rules, --batch 1000)")
    print(f"terminals: {run.terminals}")
    print(f"fixes acknowledged (distinct terminal and fix time, 0x0200 + 0x0704): {accepted}; "
          f"refused {nacked}, ack timed out {timed_out}, unanswered at the end {unconfirmed}")
    print(f"in doubt (refused, timed out or unanswered, so perhaps stored): {doubt}, "
          f"of which stored: {doubt_stored}")
    print(f"stored: {rows} (" + ", ".join(f"{k} {v}" for k, v in sorted(by_source.items()))
          + f"); rows outside the run's vehicles and times: {outside}")
    print(f"lost: {lost}")
    print(f"duplicates in the store: {duplicates} (of {total} rows); dead-lettered bus entries: "
          f"{run.dead_letters}")
    print(f"gateway: frames {', '.join(f'{k} {int(v)}' for k, v in sorted(frames.items()))}; "
          f"fixes published {int(published.get('Fix', 0))} (re-sends included)")
    print(f"refused frames (malformed): {sum(codec.values())} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(codec.items())) or 'none'}); "
          f"malformed frames the simulator sent: {malformed_sent}; other gateway errors: "
          + (", ".join(f"{k} {v}" for k, v in sorted(other.items())) or "none"))
    for n, (new, p50, p99) in enumerate(latency(run.worker_outs), 1):
        over = "the whole run" if new <= LATENCY_KEPT else f"its last {LATENCY_KEPT:,} fixes"
        print(f"latency received → commit, worker {n}: p50 {p50 * 1000:.0f} ms, "
              f"p99 {p99 * 1000:.0f} ms over {over} ({new} new fixes)")
    print(f"CPU in the run ({run.sim_seconds:.0f} s simulator + {run.drained_after:.1f} s to "
          f"drain, × {os.cpu_count()} cores): "
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.cpu.items())
          + f"; µs per stored fix: {sum(run.cpu.values()) / max(rows, 1) * 1e6:.0f}")
    print("simulator summary:\n  " + "\n  ".join(s.strip().splitlines()))
    if args.detection:
        detection(run.vehicles, args.minutes * 60, scratch / "misbehaving.json")
    ok = high == 0 and duplicates == 0 and run.dead_letters == 0 and outside == 0
    if not ok:
        print(f"NOT PASSED: logs kept in {scratch}")
    return ok


def main() -> None:
    global START
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--share", type=float, default=None,
                        help="drive this share (0-1) of the terminals (default: all)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--speedup", type=float, default=1.0,
                      help="simulated seconds per real second (default: real time)")
    pace.add_argument("--stepped", action="store_true",
                      help="no waiting: the terminals send as fast as acknowledgements allow")
    parser.add_argument("--detection", action="store_true",
                        help="also compare the violations found with what was planted")
    parser.add_argument("--start-hour", type=int, default=START.hour, choices=range(24),
                        help="simulated start hour on the soak's day (the run may go on into "
                             "the next day: e.g. 20 with --minutes 600 covers the night)")
    args = parser.parse_args()
    START = START.replace(hour=args.start_hour)  # read by the steps above
    if args.stepped:
        args.speedup = 1.0  # the timeout then allows the simulated duration in real time
    scratch = Path(tempfile.mkdtemp(prefix="soak-"))
    with contextlib.ExitStack() as files, \
            bench_days(DAY, DAY + dt.timedelta(days=2), partition=PARTITION):
        logs = {name: files.enter_context(open(scratch / f"{name}.log", "w"))
                for name in ("gateway", "workers", "sim")}
        run = soak(args, scratch, logs)
        ok = report(args, run, scratch)
    if ok:
        shutil.rmtree(scratch)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
