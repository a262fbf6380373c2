"""Disconnection events: queued by the connection handlers, published in batches, kept and
tried again while the sink refuses; a whole fleet disconnecting at once loses none."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from fleet.gateway import offline
from fleet.gateway.offline import OfflineEvents
from fleet.gateway.records import TerminalEvent
from fleet.gateway.sink import InProcessSink, SinkUnavailable
from fleet.gateway.stats import GatewayStats
from tests import factories
from tests.gateway.harness import TerminalClient

NOW = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)


def event(n: int) -> TerminalEvent:
    return TerminalEvent(f"0139{n:08d}", n, "", "offline", NOW, NOW, "eof", {})


def test_refused_batches_are_kept_and_published_in_order(monkeypatch):
    monkeypatch.setattr(offline, "RETRY_S", 0.01)
    published: list[list[TerminalEvent]] = []
    refusals = [2]

    async def publish(batch):  # type: ignore[no-untyped-def]
        if refusals[0]:
            refusals[0] -= 1
            raise SinkUnavailable("redis down")
        published.append(list(batch))

    async def scenario() -> GatewayStats:
        stats = GatewayStats()
        queue = OfflineEvents(publish, stats, max_pending=7000, linger_s=0.01)
        runner = asyncio.create_task(queue.run())
        for n in range(7500):  # 500 over the bound: those are the only ones dropped
            queue.add(event(n))
        for _ in range(300):
            if not len(queue):
                break
            await asyncio.sleep(0.01)
        runner.cancel()
        return stats

    stats = asyncio.run(scenario())
    sent = [e.sim for batch in published for e in batch]
    assert sent == [event(n).sim for n in range(7000)]  # each once, in order
    assert len(published) == 2  # batches of at most offline.BATCH
    assert stats.errors["event_publish_failed"] == 2
    assert stats.errors["event_dropped"] == 500


class SlowSink(InProcessSink):
    """A sink that takes 50 ms per call, one call at a time (a busy Redis)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock: asyncio.Lock | None = None

    async def publish(self, records):  # type: ignore[no-untyped-def]
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            await asyncio.sleep(0.05)
            await super().publish(records)


def test_a_fleet_disconnecting_at_once_publishes_every_offline_event(registry, start_gateway):
    """One publish per disconnection, each with a 1 s timeout, dropped most of these behind a
    slow sink; batched, all arrive."""
    vehicles = [factories.make_vehicle(registry.vehicle.enterprise, plate_number=f"辽L7{n:04d}")
                for n in range(40)]
    terminals = [factories.make_terminal(v) for v in vehicles]
    gateway = start_gateway(SlowSink())
    clients = []
    for terminal, vehicle in zip(terminals, vehicles, strict=True):
        client = TerminalClient(gateway.port, terminal.sim_number)
        assert client.register(vehicle.plate).result == 0
        client.authenticate()
        clients.append(client)
    for client in clients:
        client.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        offline_events = [r for r in gateway.sink.records()
                          if isinstance(r, TerminalEvent) and r.kind == "offline"]
        if len(offline_events) == len(clients):
            break
        time.sleep(0.05)
    assert sorted(e.vehicle_id for e in offline_events) == sorted(v.pk for v in vehicles)
    assert gateway.stats.errors.get("event_dropped", 0) == 0
