"""One terminal's whole plan as a lazy stream of items: behaviour days → sampler → report
injectors.

Deterministic: every random draw comes from a `random.Random` seeded by (seed, SIM number, what,
day), never the global generator or the wall clock; the clock only decides when an item is sent.
The plan starts at the simulation's start time (a vehicle begins its day there), so the same
seed, city and start time always give the same items.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

from fleet.simulator.behaviours import behaviour_for
from fleet.simulator.entities import TerminalInfo, World
from fleet.simulator.faults import INJECTORS, inject
from fleet.simulator.localtime import Day
from fleet.simulator.misbehaviour import base_traits, day_traits
from fleet.simulator.motion import SpeedPolicy
from fleet.simulator.plan import Item, Stage
from fleet.simulator.planner import Planner, VehicleContext
from fleet.simulator.sampler import BlindSpot, ReportConfig, Sampler

# Cruise speed as a share of the limit in force, per kind (buses and trucks are slower).
_SCALE = {"taxi": (0.8, 0.92), "ride_hailing": (0.8, 0.92), "bus": (0.62, 0.78),
          "coach": (0.85, 0.93), "hazmat": (0.8, 0.9), "heavy_truck": (0.75, 0.88)}


class VehiclePlan:
    def __init__(self, world: World, terminal: TerminalInfo, *, seed: int, start: float,
                 ways: Iterable[str] = (), reports: ReportConfig | None = None,
                 blind_spots: Iterable[BlindSpot] = ()) -> None:
        self.world = world
        self.terminal = terminal
        self.seed = seed
        self.start = float(start)
        self.ways = tuple(ways)
        self.reports = reports or ReportConfig()
        self.blind_spots = tuple(blind_spots)

    def _rng(self, what: str) -> random.Random:
        return random.Random(f"{self.seed}/{self.terminal.sim}/{what}")

    def stages(self) -> Iterator[Stage]:
        """The vehicle's stages from the start time on, day after day."""
        vehicle = self.terminal.vehicle
        start_fn, day_fn = behaviour_for(vehicle.kind, vehicle.in_service)
        static = self._rng("static")
        policy = SpeedPolicy(vehicle.kind, static.uniform(*_SCALE[vehicle.kind]),
                             self.world.graph.node_min_limit)
        base = base_traits(vehicle.kind)
        ctx = VehicleContext(self.world, self.terminal, policy, base)
        x, y, node = start_fn(ctx, static)
        odometer = static.uniform(20_000, 300_000) * 1000
        day = Day.of(self.start)
        planner = Planner(ctx, self._rng(f"day/{day.ordinal}"), self.start, x, y, node, odometer)
        while True:
            ctx.traits = day_traits(self.ways, self.seed, self.terminal, self.world, day, base)
            planner.rng = self._rng(f"day/{day.ordinal}")
            planner.start_day(day)
            for _ in day_fn(planner, day):
                yield from planner.out
                planner.out.clear()
            yield from planner.out
            planner.out.clear()
            # Whatever the behaviour left of the day is spent parked.
            planner.park_until(day.start + 86_400)
            yield from planner.out
            planner.out.clear()
            day = day.next()

    def items(self) -> Iterator[Item]:
        """Everything the terminal emits, in time order, from the start time on."""
        sampler = Sampler(self.world.frame, self._rng("reports"), self.reports,
                          blind_spots=self.blind_spots, v2019=self.terminal.v2019)
        injectors = [INJECTORS[name](self.seed, self.terminal, self.world.frame)
                     for name in self.ways if name in INJECTORS]
        return inject(sampler.run(self.stages()), injectors)


def blind_spots(world: World, seed: int, count: int = 8) -> list[BlindSpot]:
    """Areas without mobile coverage, on rural roads away from towns, depots and stations."""
    rng = random.Random(f"{seed}/blind-spots")
    graph = world.graph
    towns = list(world.towns.values())
    keep_clear = [z.centre for z in world.zones if z.kind in {"depot", "transport_hub"}]
    rural = [n for n, (x, y) in enumerate(graph.node_xy)
             if n in graph.main
             and all((x - t.x) ** 2 + (y - t.y) ** 2 > (t.radius + 2500.0) ** 2 for t in towns)
             and all((x - cx) ** 2 + (y - cy) ** 2 > 3000.0 ** 2 for cx, cy in keep_clear)]
    spots: list[BlindSpot] = []
    for _ in range(count * 20):
        if len(spots) >= count or not rural:
            break
        x, y = graph.node_xy[rng.choice(rural)]
        if all((x - s.x) ** 2 + (y - s.y) ** 2 > 6000.0 ** 2 for s in spots):
            spots.append(BlindSpot(x, y, rng.uniform(700.0, 1400.0)))
    return spots
