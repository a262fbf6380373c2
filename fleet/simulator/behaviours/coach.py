"""Coaches back and forth all day: along their approved line (客运班线) when the registry gives
them one, else (charter coaches) between a pair of transport hubs (stations) drawn from the seed.

A line's route inside the city runs from its station to where the line leaves the city (or to
the other end of a shuttle), so a coach keeps to the corridor the route_deviation rule checks.
Coaches keep to 80 % of the limit (the night rule) and never move between 02:00 and 05:00,
unless the night-run trait sends one out in the small hours (`night_ban`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from fleet.simulator.behaviours.common import drive_route, zone_nodes
from fleet.simulator.entities import CoachLineInfo
from fleet.simulator.geometry import dist
from fleet.simulator.graph import Route
from fleet.simulator.localtime import Day
from fleet.simulator.planner import Planner, VehicleContext


def line_of(ctx: VehicleContext) -> CoachLineInfo | None:
    number = ctx.vehicle.coach_line
    return ctx.world.coach_lines.get(number) if number else None


def line_route(ctx: VehicleContext, line: CoachLineInfo) -> Route:
    """The line's route from its station outwards (cached per line)."""
    key = ("coach-line", line.number)
    if key not in ctx.world.cache:
        ctx.world.cache[key] = ctx.world.graph.route_from_lonlat(line.route)
    return ctx.world.cache[key]


def _hubs(ctx: VehicleContext) -> list[int]:
    nodes = [n for _, n in zone_nodes(ctx.world, "transport_hub")]
    if len(set(nodes)) < 2:  # no stations: towns' central junctions instead
        nodes = [ctx.world.graph.nearest_node(t.x, t.y)
                 for t in sorted(ctx.world.towns.values(), key=lambda t: t.code)]
    return sorted(set(nodes))


def start(ctx: VehicleContext, rng: random.Random) -> tuple[float, float, int | None]:
    line = line_of(ctx)
    if line is not None:
        x, y, _ = line_route(ctx, line).line.at(0.0)
        return x, y, None
    hubs = _hubs(ctx)
    home, away = rng.sample(hubs, 2)
    ctx.home["hubs"] = (home, away)
    return (*ctx.world.graph.node_xy[home], home)


def _run(p: Planner) -> bool:
    """Drive to the other end of the line (or the other hub of the pair); False when there is
    no road."""
    line = line_of(p.ctx)
    if line is not None:
        route = line_route(p.ctx, line)
        x0, y0, _ = route.line.at(0.0)
        x1, y1, _ = route.line.at(route.length)
        outbound = dist(p.x, p.y, x0, y0) <= dist(p.x, p.y, x1, y1)
        drive_route(p, route if outbound else route.reversed(), tag="run")
        return True
    home, away = p.ctx.home["hubs"]
    target = away if p.node == home else home
    route = p.route_to(target)
    if route is None:
        return False
    drive_route(p, route, tag="run")
    p.node = target
    return True


def day(p: Planner, today: Day) -> Iterator[None]:
    rng = p.rng
    two = len(p.ctx.vehicle.crew) >= 2
    crew = p.crew(2 if two else 1)
    traits = p.traits
    if traits.night_run:
        # A run in the small hours, inside the 02:00-05:00 ban (RULES.md §2 night_ban).
        p.park_until(today.at(rng.uniform(2.05, 2.6)))
        p.sign_in(crew[-1])
        _run(p)
        p.dwell(rng.uniform(600, 900), acc=False, tag="hub")
        p.sign_out()
        yield
    begin = today.at(rng.uniform(6.25, 7.25))
    end = today.at(rng.uniform(22.0, 23.0) if traits.long_day else rng.uniform(19.0, 20.5))
    handover = today.at(rng.uniform(12.5, 13.5)) if two else None
    if p.t >= end:  # the simulation starts after today's work
        yield
        return
    p.park_until(begin)
    p.sign_in(crew[0])
    while p.t < end and p.budget_left() > 1800:
        p.rest_if_needed(1500.0, tag="hub_rest")
        if not _run(p):
            break
        if handover is not None and p.t >= handover:
            p.sign_out()
            p.dwell(rng.uniform(120, 300), tag="handover")
            p.sign_in(crew[1])
            handover = None
        p.dwell(rng.uniform(0.5, 1.0) * traits.duty.max_wait_s, tag="hub")
        yield
    p.sign_out()
    yield
