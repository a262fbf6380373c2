"""Helpers the behaviours share: node pools, driving with rests, zone passages and detours."""

from __future__ import annotations

import random

import numpy as np
import shapely

from fleet.simulator.entities import Town, VehicleInfo, World, ZoneInfo
from fleet.simulator.geometry import dist
from fleet.simulator.graph import Route
from fleet.simulator.motion import SpeedPolicy
from fleet.simulator.planner import Planner

SAMPLE_M = 25.0


def town_of(world: World, vehicle: VehicleInfo) -> Town:
    return world.towns.get(vehicle.district_code) or next(iter(sorted(
        world.towns.values(), key=lambda t: t.code)))


def town_pool(world: World, town: Town) -> list[int]:
    key = ("town", town.code)
    if key not in world.cache:
        world.cache[key] = world.graph.nodes_near(town.x, town.y, town.radius * 1.05) or \
            world.graph.nodes_near(town.x, town.y, town.radius * 3)
    return world.cache[key]


def zone_nodes(world: World, kind: str) -> list[tuple[ZoneInfo, int]]:
    """Zones of a kind with the road node nearest their centre (hubs, depots)."""
    key = ("zones", kind)
    if key not in world.cache:
        world.cache[key] = [(z, world.graph.nearest_node(*z.centre)) for z in world.zones_of(kind)]
    return world.cache[key]


def pick_node(rng: random.Random, world: World, pool: list[int], x: float, y: float,
              dmin: float, dmax: float, tries: int = 30) -> int | None:
    """A node of `pool` between dmin and dmax metres (straight line) from (x, y)."""
    if not pool:
        return None
    for _ in range(tries):
        node = rng.choice(pool)
        if dmin <= dist(x, y, *world.graph.node_xy[node]) <= dmax:
            return node
    return None


def estimate_s(p: Planner, route: Route) -> float:
    """Rough driving time of a route at the planner's cruise speeds."""
    policy = p.ctx.policy
    return sum((sp.s1 - sp.s0) / max(1.0, policy.span_kmh(sp) / 3.6) for sp in route.spans) * 1.08


def drive_route(p: Planner, route: Route, *, tag: str, rest_tag: str = "rest") -> None:
    """Drive a route, stopping for a rest where continuous driving would pass the duty limit."""
    policy = p.traits.duty
    while True:
        room = policy.break_after_s - p.duty.continuous_s
        needed = estimate_s(p, route)
        if needed <= room or route.length < 1500.0:
            p.drive(route, tag=tag)
            return
        split = _distance_for(p, route, room)
        if split < 400.0:
            p.dwell(p.rng.uniform(*policy.break_s), acc=False, tag=rest_tag)
            continue
        p.drive(route.sub(0.0, split), tag=tag)
        p.dwell(p.rng.uniform(*policy.break_s), acc=False, tag=rest_tag)
        route = route.sub(split, route.length)


def _distance_for(p: Planner, route: Route, seconds: float) -> float:
    policy = p.ctx.policy
    t = 0.0
    for sp in route.spans:
        v = max(1.0, policy.span_kmh(sp) / 3.6) / 1.08
        if t + (sp.s1 - sp.s0) / v >= seconds:
            return sp.s0 + (seconds - t) * v
        t += (sp.s1 - sp.s0) / v
    return route.length


def samples(route: Route) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points every 25 m along a route: (distance, x, y)."""
    s = np.append(np.arange(0.0, route.length, SAMPLE_M), route.length)
    line = route.line
    return s, np.interp(s, line.cum, line.xs), np.interp(s, line.cum, line.ys)


def zone_passages(route: Route, zones: list[ZoneInfo]) -> list[tuple[ZoneInfo, float, float]]:
    """(zone, s_in, s_out) for every stretch of the route inside one of the zones."""
    if not zones:
        return []
    s, xs, ys = samples(route)
    out = []
    for zone in zones:
        inside = shapely.contains_xy(zone.local, xs, ys)
        run_start = None
        for i, flag in enumerate(inside):
            if flag and run_start is None:
                run_start = s[i]
            elif not flag and run_start is not None:
                out.append((zone, float(run_start), float(s[i])))
                run_start = None
        if run_start is not None:
            out.append((zone, float(run_start), float(s[-1])))
    return sorted(out, key=lambda p: p[1])


def detour(world: World, route: Route, s_from: float, corridor: float, rng: random.Random,
           policy: SpeedPolicy, min_outside_s: float = 170.0,
           ) -> tuple[float, Route, float] | None:
    """Leave `route` at a junction after `s_from`, go round by roads well outside the corridor
    and come back at a junction further on: (leave at s, detour route, rejoin at s). The detour
    keeps the vehicle more than `corridor` + 40 m away for at least `min_outside_s` seconds in a
    row at the cruise speeds of `policy`, so it is a route deviation however the fixes fall
    (RULES.md §2a: ≥ 2 min)."""
    graph = world.graph
    on_route = [(s, n) for s, n in route.nodes if s_from + 50.0 <= s <= route.length - 300.0]
    if len(on_route) < 2:
        return None
    line = shapely.LineString(route.line.points)
    for attempt in range(24):
        # Leave early in the drive first; later junctions when nothing fits there.
        reach = min(len(on_route) - 1, 3 + attempt * 2)
        s_a, a = on_route[rng.randrange(reach)]
        rejoin = [(s, n) for s, n in on_route if s_a + 800.0 <= s <= s_a + 8000.0]
        if not rejoin:
            continue
        s_b, b = rng.choice(rejoin)
        ax, ay = graph.node_xy[a]
        near = graph.nodes_near(ax, ay, 4000.0)
        if not near:
            continue
        off = np.array([graph.node_xy[n] for n in near])
        away = shapely.distance(line, shapely.points(off[:, 0], off[:, 1]))
        far = [n for n, d in zip(near, away, strict=True) if corridor + 300.0 <= d <= 3000.0]
        if not far:
            continue
        middle = rng.choice(far)
        first, second = graph.route(a, middle), graph.route(middle, b)
        if first is None or second is None:
            continue
        way = Route.concat([first, second])
        s, xs, ys = samples(way)
        outside = shapely.distance(line, shapely.points(xs, ys)) > corridor + 40.0
        if _longest_outside_s(way, policy, s, outside) >= min_outside_s:
            return s_a, way, s_b
    return None


def _longest_outside_s(way: Route, policy: SpeedPolicy, s: np.ndarray,
                       outside: np.ndarray) -> float:
    best = run = 0.0
    for i in range(1, len(s)):
        if outside[i] and outside[i - 1]:
            # Above the cruise speed by a margin: a faster drive would still be out long enough.
            run += (s[i] - s[i - 1]) / (policy.span_kmh(way.span_at(float(s[i]))) / 3.6 * 1.1)
            best = max(best, run)
        else:
            run = 0.0
    return best
