"""Determinism of what goes on the wire, and malformed frames among good ones."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from fleet.jt808 import Jt808Error, MessageReader, decode_frame
from fleet.simulator.entities import World
from fleet.simulator.misbehaviour import assign
from fleet.simulator.outbox import Outbox, render
from fleet.simulator.vehicle import VehiclePlan, blind_spots
from tests.simulator.conftest import DAY, START

pytestmark = pytest.mark.django_db

HOURS = 12


def frames(world: World, sim: str, seed: int, *, malformed: float = 0.0,
           ways: tuple[str, ...] = ()) -> list[tuple[float, str, bytes]]:
    terminal = world.terminal(sim)
    plan = VehiclePlan(world, terminal, seed=seed, start=START, ways=ways,
                       blind_spots=blind_spots(world, seed))
    items = itertools.takewhile(lambda i: i.t < START + HOURS * 3600, plan.items())
    return list(render(Outbox(terminal, seed=seed, malformed_rate=malformed).stream(items),
                       terminal))


def sample(world: World) -> list[tuple[str, tuple[str, ...]]]:
    ways = assign(world.terminals, world, DAY, 1, 0.05)
    out = []
    for kind in ("taxi", "bus", "coach", "hazmat", "heavy_truck", "ride_hailing"):
        fit = [t for t in world.terminals if t.vehicle.kind == kind and t.vehicle.in_service]
        bad = next(t for t in fit if ways[t.sim])
        good = next(t for t in fit if not ways[t.sim])
        out += [(bad.sim, ways[bad.sim]), (good.sim, ())]
    return out


def test_same_seed_same_bytes_other_seed_other_bytes(world: World) -> None:
    for sim, ways in sample(world):
        first = frames(world, sim, 1, ways=ways, malformed=0.01)
        assert len(first) > 50
        assert frames(world, sim, 1, ways=ways, malformed=0.01) == first
        assert [f for _, _, f in frames(world, sim, 2, ways=ways, malformed=0.01)] != \
            [f for _, _, f in first]


def test_malformed_frames_are_rejected_and_the_good_ones_around_them_decode(
        world: World) -> None:
    kinds: Counter[str] = Counter()
    for sim, _ in sample(world)[:6]:
        sent = frames(world, sim, 1, malformed=0.05)
        reader = MessageReader()
        decoded = [reader.feed(frame) for _, _, frame in sent]  # one frame at a time
        for (_, kind, frame), out in zip(sent, decoded, strict=True):
            assert len(out) == 1
            if kind == "malformed":
                assert isinstance(out[0], Jt808Error)
                kinds[out[0].code] += 1
            else:
                assert not isinstance(out[0], Jt808Error), (kind, out[0])
                assert decode_frame(frame).msg_id == out[0].msg_id
        # The same bytes as one TCP stream: errors exactly where the malformed frames were.
        stream = MessageReader().feed(b"".join(f for _, _, f in sent))
        assert [isinstance(x, Jt808Error) for x in stream] == \
            [kind == "malformed" for _, kind, _ in sent]
    assert {"bad_checksum", "bad_escape", "bad_length", "bad_bcd"} <= set(kinds), kinds
