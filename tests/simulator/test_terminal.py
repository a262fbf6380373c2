"""The TCP client against a stub platform and against the real gateway: register → auth →
reports → acks → heartbeats, platform commands answered, backfill after planned and unplanned
link losses. In stepped time: hours of city in a second or two.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from fleet.jt808 import (
    BatchLocation,
    Location,
    LocationQueryResponse,
    Message,
    ParamsQuery,
    ParamsResponse,
    PolygonArea,
    TerminalResponse,
    TextMessage,
    general_response,
    phone_key,
)
from fleet.jt808 import LocationQuery as Query
from fleet.simulator.entities import TerminalInfo, World
from fleet.simulator.meter import MemorySink
from fleet.simulator.outbox import render
from fleet.simulator.runner import SimConfig, Simulation
from tests.simulator import material as m
from tests.simulator.conftest import START
from tests.simulator.stub import StubGateway

pytestmark = pytest.mark.django_db


def pick(world: World, test: Callable[[TerminalInfo], bool], n: int = 1) -> list[TerminalInfo]:
    found = [t for t in world.terminals if t.vehicle.in_service and test(t)][:n]
    assert len(found) == n
    return found


def config(port: int, hours: float, **kw: object) -> SimConfig:
    defaults: dict[str, object] = dict(start=START, port=port, stepped=True,
                                       duration=hours * 3600, misbehave_share=0.0,
                                       malformed_rate=0.0, stagger_s=0.0, reconnect_s=0.05)
    defaults.update(kw)
    return SimConfig(**defaults)  # type: ignore[arg-type]


def run(world: World, terminals: Iterable[TerminalInfo], make: Callable[[int], SimConfig],
        stub: StubGateway, during: Callable[[Simulation], object] | None = None) -> Simulation:
    async def main() -> Simulation:
        port = await stub.start()
        sim = Simulation(world, make(port), sink=MemorySink(), terminals=terminals)
        task = asyncio.create_task(sim.run())
        if during is not None:
            await during(sim)  # type: ignore[misc]
        await asyncio.wait_for(task, 60)
        await stub.stop()
        return sim

    return asyncio.run(main())


def offline(sim: Simulation, terminal: TerminalInfo) -> list:
    """What the terminal sends when every message is acknowledged: the rendered stream."""
    stop = sim.config.start + (sim.config.duration or 0)
    stream = itertools.takewhile(lambda o: (o.t if hasattr(o, "t") else o.at) <= stop,
                                 sim.stream(terminal))
    return list(render(stream, terminal))


def test_register_auth_reports_acks_heartbeats(world: World) -> None:
    terminals = pick(world, lambda t: t.edition == "2013" and t.vehicle.kind == "taxi") + \
        pick(world, lambda t: t.edition == "2019")
    stub = StubGateway(auth_code="FROM-STUB")
    sim = run(world, terminals, lambda port: config(port, 8), stub)
    for terminal in terminals:
        got = stub.messages[phone_key(terminal.sim)]
        assert [m.msg_id for m in got[:2]] == [0x0100, 0x0102]
        assert got[1].body.code == "FROM-STUB"  # the code the platform handed out
        ids = [m.msg_id for m in got]
        assert ids.count(0x0100) == 1 and 0x0002 in ids and ids.count(0x0200) > 100
        # Exactly what the offline rendering says, serial numbers included, except the auth
        # code, which came from the platform.
        want = m.decode(frame for _, kind, frame in offline(sim, terminal) if kind != "auth")
        assert [(x.msg_id, x.body) for x in got if x.msg_id != 0x0102] == want.messages
        assert [x.header.serial for x in got] == list(range(len(got)))
    assert sim.stats["acked"] == sum(len(stub.messages[phone_key(t.sim)]) - 2
                                     for t in terminals)  # all but register (0x8100) + auth
    assert sim.stats["ack_timeouts"] == 0 and sim.stats["drops"] == 0


def test_platform_commands_are_answered(world: World) -> None:
    terminal = pick(world, lambda t: t.edition == "2013")[0]
    stub = StubGateway()

    async def commands(sim: Simulation) -> None:
        while phone_key(terminal.sim) not in stub.writers or not sim.stats["sent_report"]:
            await asyncio.sleep(0.01)
        stub.send(terminal.sim, 0x8300, TextMessage(0x08, "请勿疲劳驾驶"))
        stub.send(terminal.sim, 0x8604, PolygonArea(7, 0, ((41_100_000, 122_000_000),
                                                           (41_200_000, 122_000_000),
                                                           (41_200_000, 122_100_000))))
        stub.send(terminal.sim, 0x8201, Query())
        stub.send(terminal.sim, 0x8104, ParamsQuery())
        await asyncio.sleep(0.5)

    run(world, [terminal], lambda port: config(port, 1, stepped=False, speedup=3600), stub,
        commands)
    answers = {m.msg_id: m.body for m in stub.messages[phone_key(terminal.sim)]
               if m.msg_id in (0x0001, 0x0201, 0x0104)}
    replies = [m.body.reply_id for m in stub.messages[phone_key(terminal.sim)]
               if isinstance(m.body, TerminalResponse)]
    assert sorted(replies) == [0x8300, 0x8604]
    assert isinstance(answers[0x0201], LocationQueryResponse)
    assert answers[0x0201].location.positioned
    assert isinstance(answers[0x0104], ParamsResponse)


def _fix_times(messages: Iterable[tuple[int, object]]) -> set[float]:
    out: set[float] = set()
    for msg_id, body in messages:
        if isinstance(body, BatchLocation):
            out.update(loc.time.timestamp() for loc in body.locations)
        elif msg_id == 0x0200:
            out.add(body.time.timestamp())  # type: ignore[attr-defined]
    return out


def test_blind_area_backfill_after_planned_reconnection(world: World) -> None:
    """The offline vehicle: dark mid-trip, back on the network with a 0x0704 type-1 batch,
    after authenticating again (no second registration)."""
    terminal = pick(world, lambda t: t.vehicle.kind == "heavy_truck")[0]
    stub = StubGateway()
    sim = run(world, [terminal], lambda port: config(
        port, 24, misbehave_share=1.0, ways=frozenset({"offline_in_service"})), stub)
    assert sim.ways[terminal.sim] == ("offline_in_service",)
    got = stub.messages[phone_key(terminal.sim)]
    ids = [x.msg_id for x in got]
    assert ids.count(0x0100) == 1 and ids.count(0x0102) >= 2
    assert stub.connections[phone_key(terminal.sim)] >= 2
    second = ids.index(0x0102, 2)
    assert ids[second + 1] == 0x0704 and got[second + 1].body.backfill
    fixes = m.points(world, sorted((x.body for x in got if x.msg_id == 0x0200),
                                   key=lambda loc: loc.time))
    assert m.silences(fixes)  # the dark minutes: a silence of > 10 min while moving


def test_unplanned_drop_reconnects_and_backfills_everything(world: World) -> None:
    terminal = pick(world, lambda t: t.vehicle.kind == "taxi")[0]
    stub = StubGateway(drop_after=60)
    sim = run(world, [terminal], lambda port: config(port, 6), stub)
    got = stub.messages[phone_key(terminal.sim)]
    ids = [x.msg_id for x in got]
    assert stub.connections[phone_key(terminal.sim)] == 2
    assert ids.count(0x0100) == 1 and ids.count(0x0102) == 2 and sim.stats["drops"] == 1
    assert any(isinstance(x.body, BatchLocation) and x.body.backfill for x in got)
    planned = _fix_times(m.decode(f for _, _, f in offline(sim, terminal)).messages)
    assert planned and planned <= _fix_times((x.msg_id, x.body) for x in got)


class RefusingGateway(StubGateway):
    """The stub, answering every 25th 0x0200 with 'fail' (1): a report the platform did not
    take, which the terminal does not send again."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.reports = 0
        self.refused: set[float] = set()

    def _answer(self, message: Message, writer: asyncio.StreamWriter) -> None:
        if message.msg_id == 0x0200 and isinstance(message.body, Location):
            self.reports += 1
            if self.reports % 25 == 0:
                self.refused.add(message.body.time.timestamp())
                writer.write(general_response(message.header, self._next(), 1))
                return
        super()._answer(message, writer)


def test_fixes_accepted_count_each_fix_once(world: World,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """The fix accounting a soak compares with the store: a fix re-sent after a drop counts
    once, a malformed frame not at all, a refused report as nacked, never as accepted."""
    terminal = pick(world, lambda t: t.vehicle.kind == "taxi")[0]
    stub = RefusingGateway(drop_after=60)
    sim = run(world, [terminal], lambda port: config(port, 6, malformed_rate=0.05), stub)
    got = stub.messages[phone_key(terminal.sim)]
    instances = [loc.time.timestamp() for x in got for loc in (
        x.body.locations if isinstance(x.body, BatchLocation)
        else (x.body,) if x.msg_id == 0x0200 else ())]
    received = set(instances)
    assert len(instances) > len(received)  # the fixes in flight at the drop came again
    assert stub.errors[phone_key(terminal.sim)] > 0  # malformed frames went out, refused
    assert stub.refused and stub.refused <= received
    planned = _fix_times(m.decode(f for _, kind, f in offline(sim, terminal)
                                  if kind != "malformed").messages)
    assert planned == received  # every fix got through, re-sent ones included
    assert sim.stats["fixes_accepted"] == len(received - stub.refused)
    assert sim.stats["fixes_nacked"] == len(stub.refused)
    assert sim.stats["fixes_timed_out"] == sim.stats["fixes_unconfirmed"] == 0
    assert "fixes accepted " + str(len(received - stub.refused)) in sim.summary()
    logged = {int(t) for r in caplog.records if r.getMessage().startswith(
        f"fixes in doubt: fixes_nacked vehicle {terminal.vehicle.id} at ")
        for t in r.getMessage().rsplit(" ", 1)[1].split(",")}
    assert logged == {int(t) for t in stub.refused}  # a soak can look the doubtful ones up
