"""City buses running their line end to end, stopping at every stop.

At each stop the bus halts within the stop's geofence with the front door open for 15-40 s and
the terminal reports the doors opening and closing, so every stop has a stopped fix inside its
geofence (what `bus_skip_stop` looks for). It waits only at stops and termini; layovers at a
terminus are short unless the driver is due a rest. Misbehaviour traits make one run pass stops
at speed, stop between stops with the doors open, or leave the line on a detour.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import shapely

from fleet.simulator.behaviours.common import detour
from fleet.simulator.entities import BusLineInfo
from fleet.simulator.geometry import dist
from fleet.simulator.graph import Route
from fleet.simulator.localtime import Day
from fleet.simulator.planner import Planner, VehicleContext

CORRIDOR_M = 100.0  # RULES.md §2 route_deviation, bus
_OUTSIDE_CLEAR_M = 150.0  # a stop outside stops keeps at least this far from any stop
SKIPPED_STOPS = 2
_BUS_STOP_PLACES = ("depot", "bus_stop", "transport_hub")  # where a bus may halt (the rule's)


def line_of(ctx: VehicleContext) -> BusLineInfo | None:
    number = ctx.vehicle.bus_line
    return ctx.world.bus_lines.get(number) if number else None


def line_route(ctx: VehicleContext, line: BusLineInfo) -> tuple[Route, list[float]]:
    """The line's route and the distance of each stop along it (cached per line)."""
    key = ("bus-line", line.number)
    world = ctx.world
    if key not in world.cache:
        route = world.graph.route_from_lonlat(line.route)
        stops: list[float] = []
        for stop in line.stops:
            x, y = world.frame.xy(stop.lon, stop.lat)
            stops.append(route.line.project(x, y, stops[-1] if stops else 0.0))
        world.cache[key] = (route, stops)
    return world.cache[key]


def start(ctx: VehicleContext, rng: random.Random) -> tuple[float, float, int | None]:
    line = line_of(ctx)
    if line is None or len(line.stops) < 2:
        from fleet.simulator.behaviours import taxi

        return taxi.start(ctx, rng)
    route, stops = line_route(ctx, line)
    x, y, _ = route.line.at(stops[0])
    return x, y, None


def day(p: Planner, today: Day) -> Iterator[None]:
    line = line_of(p.ctx)
    if line is None or len(line.stops) < 2:
        p.park_until(today.at(24.0))
        yield
        return
    rng = p.rng
    forward, stops = line_route(p.ctx, line)
    two = len(p.ctx.vehicle.crew) >= 2
    crew = p.crew(2 if two else 1)
    begin, end = today.at(rng.uniform(5.5, 6.5)), today.at(rng.uniform(20.0, 21.5))
    handover = today.at(rng.uniform(13.0, 14.0)) if two else None
    if p.t >= end:  # the simulation starts after today's work
        yield
        return
    p.park_until(begin)
    p.sign_in(crew[0])
    while p.t < end:
        outbound = _at_first_terminus(p, forward, stops)
        route, marks = (forward, stops) if outbound else _backwards(forward, stops)
        p.rest_if_needed(route.length / 7.0, tag="layover_rest")
        _run(p, route, marks)
        if handover is not None and p.t >= handover:
            p.sign_out()
            p.dwell(rng.uniform(120, 300), tag="handover")
            p.sign_in(crew[1])
            handover = None
        else:
            p.dwell(rng.uniform(240, 600), tag="layover")
        yield
    p.sign_out()
    yield


def _at_first_terminus(p: Planner, route: Route, stops: list[float]) -> bool:
    x0, y0, _ = route.line.at(stops[0])
    x1, y1, _ = route.line.at(stops[-1])
    return dist(p.x, p.y, x0, y0) <= dist(p.x, p.y, x1, y1)


def _backwards(route: Route, stops: list[float]) -> tuple[Route, list[float]]:
    total = route.length
    return route.reversed(), [total - s for s in reversed(stops)]


def _pending(p: Planner, name: str, after: float | None) -> bool:
    return after is not None and p.t >= after and name not in p.ctx.done


def _due(p: Planner, name: str, after: float | None) -> bool:
    if not _pending(p, name, after):
        return False
    p.ctx.done.add(name)
    return True


def _run(p: Planner, route: Route, marks: list[float]) -> None:
    """One run from the first stop to the last of `marks`."""
    traits = p.traits
    n = len(marks)
    skip: set[int] = set()
    outside_leg = deviate_from = None
    outside_at = 0.0
    if n >= 4 and _due(p, "overspeed_run", traits.overspeed_after):
        skip = _overspeed_skips(marks)  # running late: speeds and passes stops to make time
    elif n >= 4 and _due(p, "skip_stop", traits.skip_stop_after):
        first = 1 + p.rng.randrange(max(1, n - 2 - SKIPPED_STOPS))
        skip = set(range(first, min(n - 1, first + SKIPPED_STOPS)))
    elif _pending(p, "stop_outside", traits.stop_outside_after) and (
            spot := _outside_spot(p, route, marks)) is not None:
        p.ctx.done.add("stop_outside")
        outside_leg, outside_at = spot
    elif _due(p, "deviate", traits.deviate_after):
        deviate_from = 1 if n > 2 else None
    s_here, i = marks[0], 1
    while i < n:
        if deviate_from is not None and i - 1 == deviate_from:
            found = detour(p.world, route, s_here, CORRIDOR_M, p.rng, p.ctx.policy)
            if found is not None:
                s_a, way, s_b = found
                later = [j for j in range(i, n) if marks[j] > s_b + 30.0]
                if later:
                    j = later[0]
                    leg = Route.concat([route.sub(s_here, s_a), way, route.sub(s_b, marks[j])])
                    p.drive(leg, tag="detour")
                    _stop(p)
                    s_here, i = marks[j], j + 1
                    deviate_from = None
                    continue
            deviate_from = None
        j = i
        while j in skip and j < n - 1:
            j += 1
        leg = route.sub(s_here, marks[j])
        passed = tuple(marks[k] - s_here for k in range(i, j))
        if i == outside_leg:
            _with_stop_outside(p, leg, outside_at)
        elif passed:
            motion = p.motion(leg, no_slowdown=passed)
            times = tuple(motion[0].time_at(s) for s in passed)  # a report as it passes
            p.drive(leg, tag="line", forced_s=times, prepared=motion)
        else:
            p.drive(leg, tag="line")
        _stop(p)
        s_here, i = marks[j], j + 1


def _stop(p: Planner) -> None:
    p.dwell(p.rng.uniform(15, 40), doors=True, tag="stop", report_start=True, report_end=True)


def _overspeed_skips(marks: list[float]) -> set[int]:
    """Stops to pass so that one leg is long enough for an overspeed episode (≥ 3.2 km)."""
    n = len(marks)
    for first in range(1, n - 1):
        for last in range(first, n - 1):
            if marks[last + 1] - marks[first - 1] >= 3200.0:
                return set(range(first, last + 1))
    return set(range(1, n - 1))


def _outside_spot(p: Planner, route: Route, marks: list[float]) -> tuple[int, float] | None:
    """Where this run halts between stops: (leg index, metres into the leg) of a point at least
    _OUTSIDE_CLEAR_M from every stop of every line and outside the places a bus may halt at
    (depots, stop areas, hubs). Lines share roads, so a leg's midpoint is often near another
    line's stop: the spots are searched along each leg, every 25 m. None: this run has none
    (the way then waits for a later run, e.g. the other direction)."""
    world = p.world
    key = ("stop-outside-spots", round(route.length, 1), tuple(round(m, 1) for m in marks))
    if key not in world.cache:
        stops = np.array([world.frame.xy(s.lon, s.lat) for line in world.bus_lines.values()
                          for s in line.stops] or [(np.inf, np.inf)])
        allowed = [z.local for z in world.zones_of(*_BUS_STOP_PLACES)]
        spots = []
        for i in range(1, len(marks)):
            length = marks[i] - marks[i - 1]
            for into in np.arange(_OUTSIDE_CLEAR_M, length - _OUTSIDE_CLEAR_M, 25.0):
                x, y, _ = route.line.at(marks[i - 1] + float(into))
                if (np.hypot(stops[:, 0] - x, stops[:, 1] - y).min() >= _OUTSIDE_CLEAR_M
                        and not any(z.contains(shapely.Point(x, y)) for z in allowed)):
                    spots.append((i, float(into)))
        world.cache[key] = spots
    spots = world.cache[key]
    return p.rng.choice(spots) if spots else None


def _with_stop_outside(p: Planner, leg: Route, at: float) -> None:
    """Halt with the doors open between two stops (60-120 s), ``at`` metres into the leg."""
    p.drive(leg.sub(0.0, at), tag="line")
    p.dwell(p.rng.uniform(60, 120), doors=True, tag="stop_outside", report_start=True,
            report_end=True)
    p.drive(leg.sub(at, leg.length), tag="line")
