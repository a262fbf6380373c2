"""Cruising taxis (and ride-hailing cars, which run the same day without a meter).

A taxi with two bound drivers runs a day shift and a night shift (handover mid-afternoon), one
with a single driver a long day shift. On shift it alternates fares (board → drive loaded → alight;
the loaded/empty status bits follow the passenger, and the meter records the trip), cruising empty
and short waits at a rank. No wait is long enough to reset continuous driving; the duty rest does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from fleet.simulator.behaviours.common import drive_route, pick_node, town_of, town_pool
from fleet.simulator.localtime import Day
from fleet.simulator.plan import LOAD_EMPTY, LOAD_FULL, MeterTrip
from fleet.simulator.planner import Planner, VehicleContext

_PENALTY = {"expressway": 3.0}  # taxis keep to town streets
_FLAG_FALL_YUAN = 8.0  # includes the first 3 km
_PER_KM_YUAN = 1.8
NO_METER_FARES = 3  # fares a no-meter taxi runs without (or with a late) meter per day


def start(ctx: VehicleContext, rng: random.Random) -> tuple[float, float, int | None]:
    pool = town_pool(ctx.world, town_of(ctx.world, ctx.vehicle))
    node = rng.choice(pool)
    return (*ctx.world.graph.node_xy[node], node)


def day(p: Planner, today: Day) -> Iterator[None]:
    rng = p.rng
    two = len(p.ctx.vehicle.crew) >= 2
    crew = p.crew(2 if two else 1)
    if two:
        shifts = [(today.at(rng.uniform(5.75, 6.5)), today.at(rng.uniform(14.5, 15.5))),
                  (None, today.at(24 + rng.uniform(0.5, 1.5)))]
    else:
        shifts = [(today.at(rng.uniform(6.5, 7.5)), today.at(rng.uniform(18.5, 19.5)))]
    worked = False
    for (begin, end), driver in zip(shifts, crew, strict=False):
        if end <= p.t:
            continue  # the simulation starts after this shift
        if begin is None and worked:
            p.dwell(rng.uniform(180, 480), tag="handover")
        elif begin is not None:
            p.park_until(begin)
        worked = True
        p.sign_in(driver)
        while p.t < end:
            _slot(p)
            yield
        p.sign_out()
    yield


def _slot(p: Planner) -> None:
    rng = p.rng
    u = rng.random()
    wait = p.traits.duty.max_wait_s - p.duty.idle_s  # waits in a row add up to one stop
    if u < 0.6:
        _fare(p)
    elif u < 0.85 or wait < 120:
        _cruise(p)
    else:
        p.dwell(rng.uniform(120, wait), tag="rank")


def _pool(p: Planner) -> list[int]:
    world = p.world
    if p.rng.random() < 0.12:  # now and then a fare to another town
        town = p.rng.choice(sorted(world.towns.values(), key=lambda t: t.code))
    else:
        town = town_of(world, p.ctx.vehicle)
    return town_pool(world, town)


def _cruise(p: Planner) -> None:
    node = pick_node(p.rng, p.world, town_pool(p.world, town_of(p.world, p.ctx.vehicle)),
                     p.x, p.y, 600.0, 2500.0)
    route = p.route_to(node, _PENALTY) if node is not None else None
    if route is None:
        p.dwell(min(p.rng.uniform(60, 300), max(30.0, p.traits.duty.max_wait_s
                                                    - p.duty.idle_s)), tag="rank")
        return
    p.rest_if_needed(300.0)
    drive_route(p, route, tag="cruise")


def _no_meter_now(p: Planner) -> bool:
    after = p.traits.no_meter_after
    return after is not None and p.t >= after and \
        sum(1 for d in p.ctx.done if d.startswith("no_meter")) < NO_METER_FARES


def _fare(p: Planner) -> None:
    rng = p.rng
    no_meter = _no_meter_now(p) and p.ctx.vehicle.kind == "taxi"
    # A no-meter fare is long enough to count: > 3 min and > 500 m loaded (RULES.md §2a).
    dmin, dmax = (2500.0, 8000.0) if no_meter else (900.0, 8000.0)
    node = pick_node(rng, p.world, _pool(p), p.x, p.y, dmin, dmax)
    route = p.route_to(node, _PENALTY) if node is not None else None
    if route is None or (no_meter and route.length < 2000.0):
        _cruise(p)
        return
    p.rest_if_needed(route.length / 8.0)
    p.dwell(rng.uniform(15, 45), tag="board")
    p.load = LOAD_FULL
    boarded = p.t
    lon0, lat0 = p.world.frame.lonlat(p.x, p.y)
    drive_route(p, route, tag="fare")
    p.dwell(rng.uniform(15, 40), tag="alight")
    alighted = p.t
    p.load = LOAD_EMPTY
    if p.ctx.vehicle.kind != "taxi":
        return  # ride-hailing orders are reported by the platform over HTTP, not by a meter
    p.trip_no += 1
    km = route.length / 1000.0
    fare = round(_FLAG_FALL_YUAN + max(0.0, km - 3.0) * _PER_KM_YUAN, 1)
    lon1, lat1 = p.world.frame.lonlat(p.x, p.y)
    if no_meter:
        p.ctx.done.add(f"no_meter:{p.trip_no}")
        if rng.random() < 0.5:
            return  # the meter never ran
        # Switched on late: covers the last fifth to third of the loaded interval (< half).
        late = boarded + (alighted - boarded) * rng.uniform(0.67, 0.8)
        x, y, _ = route.line.at(route.length * 0.75)
        lon0, lat0 = p.world.frame.lonlat(x, y)
        boarded, km = late, km * 0.25
        fare = _FLAG_FALL_YUAN
    p.instant(MeterTrip(alighted, p.trip_no, boarded, round(lon0, 6), round(lat0, 6), alighted,
                        round(lon1, 6), round(lat1, 6), round(km, 2), fare))
