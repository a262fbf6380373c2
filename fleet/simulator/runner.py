"""Thousands of terminals in one asyncio loop: which ones, misbehaving how, and what they sent.

No thread per terminal: each is two coroutines (its plan player and its socket reader). Plans
are lazy, so start-up costs nothing per terminal; connections are spread over `stagger_s` real
seconds so the gateway does not take every handshake at once.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import random
import resource
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fleet.simulator.clock import SimClock
from fleet.simulator.entities import TerminalInfo, World
from fleet.simulator.localtime import Day, to_datetime
from fleet.simulator.meter import MeterTripSink
from fleet.simulator.misbehaviour import CATALOGUE, assign
from fleet.simulator.outbox import Outbox, Outgoing
from fleet.simulator.sampler import ReportConfig
from fleet.simulator.terminal import ClientConfig, TerminalClient
from fleet.simulator.vehicle import VehiclePlan, blind_spots

log = logging.getLogger(__name__)
GC_THRESHOLD = 200_000  # allocations between young-generation collections (default 700)


@dataclass
class SimConfig:
    start: float  # POSIX seconds: where simulated time begins
    host: str = "127.0.0.1"
    port: int = 6808
    seed: int = 1
    vehicles: int | None = None  # a sample of N terminals ...
    share: float | None = None  # ... or this share of them (default: all)
    kinds: frozenset[str] | None = None
    reports: ReportConfig = field(default_factory=ReportConfig)
    heartbeat_s: int = 120
    speedup: float = 1.0
    stepped: bool = False
    misbehave_share: float = 0.05
    ways: frozenset[str] | None = None  # restrict the misbehaviours (default: all)
    malformed_rate: float = 0.001
    duration: float | None = None  # simulated seconds; None runs until stopped
    window: int = 8
    ack_timeout: float = 30.0
    stagger_s: float | None = None  # None: 10 s, or 1 s per 200 terminals when more
    blind_spots: int = 8
    reconnect_s: float = 1.0  # first reconnection backoff (doubles up to 60 s)


def select(world: World, config: SimConfig) -> list[TerminalInfo]:
    """The sample, deterministic by seed: kinds first, then N or a share by a per-SIM draw."""
    pool = [t for t in world.terminals
            if config.kinds is None or t.vehicle.kind in config.kinds]
    draw = {t.sim: random.Random(f"{config.seed}/sample/{t.sim}").random() for t in pool}
    if config.share is not None:
        pool = [t for t in pool if draw[t.sim] < config.share]
    pool.sort(key=lambda t: (draw[t.sim], t.sim))
    if config.vehicles is not None:
        pool = pool[: config.vehicles]
    return sorted(pool, key=lambda t: t.sim)


def raise_open_files_limit(needed: int) -> int:
    """One socket per terminal: lift the soft limit towards the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, needed + 256)) if hard != resource.RLIM_INFINITY \
        else max(soft, needed + 256)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


class Simulation:
    def __init__(self, world: World, config: SimConfig, *, sink: MeterTripSink | None = None,
                 terminals: Iterable[TerminalInfo] | None = None) -> None:
        self.world = world
        self.config = config
        self.sink = sink
        self.terminals = list(terminals) if terminals is not None else select(world, config)
        day = Day.of(config.start)
        self.ways = assign(self.terminals, world, day, config.seed, config.misbehave_share,
                           config.ways)
        self.spots = blind_spots(world, config.seed, config.blind_spots)
        self.stats: Counter[str] = Counter()
        self.clock = SimClock(config.start, speedup=config.speedup, stepped=config.stepped)
        self.clients: list[TerminalClient] = []
        self.started = 0.0
        self.finished = 0.0

    def stream(self, terminal: TerminalInfo) -> Iterator[Outgoing]:
        """The terminal's outgoing messages, lazily, from the start time on."""
        cfg = self.config
        plan = VehiclePlan(self.world, terminal, seed=cfg.seed, start=cfg.start,
                           ways=self.ways.get(terminal.sim, ()), reports=cfg.reports,
                           blind_spots=self.spots)
        outbox = Outbox(terminal, seed=cfg.seed, heartbeat_s=cfg.heartbeat_s,
                        malformed_rate=cfg.malformed_rate)
        return outbox.stream(plan.items())

    async def run(self) -> Counter[str]:
        cfg = self.config
        raise_open_files_limit(len(self.terminals))
        # The world is read-only from here on: keep it out of the cyclic collector, and make
        # its passes rarer. On a city-sized heap the default thresholds cost half the CPU and
        # stall the loop for ~2 s at a time (bench/simulator.py); the plans make few cycles.
        gc.collect()
        gc.freeze()
        thresholds = gc.get_threshold()
        gc.set_threshold(GC_THRESHOLD, 50, 100)
        client_cfg = ClientConfig(host=cfg.host, port=cfg.port, window=cfg.window,
                                  ack_timeout=cfg.ack_timeout, heartbeat_s=cfg.heartbeat_s,
                                  report_interval_s=(cfg.reports.interval_min
                                                     + cfg.reports.interval_max) // 2,
                                  parked_interval_s=cfg.reports.parked_interval,
                                  backoff_min=cfg.reconnect_s)
        stop_at = cfg.start + cfg.duration if cfg.duration is not None else None
        self.clients = [TerminalClient(t, self.stream(t), self.clock, client_cfg, self.stats,
                                       sink=self.sink, stop_at=stop_at)
                        for t in self.terminals]
        self.started = time.monotonic()
        stagger = cfg.stagger_s if cfg.stagger_s is not None \
            else max(10.0, len(self.clients) / 200.0)
        step = stagger / max(1, len(self.clients))
        tasks = [asyncio.create_task(self._start(c, i * step))
                 for i, c in enumerate(self.clients)]
        progress = asyncio.create_task(self._progress())
        try:
            await asyncio.gather(*tasks)
        finally:
            progress.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.finished = time.monotonic()
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            if self.sink is not None:
                self.sink.close()
        return self.stats

    async def _start(self, client: TerminalClient, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            await client.run()
        except Exception:  # one terminal's bug must not stop the others
            log.exception("terminal %s failed", client.terminal.sim)
            self.stats["terminal_errors"] += 1

    async def _progress(self, every: float = 60.0) -> None:
        while True:
            await asyncio.sleep(every)
            log.info("simulated %s | %s", to_datetime(self.clock.now()).isoformat(
                timespec="seconds"), self.brief())

    def brief(self) -> str:
        s = self.stats
        live = sum(1 for c in self.clients if c.connected)
        return (f"{live} connected, {s['sent_report']} reports, {s['acked']} acks, "
                f"{s['sent_backfill']} backfills, {s['sent_heartbeat']} heartbeats, "
                f"{s['sent_malformed']} malformed, {s['meter_trips']} meter trips, "
                f"{s['drops']} drops, {s['ack_timeouts']} ack timeouts")

    def misbehaviour_counts(self) -> dict[str, int]:
        counts = Counter(way for ways in self.ways.values() for way in ways)
        return {way.name: counts.get(way.name, 0) for way in CATALOGUE}

    def summary(self) -> str:
        s = self.stats
        seconds = max(1e-9, (self.finished or time.monotonic()) - self.started)
        sent = sum(v for k, v in s.items() if k.startswith("sent_"))
        kinds = Counter(t.vehicle.kind for t in self.terminals)
        per_kind = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        reached = self.clock.now()
        if self.config.duration is not None:
            reached = min(reached, self.config.start + self.config.duration)
        lines = [
            f"terminals: {len(self.terminals)} ({per_kind})",
            f"simulated: {to_datetime(self.config.start).isoformat(timespec='seconds')} → "
            f"{to_datetime(reached).isoformat(timespec='seconds')} in {seconds:.1f} s",
            f"sent: {sent} messages, {s['bytes']:,} bytes ({sent / seconds:.0f}/s): "
            + ", ".join(f"{k[5:]} {v}" for k, v in sorted(s.items()) if k.startswith("sent_")),
            f"acks {s['acked']}, ack timeouts {s['ack_timeouts']}, connects {s['connects']}, "
            f"connect failures {s['connect_failures']}, drops {s['drops']}, "
            f"planned link losses {s['link_down_planned']}, backfilled fixes "
            f"{s['backfill_fixes']}, meter trips {s['meter_trips']}",
            f"fixes accepted {s['fixes_accepted']} (distinct terminal and time, answered 0), "
            f"nacked {s['fixes_nacked']}, ack timed out {s['fixes_timed_out']}, "
            f"unconfirmed at the end {s['fixes_unconfirmed']}",
            "downlinks answered: " + (", ".join(f"{k[9:]} {v}" for k, v in sorted(s.items())
                                                if k.startswith("answered_")) or "none"),
            "misbehaving: " + ", ".join(f"{k} {v}" for k, v in self.misbehaviour_counts().items()),
        ]
        return "\n".join(lines)

    def write_assignment(self, path: str | Path) -> Path:
        """Which vehicle misbehaves how (for checking what the platform detects)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = [{"sim_number": t.sim, "plate": t.vehicle.plate, "kind": t.vehicle.kind,
                 "ways": list(self.ways.get(t.sim, ()))}
                for t in self.terminals if self.ways.get(t.sim)]
        out.write_text(json.dumps({"seed": self.config.seed,
                                   "start": to_datetime(self.config.start).isoformat(),
                                   "misbehaving": rows}, ensure_ascii=False, indent=1),
                       encoding="utf-8")
        return out
