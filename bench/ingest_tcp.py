"""End-to-end ingest over real TCP: terminals → gateway → Redis Streams → worker → PostGIS.

Run from the project root with the demo city loaded:
    .venv/bin/python bench/ingest_tcp.py [--terminals 2000] [--fixes-each 50] [--window 4]
        [--workers 1] [--gateway-processes 1] [--rate FIXES_PER_S] [--no-rules]

Starts gateway process(es) (several share the port with SO_REUSEPORT) and pipeline worker
processes on a private bus prefix, waits until the workers hold every shard, opens --terminals
real connections (registry terminals, authenticated with their codes) and sends --fixes-each
0x0200 reports per terminal in rounds of --window frames, each round waiting for its 0x8001
answers. Frames are encoded before the clock starts (the load generator shares the CPU with
what it measures, so it does as little as a real TCP sender can). --rate paces the sending for
a latency measurement; by default every terminal sends as fast as its answers come back.

Reports fixes/s from the first frame sent to the last row committed (the streams are empty only
once every entry was acknowledged after its commit; the row count is then checked), the
worker's received→commit latency p50/p99, and, in the same run, a bare binary COPY of the same
number of rows (the physical baseline) with the ratio, and the CPU time each part of the path
used during the run (load generator, gateway, workers, Redis, PostgreSQL). Workers run the
detection rules unless --no-rules (then the figure is the ingest path alone). Fix times are on
2020-01-01, in a partition of their own dropped at the end (bench/_scratch.py). The database is
DATABASE_URL's: point it at a bench copy of the demo city rather than one you care about.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from _scratch import bench_days  # noqa: E402  (bench/, next to this script)
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from fleet.jt808 import CST, Auth, Header, Location, encode_message  # noqa: E402
from fleet.models import Terminal  # noqa: E402
from fleet.telemetry.store import COLUMNS, TYPES  # noqa: E402

DAY = dt.datetime(2020, 1, 1, tzinfo=CST)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def frames_for(sim: str, code: str, fixes: int, index: int) -> tuple[bytes, list[bytes]]:
    """The authentication frame and every report of one terminal, encoded up front."""
    auth = encode_message(Header(0x0102, sim, 1), Auth(code))
    reports = []
    for n in range(fixes):
        at = DAY + dt.timedelta(seconds=10 * n)
        reports.append(encode_message(Header(0x0200, sim, (n + 2) & 0xFFFF), Location.at(
            latitude=41.1 + (index % 100) / 1e3, longitude=122.0 + (n % 100) / 1e3,
            speed_kmh=40.0, direction=90, altitude=5, time=at, status=0x3)))
    return auth, reports


# Every 0x8001 frame starts with these bytes: the delimiter then the message id, which is never
# escaped. Inside a frame 0x7E is always escaped, so counting them counts answers.
_ANSWER = b"\x7e\x80\x01"


class TerminalClient(asyncio.Protocol):
    """One terminal: authenticate, then send its reports in rounds of `window` frames, each
    round once the previous one is answered. Counts answers without decoding them (the rows
    stored at the end show that every report was accepted)."""

    def __init__(self, auth: bytes, reports: list[bytes], window: int, pace: Pace | None,
                 done: asyncio.Future[int]) -> None:
        self.rounds = [b"".join(reports[i:i + window]) for i in range(0, len(reports), window)]
        self.sizes = [min(window, len(reports) - i) for i in range(0, len(reports), window)]
        self.auth = auth
        self.pace = pace
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.expected = 1  # the authentication's answer
        self.answered = 0
        self.sent = 0
        self.tail = b""
        self.next_round = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.auth)

    def data_received(self, data: bytes) -> None:
        chunk = self.tail + data
        self.answered += chunk.count(_ANSWER)
        self.tail = chunk[-2:]  # an answer split across reads is counted with the next one
        if self.answered >= self.expected:
            self.send_round()

    def send_round(self) -> None:
        assert self.transport is not None
        if self.next_round == len(self.rounds):
            self.transport.close()
            if not self.done.done():
                self.done.set_result(self.sent)
        elif self.pace is None:
            self.send_now()
        else:
            self.pace.request(self.sizes[self.next_round], self)

    def send_now(self) -> None:
        assert self.transport is not None
        size = self.sizes[self.next_round]
        self.transport.write(self.rounds[self.next_round])
        self.next_round += 1
        self.sent += size
        self.expected += size

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"gateway closed the connection ({exc})"))


class Pace:
    """Spreads sending over time at `rate` frames/s across all terminals (latency runs):
    rounds are let go first come, first served, as the clock allows."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.started = time.monotonic()
        self.granted = 0
        self.waiting: deque[tuple[TerminalClient, int]] = deque()
        self.loop = asyncio.get_running_loop()
        self.timer: asyncio.TimerHandle | None = None

    def request(self, frames: int, terminal: TerminalClient) -> None:
        self.waiting.append((terminal, frames))
        if self.timer is None:  # otherwise the pending timer lets it go in turn
            self.release()

    def release(self) -> None:
        self.timer = None
        allowed = (time.monotonic() - self.started) * self.rate
        waiting = self.waiting
        while waiting and self.granted + waiting[0][1] <= allowed:
            terminal, frames = waiting.popleft()
            self.granted += frames
            terminal.send_now()
        if waiting:
            # When the next round in line is due: no polling in between.
            due = (self.granted + waiting[0][1]) / self.rate - (time.monotonic() - self.started)
            self.timer = self.loop.call_later(max(due, 0.001), self.release)


async def run_clients(port: int, frames: list[tuple[bytes, list[bytes]]], window: int,
                      rate: float | None) -> int:
    loop = asyncio.get_running_loop()
    pace = Pace(rate) if rate else None
    futures: list[asyncio.Future[int]] = []
    gate = asyncio.Semaphore(256)  # connects in flight: stay under the listen backlog

    async def connect(auth: bytes, reports: list[bytes]) -> None:
        done: asyncio.Future[int] = loop.create_future()
        futures.append(done)
        async with gate:
            await loop.create_connection(
                lambda: TerminalClient(auth, reports, window, pace, done), "127.0.0.1", port)

    await asyncio.gather(*(connect(auth, reports) for auth, reports in frames))
    return sum(await asyncio.gather(*futures))


def listening(port: int) -> int:
    """Listening sockets on the port: one per gateway process once each is up."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in lines.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                count += state == "0A" and int(local.rsplit(":", 1)[1], 16) == port
    return count


def wait_for_workers(client: redis.Redis, prefix: str, workers: int, shards: int) -> None:
    """Until every shard is leased and the workers share them (start-up loads the rules)."""
    deadline = time.time() + 300
    while time.time() < deadline:
        owners = client.mget([f"{prefix}:lease:{shard}" for shard in range(shards)])
        if all(owners) and len(set(owners)) == min(workers, shards):
            return
        time.sleep(0.2)
    sys.exit("the pipeline workers did not take their shards within 300 s")


def wait_until_drained(client: redis.Redis, prefix: str, shards: int, deadline: float) -> None:
    """Until the ingest streams are empty: a worker deletes entries only after their commit.
    Polling Redis is free next to counting rows in PostgreSQL every few milliseconds."""
    keys = [f"{prefix}:ingest:{shard}" for shard in range(shards)]
    while time.time() < deadline:
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.xlen(key)
            if not any(pipe.execute()):
                return
        time.sleep(0.005)


def stored_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telemetry_position WHERE fix_time >= %s "
                       "AND fix_time < %s", [DAY, DAY + dt.timedelta(days=2)])
        return cursor.fetchone()[0]


def baseline_copy(rows: int) -> float:
    values = (1, DAY, DAY, 122.0, 41.1, 40.0, 90, 5, 0, 3, 3, 512, None, None)
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_copy (LIKE telemetry_position INCLUDING "
                       "DEFAULTS INCLUDING GENERATED INCLUDING INDEXES)")
    started = time.perf_counter()
    with raw.transaction(), raw.cursor() as cursor, cursor.copy(
            f"COPY bench_copy ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(TYPES)
        for n in range(rows):
            copy.write_row((n, *values[1:]))
    elapsed = time.perf_counter() - started
    with raw.cursor() as cursor:
        cursor.execute("DROP TABLE bench_copy")
    return rows / elapsed


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process (all its threads); 0 when it is gone or not Linux."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(parts: dict[str, list[int]], client: redis.Redis,
                 ) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each process of each part of the path, the servers included:
    where the cores go."""
    parts = dict(parts, redis=[int(client.info("server")["process_id"])])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        parts["postgres"] = [pid for (pid,) in cursor.fetchall()]
    return {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in parts.items()}


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]],
             ) -> dict[str, float]:
    return {name: sum(seconds - before.get(name, {}).get(pid, 0.0)
                      for pid, seconds in pids.items() if seconds)
            for name, pids in after.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--terminals", type=int, default=2000)
    parser.add_argument("--fixes-each", type=int, default=50)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--gateway-processes", type=int, default=1,
                        help="gateway processes sharing the port (SO_REUSEPORT)")
    parser.add_argument("--rate", type=float, default=None,
                        help="send at this many fixes/s in all (latency runs)")
    parser.add_argument("--no-rules", action="store_true",
                        help="workers store only (run_pipeline --no-rules)")
    args = parser.parse_args()
    with bench_days(DAY, DAY + dt.timedelta(days=2)):
        measure(args)


def measure(args: argparse.Namespace) -> None:
    terminals = list(Terminal.objects.filter(active=True, vehicle__isnull=False)
                     .order_by("pk").values_list("sim_number", "auth_code")[:args.terminals])
    if not terminals:
        sys.exit("load the demo city first")
    frames = [frames_for(sim, code, args.fixes_each, i)
              for i, (sim, code) in enumerate(terminals)]
    port, prefix = free_port(), f"bench-{uuid.uuid4().hex[:8]}"
    # As deployed (DEBUG=0: no per-query debug bookkeeping), with the per-connection frame
    # limit lifted: a bench terminal sends far faster than a real one.
    env = dict(os.environ, BUS_PREFIX=prefix, GATEWAY_MAX_FRAMES_PER_S="100000", DEBUG="0")
    manage = [sys.executable, str(ROOT / "manage.py")]
    reuse = ["--reuse-port"] if args.gateway_processes > 1 else []
    gateways = [subprocess.Popen([*manage, "run_gateway", "--host", "127.0.0.1", "--port",
                                  str(port), "--metrics-port", "0", *reuse], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for _ in range(args.gateway_processes)]
    rules = ["--no-rules"] if args.no_rules else []
    workers = [subprocess.Popen([*manage, "run_pipeline", "--batch", "1000", *rules], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
               for _ in range(args.workers)]
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        for _ in range(1500):
            if listening(port) >= args.gateway_processes:
                break
            time.sleep(0.2)
        wait_for_workers(client, prefix, args.workers, settings.PIPELINE_SHARDS)
        parts = {"load generator": [os.getpid()], "gateway": [g.pid for g in gateways],
                 "workers": [w.pid for w in workers]}
        cpu_before = cpu_snapshot(parts, client)
        started = time.time()
        sent = asyncio.run(run_clients(port, frames, args.window, args.rate))
        acked = time.time()
        wait_until_drained(client, prefix, settings.PIPELINE_SHARDS, time.time() + 600)
        finished = time.time()
        cpu_after = cpu_snapshot(parts, client)
        stored = stored_rows()
    finally:
        for process in gateways + workers:
            process.send_signal(signal.SIGTERM)
        outputs = [worker.communicate(timeout=60)[0] or "" for worker in workers]
        for gateway in gateways:
            gateway.wait(timeout=60)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    # The busiest worker's percentiles (each worker reports its own).
    latency = max((m for m in (re.search(r"p50 ([\d.e-]+) s, p99 ([\d.e-]+) s", out)
                               for out in outputs) if m), key=lambda m: float(m[2]),
                  default=None)
    copy_rate = baseline_copy(sent)
    rate = stored / (finished - started)
    print(f"terminals: {len(terminals)} × {args.fixes_each} fixes, window {args.window}, "
          f"gateway processes: {args.gateway_processes}, pipeline workers: {args.workers} "
          f"({'no rules' if args.no_rules else 'with rules'}), "
          f"sending: {f'{args.rate:,.0f} fixes/s' if args.rate else 'as fast as answered'}")
    print(f"sent and acknowledged: {sent} in {acked - started:.1f} s; stored: {stored} "
          f"({'none lost' if stored == sent else 'LOST ' + str(sent - stored)})")
    print(f"end to end socket → committed row: {rate:10,.0f} fixes/s")
    if latency:
        print(f"latency received → commit: p50 {float(latency[1]) * 1000:.0f} ms, "
              f"p99 {float(latency[2]) * 1000:.0f} ms")
    cpu = cpu_used(cpu_before, cpu_after)
    print(f"CPU in the run ({finished - started:.1f} s × {os.cpu_count()} cores): "
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cpu.items())
          + f"; µs per fix: {sum(cpu.values()) / max(stored, 1) * 1e6:.0f}")
    print(f"baseline bare binary COPY:          {copy_rate:10,.0f} rows/s")
    print(f"ratio end-to-end / COPY:            {rate / copy_rate:.3f}")


if __name__ == "__main__":
    main()
