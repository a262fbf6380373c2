"""Heavy trucks on freight trips: from their yard to customers across the city and back.

Each trip goes 5-30 km by the fastest roads (expressway included), loaded one way; loading and
unloading take 6-12 min, so the duty rest is what resets continuous driving. The day ends in the
yard when the shift or the daily driving budget runs out.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from fleet.simulator.behaviours.common import drive_route, pick_node, town_of, town_pool
from fleet.simulator.localtime import Day
from fleet.simulator.plan import LOAD_EMPTY, LOAD_FULL
from fleet.simulator.planner import Planner, VehicleContext


def _all_nodes(p: Planner) -> list[int]:
    key = ("all-nodes",)
    if key not in p.world.cache:
        p.world.cache[key] = sorted(p.world.graph.main)
    return p.world.cache[key]


def start(ctx: VehicleContext, rng: random.Random) -> tuple[float, float, int | None]:
    town = town_of(ctx.world, ctx.vehicle)
    pool = town_pool(ctx.world, town)
    graph = ctx.world.graph
    # Yards lie on the edge of town.
    edge = [n for n in pool if (graph.node_xy[n][0] - town.x) ** 2
            + (graph.node_xy[n][1] - town.y) ** 2 > (town.radius * 0.6) ** 2] or pool
    yard = rng.choice(edge)
    ctx.home["yard"] = yard
    return (*graph.node_xy[yard], yard)


def day(p: Planner, today: Day) -> Iterator[None]:
    rng = p.rng
    traits = p.traits
    driver = p.crew(1)[0]
    begin = today.at(rng.uniform(6.0, 7.5))
    end = today.at(rng.uniform(22.0, 23.0) if traits.long_day else rng.uniform(17.5, 19.0))
    yard = p.ctx.home["yard"]
    if p.t >= end:  # the simulation starts after today's work
        yield
        return
    p.park_until(begin)
    p.sign_in(driver)
    loaded = True
    p.dwell(rng.uniform(0.5, 1.0) * traits.duty.max_wait_s, tag="loading")
    while p.t < end and p.budget_left() > 3600:
        target = pick_node(rng, p.world, _all_nodes(p), p.x, p.y, 5000.0, 30_000.0)
        route = p.route_to(target) if target is not None else None
        if route is None:
            break
        back = p.world.graph.route(target, yard) if target is not None else None
        # Keep enough budget and time to get back to the yard.
        need = (route.length + (back.length if back else 0.0)) / 14.0
        if need > p.budget_left() or p.t + need > end + 3600:
            break
        p.load = LOAD_FULL if loaded else LOAD_EMPTY
        drive_route(p, route, tag="freight")
        p.load = LOAD_EMPTY
        loaded = not loaded
        # One stop per customer (unload, then load the next consignment): under the 20 min
        # that would reset continuous driving, so the duty rest is what resets it.
        p.dwell(rng.uniform(0.5, 1.0) * traits.duty.max_wait_s, tag="customer")
        yield
    if p.node != yard:
        back_home = p.route_to(yard)
        if back_home is not None:
            drive_route(p, back_home, tag="return")
    p.sign_out()
    yield
