"""How many terminals one simulator process drives in real time on this machine.

Run from the project root, with the demo city loaded (``make run`` does it):

    .venv/bin/python bench/simulator.py [terminals=3000] [seconds=60] [start=2026-11-21T10:00]

The simulator runs `terminals` terminals of the demo city at the default report interval
(10-30 s, 300 s parked) in real time against a minimal acknowledging server in another process
(so its CPU is not counted), and measures over `seconds` after the connections are up: the
simulator's CPU share of one core, messages per second, and how late messages went out
relative to their planned time. Terminals per core = terminals / CPU share; the figure to
quote is a safe fraction of that, with lateness staying low.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _ack_server(port: int, ready: multiprocessing.Event, stop: multiprocessing.Event) -> None:
    """Acknowledge everything (0x8100 for registers): just enough to keep terminals going."""
    from fleet.jt808 import (
        Jt808Error,
        MessageReader,
        RegisterResponse,
        encode_message,
        general_response,
        reply_header,
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        messages = MessageReader()
        serial = 0
        while data := await reader.read(65536):
            out = []
            for item in messages.feed(data):
                if isinstance(item, Jt808Error):
                    continue
                serial = (serial + 1) & 0xFFFF
                if item.msg_id == 0x0100:
                    body = RegisterResponse(item.header.serial, 0, "BENCH")
                    out.append(encode_message(reply_header(item.header, 0x8100, serial), body))
                elif item.msg_id & 0x8000 == 0 and item.msg_id not in (0x0001, 0x0201, 0x0104):
                    out.append(general_response(item.header, serial, 0))
            writer.write(b"".join(out))
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        server.close()

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main())


def main() -> None:
    import django

    django.setup()
    from fleet.simulator.clock import SimClock
    from fleet.simulator.localtime import from_datetime, to_datetime
    from fleet.simulator.meter import MemorySink
    from fleet.simulator.runner import SimConfig, Simulation
    from fleet.simulator.world import load_world

    terminals = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    start = from_datetime(dt.datetime.fromisoformat(
        sys.argv[3] if len(sys.argv) > 3 else "2026-11-21T10:00"))
    port = 17808
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    server = multiprocessing.Process(target=_ack_server, args=(port, ready, stop), daemon=True)
    server.start()
    ready.wait(10)

    t0 = time.perf_counter()
    world = load_world(to_datetime(start))
    load_s = time.perf_counter() - t0
    config = SimConfig(start=start, port=port, vehicles=terminals)
    stagger = max(10.0, min(terminals, len(world.terminals)) / 200.0)
    warmup = stagger + 15.0  # connections spread over `stagger`, then settle
    config.duration = warmup + seconds
    sim = Simulation(world, config, sink=MemorySink())
    lateness: list[float] = []

    class MeasuringClock(SimClock):
        async def sleep_until(self, t: float) -> None:
            await super().sleep_until(t)
            if self.now() - self.start > warmup:
                lateness.append(self.now() - t)

    sim.clock = MeasuringClock(start)

    async def measure() -> tuple[float, float, int]:
        task = asyncio.create_task(sim.run())
        await asyncio.sleep(warmup)
        cpu0, msgs0 = time.process_time(), _sent(sim)
        await asyncio.sleep(seconds)
        cpu, msgs = time.process_time() - cpu0, _sent(sim) - msgs0
        await task
        return cpu, msgs / seconds, sum(1 for c in sim.clients if c.connected)

    cpu, rate, _ = asyncio.run(measure())
    stop.set()
    server.join(5)
    share = cpu / seconds
    lateness.sort()
    p99 = lateness[int(len(lateness) * 0.99)] if lateness else 0.0
    print(f"world load: {load_s:.1f} s for {len(world.terminals):,} terminals")
    print(f"{len(sim.terminals):,} terminals in real time, measured {seconds:.0f} s after a "
          f"{warmup:.0f} s warm-up (start {to_datetime(start):%Y-%m-%d %H:%M} local)")
    print(f"  simulator CPU: {share * 100:.1f} % of one core, {rate:.0f} messages/s, "
          f"{cpu / max(1, rate * seconds) * 1e6:.0f} µs CPU per message")
    print(f"  lateness: median {lateness[len(lateness) // 2] if lateness else 0:.3f} s, "
          f"p99 {p99:.3f} s, max {lateness[-1] if lateness else 0:.3f} s")
    print(f"  ≈ {len(sim.terminals) / max(share, 1e-9):,.0f} terminals per fully used core "
          f"(one process is one core: quote ~70 % of it)")
    print(f"  stats: {sim.brief()}")
    print("  counters:", dict(sim.stats))
    print(f"  max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


def _sent(sim: Any) -> int:
    return sum(v for k, v in sim.stats.items() if k.startswith("sent_"))


if __name__ == "__main__":
    main()
