"""Hazmat e-waybills: depot → destination along the road network, in every state.

Per hazmat vehicle in service: about 30 % have a waybill in transit on the as-of day, 18 % one
issued for later, the rest none active (material for ``no_waybill``); most also have completed
waybills from the past two weeks, a few a cancelled one. About 4 % of active waybills have no
escort (``no_escort``). Goods match the vehicle's permitted classes, so toxic (6.1, 2.3) and
explosive (1.x) loads travel on the carriers licensed for them. The first vehicle of each goods
profile is always in transit, and the very first without an escort, so tiny cities have them too.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shapely.geometry import LineString, Point

from fleet.demo.goods import Goods, goods_for
from fleet.demo.identifiers import Identifiers
from fleet.demo.people import People
from fleet.demo.places import CityPlaces, Place, ZoneSpec
from fleet.demo.registry import Registry
from fleet.demo.roads import RoadNetwork
from fleet.demo.spec import DemoSpec
from fleet.geo.boundaries import to_geos
from fleet.models import Driver, Vehicle, Waybill, WaybillGoods

_AVERAGE_SPEED_KMH = 45.0
# In-transit waybills whose planned route crosses a zone closed to hazmat at all hours, at
# least: restricted_zone material that needs no misbehaviour (the truck drives as planned).
THROUGH_CLOSED_ZONES = 5


@dataclass
class Waybills:
    waybills: list[Waybill] = field(default_factory=list)
    goods: list[WaybillGoods] = field(default_factory=list)


class _Routes:
    """Shortest paths from each depot, computed once; routes cached per depot/destination."""

    def __init__(self, network: RoadNetwork, depots: list[Place]) -> None:
        self.network = network
        self.previous = {d.node: network.shortest_paths(d.node) for d in depots}
        self.cache: dict[tuple[int, int], tuple[Any, float] | None] = {}

    def between(self, depot: Place, destination: Place) -> tuple[Any, float] | None:
        key = (depot.node, destination.node)
        if key not in self.cache:
            line = self.network.path_line(self.previous[depot.node], depot.node, destination.node)
            metric = self.network.path_line(self.previous[depot.node], depot.node,
                                            destination.node, metric=True)
            self.cache[key] = None if line is None or metric is None else (
                to_geos(line), metric.length / 1000.0)
        return self.cache[key]


class _Issuer:
    def __init__(self, spec: DemoSpec, ids: Identifiers, routes: _Routes, places: CityPlaces,
                 out: Waybills) -> None:
        self.spec = spec
        self.ids = ids
        self.rng = spec.rng("waybills")
        self.routes = routes
        self.places = places
        self.out = out
        self.seq = 0
        self.trailers: dict[int, str] = {}

    def destination(self, profile: str) -> Place:
        fitting = [p for p in self.places.destinations if profile in p.profiles]
        return self.rng.choice(fitting or self.places.destinations)

    def issue(self, vehicle: Vehicle, profile: str, home: Place, driver: Driver | None,
              escort: Driver | None, state: str, start: dt.datetime) -> None:
        rng = self.rng
        depot = home if rng.random() < 0.8 else rng.choice(self.places.hazmat_depots)
        for _ in range(20):
            destination = self.destination(profile)
            route = self.routes.between(depot, destination)
            if route is not None:
                break
        else:
            return
        geometry, km = route
        hours = km / _AVERAGE_SPEED_KMH + rng.uniform(0.5, 2.0)
        self.seq += 1
        if id(vehicle) not in self.trailers:
            tanker_semi = vehicle.tank_capacity_m3 is not None and rng.random() < 0.4
            self.trailers[id(vehicle)] = self.ids.trailer_plate() if tanker_semi else ""
        waybill = Waybill(
            number=f"LN2111{start:%Y%m%d}{self.seq:06d}", vehicle=vehicle,
            trailer_plate=self.trailers[id(vehicle)], driver=driver, escort=escort,
            shipper=depot.name, consignee=destination.name,
            origin_name=depot.name, origin=to_geos(_point(depot)),
            destination_name=destination.name, destination=to_geos(_point(destination)),
            planned_route=geometry, planned_start=start,
            planned_end=start + dt.timedelta(hours=hours), state=state)
        self.out.waybills.append(waybill)
        self.load(waybill, vehicle)

    def load(self, waybill: Waybill, vehicle: Vehicle) -> None:
        rng = self.rng
        choices: list[Goods] = goods_for(vehicle.hazmat_goods_classes)
        capacity_t = Decimal(vehicle.rated_load_kg or 10000) / 1000
        items = rng.sample(choices, 2 if len(choices) > 1 and rng.random() < 0.25 else 1)
        for goods in items:
            share = Decimal(rng.randint(300, 950)) / 1000 / len(items)
            self.out.goods.append(WaybillGoods(
                waybill=waybill, un_number=goods.un_number, name=goods.name,
                hazard_class=goods.hazard_class, packing_group=goods.packing_group,
                quantity=(capacity_t * share).quantize(Decimal("0.001")), unit="t"))


def _point(place: Place) -> Point:
    return Point(place.lon, place.lat)


def _crew(rng: random.Random, crew: list[Driver], escorts: list[Driver], *,
          allow_missing_escort: bool) -> tuple[Driver | None, Driver | None]:
    driver = crew[0] if crew else None
    escort = rng.choice(escorts) if escorts else None
    if allow_missing_escort and rng.random() < 0.04:
        escort = None
    return driver, escort


def build_waybills(spec: DemoSpec, ids: Identifiers, network: RoadNetwork, places: CityPlaces,
                   registry: Registry, people: People) -> Waybills:
    out = Waybills()
    issuer = _Issuer(spec, ids, _Routes(network, places.hazmat_depots), places, out)
    rng: random.Random = issuer.rng
    home_of: dict[int, Place] = {}
    first_of_profile: set[str] = set()
    for vehicle in registry.vehicles:
        if vehicle.kind != "hazmat":
            continue
        profile = registry.hazmat_profile[id(vehicle)]
        owner = vehicle.enterprise
        if id(owner) not in home_of:
            home_of[id(owner)] = rng.choice(places.hazmat_depots)
        home = home_of[id(owner)]
        crew = people.drivers_of.get(id(vehicle), [])
        escorts = people.escorts_of.get(id(owner), [])
        for _ in range(rng.choice((0, 1, 1, 2))):
            start = spec.at(days=-rng.randint(1, 14), hours=rng.uniform(5, 16))
            issuer.issue(vehicle, profile, home,
                         *_crew(rng, crew, escorts, allow_missing_escort=False),
                         "completed", start)
        if rng.random() < 0.02:
            start = spec.at(days=rng.randint(-5, 2), hours=rng.uniform(6, 18))
            issuer.issue(vehicle, profile, home,
                         *_crew(rng, crew, escorts, allow_missing_escort=False),
                         "cancelled", start)
        if vehicle.status != "in_service":
            continue
        forced = profile not in first_of_profile
        first_of_profile.add(profile)
        u = rng.random()
        if forced or u < 0.30:
            driver, escort = _crew(rng, crew, escorts, allow_missing_escort=True)
            if forced and len(first_of_profile) == 1:
                escort = None
            issuer.issue(vehicle, profile, home, driver, escort, "in_transit",
                         spec.at(hours=rng.uniform(5, 10)))
        elif u < 0.48:
            issuer.issue(vehicle, profile, home,
                         *_crew(rng, crew, escorts, allow_missing_escort=True), "issued",
                         spec.at(hours=rng.uniform(12, 40)))
    return out


def route_through_closed_zones(spec: DemoSpec, network: RoadNetwork, places: CityPlaces,
                               out: Waybills, *, minimum: int = THROUGH_CLOSED_ZONES) -> int:
    """Make sure ``minimum`` in-transit waybills plan a route through a restricted zone whose
    window is always in force, re-routing some (depot → zone centre → destination) when the
    drawn routes cross too few. Returns how many cross one now."""
    closed = [z for z in places.zones if z.kind == "hazmat_restricted" and not z.time_windows]
    if not closed:
        return 0
    # Prepared GEOS shapes test the waybills' GEOS routes without copying their coordinates.
    shapes = [to_geos(z.geometry).prepared for z in closed]

    def crosses(waybill: Waybill) -> bool:
        return any(shape.intersects(waybill.planned_route) for shape in shapes)

    in_transit = [w for w in out.waybills if w.state == "in_transit"
                  and w.planned_route is not None]
    others = [w for w in in_transit if not crosses(w)]
    crossing = len(in_transit) - len(others)
    if crossing >= minimum or not others:
        return crossing
    rng = spec.rng("restricted-routes")  # its own stream: the drawn city stays as it was
    paths: dict[int, list[tuple[int, int] | None]] = {}
    for waybill in rng.sample(others, min(minimum - crossing, len(others))):
        zone: ZoneSpec = rng.choice(closed)
        centre = zone.geometry.representative_point()
        via = network.nearest_node(centre.x, centre.y)
        if via not in paths:
            paths[via] = network.shortest_paths(via)
        ends = [network.nearest_node(p.x, p.y) for p in (waybill.origin, waybill.destination)]
        legs = [_leg(network, paths[via], via, end) for end in ends]
        if any(leg is None for leg in legs):
            continue
        (there, there_m), (onwards, onwards_m) = legs  # type: ignore[misc]
        coords = list(reversed(there)) + onwards[1:] if there else onwards
        waybill.planned_route = to_geos(LineString(coords))
        waybill.planned_end = waybill.planned_start + dt.timedelta(
            hours=(there_m + onwards_m) / 1000.0 / _AVERAGE_SPEED_KMH + 1.0)
        crossing += 1
    return crossing


def _leg(network: RoadNetwork, previous: list[tuple[int, int] | None], source: int,
         target: int) -> tuple[list[tuple[float, float]], float] | None:
    """Coordinates from ``source`` to ``target`` and metres ([] and 0 when they coincide)."""
    if source == target:
        return [], 0.0
    line = network.path_line(previous, source, target)
    metric = network.path_line(previous, source, target, metric=True)
    if line is None or metric is None:
        return None
    return list(line.coords), metric.length
