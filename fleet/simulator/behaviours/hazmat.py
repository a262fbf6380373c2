"""Hazardous-goods trucks: the trip of today's e-waybill, or a day in the depot.

A trip: sign in at the depot, load (engine on, in the depot), report the waybill (0x0701) and
leave loaded along the waybill's planned route, unload at the destination in under 30 min, come
back empty along the same roads, sign out. The departure is chosen so that neither leg is inside
a restricted zone during its time window (RULES.md §2 restricted_zone). A vehicle with no waybill
today stays in its depot. Traits time a trip into a zone's window, add a trip with no waybill,
a > 30 min stop halfway with toxic goods, or a detour off the planned route.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import shapely

from fleet.simulator.behaviours.common import (
    detour,
    drive_route,
    pick_node,
    zone_nodes,
    zone_passages,
)
from fleet.simulator.entities import WaybillInfo, ZoneInfo
from fleet.simulator.graph import Route
from fleet.simulator.localtime import DAY_S, Day, overlaps, window_intervals
from fleet.simulator.plan import LOAD_EMPTY, LOAD_FULL, WaybillDoc
from fleet.simulator.planner import Planner, VehicleContext

CORRIDOR_M = 200.0  # RULES.md §2 route_deviation, hazmat
LOADING_S = (20 * 60, 35 * 60)  # in the depot
UNLOADING_S = (18 * 60, 26 * 60)  # outside a depot: keep well under the 30 min toxic stop
LONG_STOP_S = (35 * 60, 55 * 60)
ZONE_MARGIN_S = 15 * 60


def waybills_on(ctx: VehicleContext, today: Day) -> list[WaybillInfo]:
    return [w for w in ctx.world.waybills.get(ctx.vehicle.id, [])
            if today.start <= w.start < today.start + DAY_S]


def waybill_route(ctx: VehicleContext, waybill: WaybillInfo) -> Route:
    key = ("waybill", waybill.number)
    if key not in ctx.world.cache:
        ctx.world.cache[key] = ctx.world.graph.route_from_lonlat(waybill.route)
    return ctx.world.cache[key]


def start(ctx: VehicleContext, rng: random.Random) -> tuple[float, float, int | None]:
    world = ctx.world
    depots = zone_nodes(world, "depot")
    named = [d for d in depots if d[0].name == world.home_depots.get(ctx.vehicle.id)]
    _zone, node = named[0] if named else rng.choice(depots)
    waybills = world.waybills.get(ctx.vehicle.id, [])
    if waybills:
        x, y = world.frame.xy(*waybills[0].route[0])
        return x, y, world.graph.nearest_node(x, y)
    return (*world.graph.node_xy[node], node)


def day(p: Planner, today: Day) -> Iterator[None]:
    waybills = waybills_on(p.ctx, today)
    if waybills:
        _waybill_trip(p, today, waybills[0])
    elif p.traits.no_waybill_trip:
        _unwaybilled_trip(p, today)
    p.park_until(today.at(24.0), tag="depot")
    yield


def _times(p: Planner, route: Route) -> tuple[np.ndarray, np.ndarray]:
    """Estimated elapsed time at each span start along a route (for timing zone passages)."""
    policy = p.ctx.policy
    s, t = [0.0], [0.0]
    for sp in route.spans:
        s.append(sp.s1)
        t.append(t[-1] + (sp.s1 - sp.s0) / max(1.0, policy.span_kmh(sp) / 3.6))
    return np.array(s), np.array(t)


def _passages(p: Planner, route: Route, offset: float) -> list[tuple[ZoneInfo, float, float]]:
    """(zone, enter, leave) in seconds after departure for the restricted zones on `route`."""
    s, t = _times(p, route)
    zones = p.world.zones_of("hazmat_restricted")
    return [(z, offset + float(np.interp(a, s, t)), offset + float(np.interp(b, s, t)))
            for z, a, b in zone_passages(route, zones)]


def _trip_passages(p: Planner, out: Route, back: Route) -> list[tuple[ZoneInfo, float, float]]:
    duration = float(_times(p, out)[1][-1]) * 1.1
    unload = sum(UNLOADING_S) / 2
    return _passages(p, out, 0.0) + _passages(p, back, duration + unload)


def _clean_departure(p: Planner, today: Day, earliest: float,
                     passages: list[tuple[ZoneInfo, float, float]]) -> float:
    """First departure (10 min steps) with every passage of a windowed zone outside its
    windows. Zones restricted at all times cannot be timed around: crossing one is the demo
    route's doing, not the driver's."""
    timed = [(window_intervals(z.windows, today), a, b) for z, a, b in passages if z.windows]
    for step in range(0, 8 * 6):
        depart = earliest + step * 600.0
        if not any(overlaps(windows, depart + a, depart + b, ZONE_MARGIN_S)
                   for windows, a, b in timed):
            return depart
    return earliest


def _into_window(p: Planner, today: Day, earliest: float,
                 passages: list[tuple[ZoneInfo, float, float]]) -> float | None:
    """A departure that puts the vehicle inside a zone during its window (restricted_zone)."""
    for zone, enter, _ in passages:
        if not zone.windows:
            return earliest  # restricted at all times: any time will do
        for start, end in window_intervals(zone.windows, today):
            depart = start + p.rng.uniform(600.0, 1800.0) - enter
            if depart >= earliest and start + 600.0 < end:
                return depart
    return None


def _via_zone(p: Planner, route: Route, today: Day) -> Route | None:
    """The trip re-routed through the centre of a restricted zone (when its own route misses
    them all): a zone with a window today first, else one restricted at all times."""
    graph = p.world.graph
    def preference(zone: ZoneInfo) -> int:
        if not zone.windows:
            return 1  # restricted at all times
        today_windows = [a for a, _ in window_intervals(zone.windows, today)
                         if today.start <= a < today.start + DAY_S]
        return 0 if today_windows else 2

    zones = sorted(zone_nodes(p.world, "hazmat_restricted"),
                   key=lambda zn: (preference(zn[0]), zn[0].id))
    a = graph.nearest_node(*route.line.at(0.0)[:2])
    b = graph.nearest_node(*route.line.at(route.length)[:2])
    for _, middle in zones:
        first, second = graph.route(a, middle), graph.route(middle, b)
        if first is not None and second is not None:
            return Route.concat([first, second])
    return None


def _outbound(p: Planner, route: Route) -> tuple[Route, float | None]:
    """The route actually driven out, and where to make the long stop (if any)."""
    long_stop = None
    if p.traits.deviate_after is not None:
        found = detour(p.world, route, 300.0, CORRIDOR_M, p.rng, p.ctx.policy)
        if found is not None:
            s_a, way, s_b = found
            route = Route.concat([route.sub(0.0, s_a), way, route.sub(s_b, route.length)])
    if p.traits.long_stop:
        # Not in a depot or an approved hazmat parking, where a long stop is allowed.
        depots = [z for kind in ("depot", "hazmat_parking") for z, _ in zone_nodes(p.world, kind)]
        for share in (0.5, 0.4, 0.6, 0.3, 0.7):
            x, y, _ = route.line.at(route.length * share)
            if not any(shapely.contains_xy(z.local, x, y) for z in depots):
                long_stop = route.length * share
                break
    return route, long_stop


def _waybill_trip(p: Planner, today: Day, waybill: WaybillInfo) -> None:
    rng = p.rng
    planned = waybill_route(p.ctx, waybill)
    out, long_stop = _outbound(p, planned)
    if p.traits.restricted_zone:
        passages = _passages(p, out, 0.0)
        if not passages:
            via = _via_zone(p, out, today)
            out = via or out
            passages = _passages(p, out, 0.0)
        depart = _into_window(p, today, waybill.start + 1800.0, passages)
        if depart is None:
            depart = _clean_departure(p, today, waybill.start + 1800.0, passages)
    else:
        depart = _clean_departure(p, today, max(p.t, waybill.start) + 1800.0,
                                  _trip_passages(p, out, planned.reversed()))
    loading = rng.uniform(*LOADING_S)
    p.park_until(depart - loading - 300.0, tag="depot")
    p.sign_in(waybill.driver_id if waybill.driver_id is not None else p.crew(1)[0])
    ox, oy = p.world.frame.xy(*waybill.route[0])
    if abs(p.x - ox) + abs(p.y - oy) > 300.0:  # yesterday's trip ended elsewhere
        origin = p.world.graph.nearest_node(ox, oy)
        there = p.route_to(origin)
        if there is not None:
            drive_route(p, there, tag="reposition")
    p.dwell(loading, tag="loading")
    p.load = LOAD_FULL
    p.instant(WaybillDoc(p.t, waybill.number, waybill_text(p, waybill)))
    if long_stop is not None:
        drive_route(p, out.sub(0.0, long_stop), tag="waybill")
        p.dwell(rng.uniform(*LONG_STOP_S), acc=False, tag="long_stop")
        drive_route(p, out.sub(long_stop, out.length), tag="waybill")
    else:
        drive_route(p, out, tag="waybill")
    p.dwell(rng.uniform(*UNLOADING_S), tag="unloading")
    p.load = LOAD_EMPTY
    drive_route(p, planned.reversed(), tag="return")
    p.dwell(rng.uniform(300, 900), tag="depot")
    p.sign_out()


def _destinations(p: Planner) -> list[int]:
    key = ("hazmat-destinations",)
    world = p.world
    if key not in world.cache:
        ends = {world.graph.nearest_node(*world.frame.xy(*w.route[-1]))
                for ws in world.waybills.values() for w in ws}
        world.cache[key] = sorted(ends)
    return world.cache[key]


def _unwaybilled_trip(p: Planner, today: Day) -> None:
    """Leave the depot loaded with no active waybill (RULES.md §2 no_waybill)."""
    rng = p.rng
    pool = _destinations(p) or sorted(p.world.graph.main)
    target = pick_node(rng, p.world, pool, p.x, p.y, 4000.0, 25_000.0) or rng.choice(pool)
    out = p.route_to(target)
    if out is None:
        return
    back = out.reversed()
    depart = _clean_departure(p, today, today.at(rng.uniform(9.5, 13.0)),
                              _trip_passages(p, out, back))
    loading = rng.uniform(*LOADING_S)
    p.park_until(depart - loading, tag="depot")
    p.sign_in(p.crew(1)[0])
    p.dwell(loading, tag="loading")
    p.load = LOAD_FULL
    drive_route(p, out, tag="no_waybill")
    p.dwell(rng.uniform(*UNLOADING_S), tag="unloading")
    p.load = LOAD_EMPTY
    drive_route(p, back, tag="return")
    p.dwell(rng.uniform(300, 900), tag="depot")
    p.sign_out()


def waybill_text(p: Planner, waybill: WaybillInfo) -> str:
    """The 0x0701 content: key fields of the e-waybill, as terminals print them."""
    drivers = p.world.drivers
    escort = drivers.get(waybill.escort_id) if waybill.escort_id is not None else None
    goods = ";".join(f"UN{g.un_number} {g.name} {g.hazard_class}类 {g.quantity:g}{g.unit}"
                     for g in waybill.goods)
    text = (f"运单号:{waybill.number};车牌:{p.ctx.vehicle.plate};"
            f"挂车:{waybill.trailer_plate or '无'};起运地:{waybill.origin_name};"
            f"目的地:{waybill.destination_name};货物:{goods};"
            f"押运员:{escort.name if escort else '无'}")
    return text[:300]
