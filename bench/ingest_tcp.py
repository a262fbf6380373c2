"""End-to-end ingest over real TCP: terminals → gateway → Redis Streams → worker → PostGIS.

Run from the project root with the demo city loaded:
    .venv/bin/python bench/ingest_tcp.py [--terminals 2000] [--fixes-each 50] [--window 4]

Starts a gateway process and a pipeline worker process on a private bus prefix, opens
--terminals real connections (registry terminals, authenticated with their codes), sends
--fixes-each reports per terminal with a window of unacknowledged frames, and waits until every
fix is a committed row. Reports fixes/s from the first frame sent to the last row committed, the
worker's received→commit latency p50/p99, and, in the same run, a bare binary COPY of the same
number of rows (the physical baseline) with the ratio. Fix times are on 2020-01-01 so bench rows
never mix with live data; they are deleted at the end.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from fleet.jt808 import CST, Auth, Header, Location, MessageReader, encode_message  # noqa: E402
from fleet.models import Terminal  # noqa: E402
from fleet.telemetry.store import COLUMNS, TYPES  # noqa: E402

DAY = dt.datetime(2020, 1, 1, tzinfo=CST)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def terminal(port: int, sim: str, code: str, fixes: int, window: int,
                   index: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder = MessageReader()
    serial = 0

    def frame(msg_id: int, body: object) -> bytes:
        nonlocal serial
        serial += 1
        return encode_message(Header(msg_id, sim, serial & 0xFFFF), body)

    async def acks(count: int) -> None:
        seen = 0
        while seen < count:
            data = await reader.read(65536)
            if not data:
                raise ConnectionError("gateway closed the connection")
            seen += sum(1 for m in decoder.feed(data)
                        if not isinstance(m, Exception) and m.header.msg_id == 0x8001)

    writer.write(frame(0x0102, Auth(code)))
    await acks(1)
    sent = 0
    while sent < fixes:
        batch = min(window, fixes - sent)
        for n in range(sent, sent + batch):
            at = DAY + dt.timedelta(seconds=10 * n)
            writer.write(frame(0x0200, Location.at(
                latitude=41.1 + (index % 100) / 1e3, longitude=122.0 + (n % 100) / 1e3,
                speed_kmh=40.0, direction=90, altitude=5, time=at, status=0x3)))
        await acks(batch)
        sent += batch
    writer.close()
    return sent


async def run_clients(port: int, terminals: list[tuple[str, str]], fixes: int,
                      window: int) -> int:
    results = await asyncio.gather(*(terminal(port, sim, code, fixes, window, i)
                                     for i, (sim, code) in enumerate(terminals)))
    return sum(results)


def stored_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telemetry_position WHERE fix_time >= %s "
                       "AND fix_time < %s", [DAY, DAY + dt.timedelta(days=2)])
        return cursor.fetchone()[0]


def cleanup() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM telemetry_position WHERE fix_time >= %s AND fix_time < %s",
                       [DAY, DAY + dt.timedelta(days=2)])
        cursor.execute("DELETE FROM fleet_vehiclestate WHERE fix_time < %s",
                       [DAY + dt.timedelta(days=2)])


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--terminals", type=int, default=2000)
    parser.add_argument("--fixes-each", type=int, default=50)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    terminals = list(Terminal.objects.filter(active=True, vehicle__isnull=False)
                     .order_by("pk").values_list("sim_number", "auth_code")[:args.terminals])
    if not terminals:
        sys.exit("load the demo city first")
    cleanup()
    port, prefix = free_port(), f"bench-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, BUS_PREFIX=prefix, GATEWAY_MAX_FRAMES_PER_S="100000")
    manage = [sys.executable, str(ROOT / "manage.py")]
    gateway = subprocess.Popen([*manage, "run_gateway", "--host", "127.0.0.1", "--port",
                                str(port), "--metrics-port", "0"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = [subprocess.Popen([*manage, "run_pipeline", "--batch", "1000"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
               for _ in range(args.workers)]
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(2.0)  # the worker takes its shards
        started = time.time()
        sent = asyncio.run(run_clients(port, terminals, args.fixes_each, args.window))
        acked = time.time()
        deadline = time.time() + 600
        while stored_rows() < sent and time.time() < deadline:
            time.sleep(0.05)
        finished = time.time()
        stored = stored_rows()
    finally:
        gateway.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        outputs = [worker.communicate(timeout=60)[0] or "" for worker in workers]
        gateway.wait(timeout=60)
    # The busiest worker's percentiles (each worker reports its own).
    latency = max((m for m in (re.search(r"p50 ([\d.e-]+) s, p99 ([\d.e-]+) s", out)
                               for out in outputs) if m), key=lambda m: float(m[2]),
                  default=None)
    copy_rate = baseline_copy(sent)
    cleanup()
    rate = stored / (finished - started)
    print(f"terminals: {len(terminals)} × {args.fixes_each} fixes, window {args.window}, "
          f"pipeline workers: {args.workers}")
    print(f"sent and acknowledged: {sent} in {acked - started:.1f} s; stored: {stored} "
          f"({'none lost' if stored == sent else 'LOST ' + str(sent - stored)})")
    print(f"end to end socket → committed row: {rate:10,.0f} fixes/s")
    if latency:
        print(f"latency received → commit: p50 {float(latency[1]) * 1000:.0f} ms, "
              f"p99 {float(latency[2]) * 1000:.0f} ms")
    print(f"baseline bare binary COPY:          {copy_rate:10,.0f} rows/s")
    print(f"ratio end-to-end / COPY:            {rate / copy_rate:.3f}")


if __name__ == "__main__":
    main()
