"""JT/T 808 gateway capacity on this machine, against a bare asyncio baseline in the same run.

Run from the project root: ``python bench/gateway.py [--idle 20000] [--busy 2000] [--seconds 10]``
(``--quick`` for a smoke run). Loopback only; every phase is bounded and the script stops itself.

Phases (each run against the gateway, then against the baseline, on fresh ports):
  idle  N terminals connect, register + authenticate, then hold their connection while sending a
        heartbeat every --heartbeat s for --hold s. Reports connections held, heartbeats
        acknowledged, and server resident memory per connection (RSS delta / N).
  busy  M terminals send 0x0200 reports as fast as the acknowledgements come back (a window of 4
        unacknowledged frames each) for --seconds. Reports frames/s accepted by the sink.

The gateway is the real GatewayServer (registry from a synthetic in-memory directory, so no
database; a counting sink that accepts everything). The baseline is a bare asyncio Protocol
server that answers every frame with a fixed pre-encoded 0x8001 and parses nothing: the least a
Python asyncio server does per connection and per frame. Clients are Protocol-based, in their
own processes. RLIMIT_NOFILE is raised to its hard limit in every process; one process cannot
hold more connections than that limit allows, so the idle phase splits N over two server
processes sharing the port (SO_REUSEPORT) when N does not fit one.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

FD_RESERVE = 64  # fds a server process needs besides its connections
SLOTS = 4  # shared counters: connections, authenticated, frames, records


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def phone(i: int) -> str:
    return f"0139{i:08d}"


# -- servers ------------------------------------------------------------------------------------
def gateway_process(port: int, n_terminals: int, reuse: bool, shared, ready) -> None:
    raise_fd_limit()
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)
    from fleet.gateway.config import GatewayConfig
    from fleet.gateway.directory import TerminalDirectory, TerminalInfo
    from fleet.gateway.server import GatewayServer

    class CountingSink:
        accepted = 0

        async def publish(self, records) -> None:
            CountingSink.accepted += len(records)

    infos = [TerminalInfo(phone(i).lstrip("0"), i, "AUTH123", "2013", "su", i, f"辽L{i:05d}", 1,
                          "") for i in range(n_terminals)]
    config = GatewayConfig(host="127.0.0.1", port=port, metrics_port=None, redis_url=None,
                           reuse_port=reuse, idle_timeout_s=600, auth_timeout_s=600,
                           directory_refresh_s=0, max_connections=100_000)

    async def main() -> None:
        server = GatewayServer(config, CountingSink(),
                               directory=TerminalDirectory(loader=lambda: infos))
        await server.start()
        ready.set()
        while True:
            s = server.stats
            shared[:] = [s.connections_current, s.authenticated_current,
                         sum(s.frames.values()), CountingSink.accepted]
            await asyncio.sleep(0.2)

    asyncio.run(main())


ACK = bytes.fromhex("7e8001000501391234567800000001020000007e")  # fixed; checksum irrelevant here


class Baseline(asyncio.Protocol):
    """Answers each complete frame (two 0x7E) with one fixed frame; parses nothing."""

    counts = [0, 0]  # connections, frames

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.odd = 0
        Baseline.counts[0] += 1

    def data_received(self, data: bytes) -> None:
        delimiters = self.odd + data.count(b"\x7e")
        frames, self.odd = divmod(delimiters, 2)
        if frames:
            Baseline.counts[1] += frames
            self.transport.write(ACK * frames)

    def connection_lost(self, exc) -> None:
        Baseline.counts[0] -= 1


def baseline_process(port: int, n_terminals: int, reuse: bool, shared, ready) -> None:
    raise_fd_limit()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_server(Baseline, "127.0.0.1", port, reuse_port=reuse or None,
                                 backlog=4096)
        ready.set()
        while True:
            c, f = Baseline.counts
            shared[:] = [c, c, f, f]
            await asyncio.sleep(0.2)

    asyncio.run(main())


# -- clients ------------------------------------------------------------------------------------
def frames_for(i: int) -> tuple[bytes, bytes, bytes]:
    from fleet.jt808 import CST, Auth, Header, Heartbeat, Location, Register, encode_message

    p = phone(i)
    hello = (encode_message(Header(0x0100, p, 0), Register(21, 1100, "BENCH", "M1", "T1", 1,
                                                           f"辽L{i:05d}"))
             + encode_message(Header(0x0102, p, 1), Auth("AUTH123")))
    beat = encode_message(Header(0x0002, p, 2), Heartbeat())
    loc = encode_message(Header(0x0200, p, 3), Location.at(
        latitude=41.12, longitude=122.07, speed_kmh=40, time=datetime(2025, 3, 1, 8, tzinfo=CST),
        items=((0x01, (1234).to_bytes(4, "big")), (0x30, b"\x17"), (0x31, b"\x0c"))))
    return hello, beat, loc


class Terminal(asyncio.Protocol):
    """Counts answers (pairs of 0x7E); in busy mode keeps WINDOW reports unacknowledged."""

    WINDOW = 4

    def __init__(self, state: dict[str, int], frames: tuple[bytes, bytes, bytes],
                 busy: bool) -> None:
        self.state = state
        self.hello, self.beat, self.loc = frames
        self.odd = self.answers = self.outstanding = 0
        self.busy = busy
        self.running = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.hello)

    def data_received(self, data: bytes) -> None:
        n, self.odd = divmod(self.odd + data.count(b"\x7e"), 2)
        self.answers += n
        self.state["answers"] += n
        if self.running:
            self.outstanding -= n
            if self.outstanding <= 0:
                self.send_window()

    def send_window(self) -> None:
        self.running = True
        self.outstanding = self.WINDOW
        self.transport.write(self.loc * self.WINDOW)

    def connection_lost(self, exc) -> None:
        self.state["lost"] += 1


async def open_terminals(port: int, frames: list[tuple[bytes, bytes, bytes]], busy: bool,
                         state: dict[str, int]) -> tuple[list[Terminal], int]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(256)  # connects in flight: stay under the listen backlog
    terminals: list[Terminal] = []
    failed = 0

    async def connect(f: tuple[bytes, bytes, bytes]) -> None:
        nonlocal failed
        async with gate:
            for _ in range(3):
                try:
                    _, proto = await loop.create_connection(
                        lambda: Terminal(state, f, busy), "127.0.0.1", port)
                    terminals.append(proto)
                    return
                except OSError:
                    await asyncio.sleep(0.2)
            failed += 1

    await asyncio.gather(*(connect(f) for f in frames))
    deadline = time.monotonic() + 60
    while any(t.answers < 2 for t in terminals) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return terminals, failed


async def hold_idle(terminals: list[Terminal], period: float, hold: float,
                    state: dict[str, int]) -> tuple[int, int]:
    """Heartbeats spread evenly: every terminal beats once per `period` during `hold`."""
    answers0 = state["answers"]
    tick = 0.05
    per_tick = max(1, round(len(terminals) * tick / period))
    sent = idx = 0
    end = time.monotonic() + hold
    while time.monotonic() < end:
        for _ in range(per_tick):
            t = terminals[idx % len(terminals)]
            idx += 1
            if not t.transport.is_closing():
                t.transport.write(t.beat)
                sent += 1
        await asyncio.sleep(tick)
    await asyncio.sleep(1.0)  # let the last answers arrive
    return sent, state["answers"] - answers0


def client_process(port: int, first: int, count: int, mode: str, opts: dict[str, float],
                   out, go) -> None:
    raise_fd_limit()

    async def main() -> None:
        state = {"answers": 0, "lost": 0}
        frames = [frames_for(first + i) for i in range(count)]
        t0 = time.monotonic()
        terminals, failed = await open_terminals(port, frames, mode == "busy", state)
        ready = sum(t.answers >= 2 for t in terminals)
        out.put(("connected", len(terminals), ready, failed, time.monotonic() - t0))
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        if mode == "idle":
            sent, acked = await hold_idle(terminals, opts["heartbeat"], opts["hold"], state)
            out.put(("idle", sent, acked, state["lost"]))
        else:
            for t in terminals:
                t.send_window()
            await asyncio.sleep(opts["seconds"] + 2)
            out.put(("busy", state["answers"], state["lost"]))
        for t in terminals:
            t.transport.abort()

    asyncio.run(main())


# -- orchestration ------------------------------------------------------------------------------
class Run:
    """Server process(es) + client processes for one phase against one server kind."""

    def __init__(self, kind: str, port: int, n: int, mode: str, opts: dict[str, float],
                 servers: int, clients: int) -> None:
        self.ctx = mp.get_context("fork")
        target = gateway_process if kind == "gateway" else baseline_process
        self.shared = [self.ctx.Array("d", SLOTS, lock=False) for _ in range(servers)]
        readies = [self.ctx.Event() for _ in range(servers)]
        self.servers = [
            self.ctx.Process(target=target, args=(port, n, servers > 1, sh, ev), daemon=True)
            for sh, ev in zip(self.shared, readies, strict=True)
        ]
        for proc, ev in zip(self.servers, readies, strict=True):
            proc.start()
            if not ev.wait(60):
                raise RuntimeError(f"{kind} server did not start")
        time.sleep(0.5)
        self.rss0 = sum(rss_kib(p.pid) for p in self.servers)
        self.out = self.ctx.Queue()
        self.go = self.ctx.Event()
        share = -(-n // clients)
        self.clients = [
            self.ctx.Process(target=client_process, daemon=True,
                             args=(port, i * share, min(share, n - i * share), mode, opts,
                                   self.out, self.go))
            for i in range(clients) if i * share < n
        ]
        for proc in self.clients:
            proc.start()

    def collect(self, tag: str, timeout: float) -> list[tuple]:
        got = [self.out.get(timeout=timeout) for _ in self.clients]
        assert all(g[0] == tag for g in got), got
        return got

    def counters(self) -> list[float]:
        return [sum(sh[i] for sh in self.shared) for i in range(SLOTS)]

    def rss(self) -> int:
        return sum(rss_kib(p.pid) for p in self.servers)

    def stop(self) -> None:
        for proc in self.clients:
            proc.join(30)
        for proc in [*self.clients, *self.servers]:
            if proc.is_alive():
                proc.terminate()
            proc.join(10)


def idle_phase(kind: str, port: int, n: int, opts: dict[str, float], fd_limit: int) -> dict:
    servers = 1 if n + FD_RESERVE <= fd_limit else 2
    clients = max(2, -(-n // (fd_limit - FD_RESERVE)))
    run = Run(kind, port, n, "idle", opts, servers, clients)
    try:
        connected = run.collect("connected", 180)
        time.sleep(1.0)
        rss1 = run.rss()
        held_after_handshake, authenticated = run.counters()[:2]
        run.go.set()
        idle = run.collect("idle", opts["hold"] + 60)
        held_at_end = run.counters()[0]
        return {
            "servers": servers,
            "connected": sum(c[1] for c in connected),
            "handshaken": sum(c[2] for c in connected),
            "failed": sum(c[3] for c in connected),
            "connect_s": max(c[4] for c in connected),
            "held": held_after_handshake,
            "authenticated": authenticated,
            "held_end": held_at_end,
            "beats": sum(i[1] for i in idle),
            "beats_acked": sum(i[2] for i in idle),
            "lost": sum(i[3] for i in idle),
            "rss0_mib": run.rss0 / 1024,
            "rss1_mib": rss1 / 1024,
            "kib_per_conn": (rss1 - run.rss0) / max(held_after_handshake, 1),
        }
    finally:
        run.stop()


def busy_phase(kind: str, port: int, n: int, opts: dict[str, float]) -> dict:
    run = Run(kind, port, n, "busy", opts, 1, 1)
    try:
        connected = run.collect("connected", 120)
        run.go.set()
        time.sleep(1.0)  # warm-up
        c0, t0 = run.counters(), time.monotonic()
        authenticated = c0[1]
        time.sleep(opts["seconds"])
        c1, t1 = run.counters(), time.monotonic()
        busy = run.collect("busy", 60)
        return {
            "terminals": connected[0][2],
            "authenticated": authenticated,
            "frames_per_s": (c1[2] - c0[2]) / (t1 - t0),
            "records_per_s": (c1[3] - c0[3]) / (t1 - t0),
            "lost": busy[0][2],
        }
    finally:
        run.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=20_000)
    parser.add_argument("--busy", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hold", type=float, default=20.0)
    parser.add_argument("--heartbeat", type=float, default=10.0)
    parser.add_argument("--phases", default="idle,busy", help="comma-separated: idle, busy")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    args = parser.parse_args()
    if args.quick:
        args.idle, args.busy, args.seconds, args.hold, args.heartbeat = 500, 100, 3, 3, 2
    fd_limit = raise_fd_limit()
    opts = {"heartbeat": args.heartbeat, "hold": args.hold, "seconds": args.seconds}
    print(f"cpus={os.cpu_count()} python={sys.version.split()[0]} RLIMIT_NOFILE hard={fd_limit}")
    base_port = 17000 + os.getpid() % 1000 * 10
    phases = set(args.phases.split(","))
    if "idle" in phases:
        run_idle(args, opts, base_port, fd_limit)
    if "busy" in phases:
        run_busy(args, opts, base_port)


def run_idle(args: argparse.Namespace, opts: dict[str, float], base_port: int,
             fd_limit: int) -> None:
    print(f"\nidle: {args.idle} terminals, heartbeat every {args.heartbeat:g} s, "
          f"held {args.hold:g} s")
    for offset, kind in enumerate(("gateway", "baseline")):
        r = idle_phase(kind, base_port + offset, args.idle, opts, fd_limit)
        print(f"  {kind:8} servers={r['servers']} connected={r['connected']} "
              f"handshaken={r['handshaken']} failed={r['failed']} in {r['connect_s']:.1f}s | "
              f"held={r['held']:.0f} (authenticated {r['authenticated']:.0f}) "
              f"at end={r['held_end']:.0f} | heartbeats "
              f"{r['beats_acked']}/{r['beats']} acked | lost={r['lost']} | RSS "
              f"{r['rss0_mib']:.0f}->{r['rss1_mib']:.0f} MiB = {r['kib_per_conn']:.1f} KiB/conn")


def run_busy(args: argparse.Namespace, opts: dict[str, float], base_port: int) -> None:
    print(f"\nbusy: {args.busy} terminals, window 4, {args.seconds:g} s")
    for offset, kind in enumerate(("gateway", "baseline")):
        r = busy_phase(kind, base_port + 2 + offset, args.busy, opts)
        print(f"  {kind:8} terminals={r['terminals']} authenticated={r['authenticated']:.0f} "
              f"frames/s={r['frames_per_s']:,.0f} "
              f"records accepted/s={r['records_per_s']:,.0f} lost={r['lost']}")


if __name__ == "__main__":
    main()
