"""The simulator against the real gateway (fleet/gateway): every terminal of a small sample
registers with the registry's codes, authenticates, and every fix it plans reaches the
gateway's sink, backfills and malformed frames included.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest

from fleet.gateway.records import Fix as GatewayFix
from fleet.gateway.sink import InProcessSink
from fleet.simulator.entities import World
from fleet.simulator.meter import MemorySink
from fleet.simulator.runner import Simulation
from fleet.validators import canonical_sim
from tests.gateway.harness import TEST_CONFIG, GatewayThread
from tests.simulator import material as m
from tests.simulator.test_terminal import config, offline

# Not transactional: a flush would take the package's demo city with it. The gateway reads the
# committed registry from its own thread and its card bindings are wiped with the city.
pytestmark = pytest.mark.django_db


def test_simulated_terminals_through_the_gateway(world: World) -> None:
    fit = [t for t in world.terminals if t.vehicle.in_service]
    terminals = [next(t for t in fit if t.vehicle.kind == kind)
                 for kind in ("taxi", "bus", "coach", "hazmat", "heavy_truck")]
    for edition in ("2011", "2019"):  # every header and body layout
        if not any(t.edition == edition for t in terminals):
            terminals.append(next(t for t in fit if t.edition == edition))
    gateway = GatewayThread(TEST_CONFIG, InProcessSink()).start()
    try:
        sim = Simulation(world, config(gateway.port, 4, malformed_rate=0.02,
                                       misbehave_share=1.0,
                                       ways=frozenset({"offline_in_service", "dsm"})),
                         sink=MemorySink(), terminals=terminals)
        asyncio.run(asyncio.wait_for(sim.run(), 60))
        records = gateway.sink.records()
    finally:
        gateway.stop()
    assert sim.stats["auth_refused"] == sim.stats["register_refused"] == 0
    assert sim.stats["ack_timeouts"] == 0 and sim.stats["sent_malformed"] > 0
    received: dict[str, set[float]] = defaultdict(set)
    for record in records:
        if isinstance(record, GatewayFix):
            received[record.sim].add(record.time.timestamp())
    for terminal in terminals:
        planned = m.decode(f for _, _, f in offline(sim, terminal))
        times = {loc.time.timestamp() for loc in planned.fixes}
        assert times and times <= received[canonical_sim(terminal.sim)], terminal.sim
