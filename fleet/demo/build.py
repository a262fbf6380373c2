"""Generate the whole demo city in memory: unsaved model instances in insertion order.

Nothing here touches the database except through the District rows passed in, so the same spec
and boundaries always give the same objects (plates, names, identifiers, geometries).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from django.db.models import Model
from shapely.geometry import MultiPolygon, Point
from shapely.ops import unary_union

from fleet.demo.buslines import STOP_RADIUS_M, BusLineSpec, build_bus_lines
from fleet.demo.identifiers import Identifiers
from fleet.demo.people import People, build_people
from fleet.demo.places import CityPlaces, ZoneSpec, build_places
from fleet.demo.registry import Registry, build_enterprises, build_terminals, build_vehicles
from fleet.demo.roads import RoadNetwork, build_network
from fleet.demo.spec import TOWN_CENTRES, DemoSpec
from fleet.demo.waybills import Waybills, build_waybills
from fleet.geo.boundaries import to_geos
from fleet.geo.jurisdiction import DistrictResolver
from fleet.models import (
    BusLine,
    BusStop,
    Certificate,
    District,
    Driver,
    DriverVehicleBinding,
    Enterprise,
    RoadSegment,
    Terminal,
    Vehicle,
    Waybill,
    WaybillGoods,
    Zone,
)

_ZONE_INSET_M = 50.0  # zones are clipped this far inside the city


@dataclass
class DemoCity:
    spec: DemoSpec
    network: RoadNetwork
    places: CityPlaces
    roads: list[RoadSegment]
    zones: list[Zone]
    bus_lines: list[BusLine]
    bus_stops: list[BusStop]
    registry: Registry
    people: People
    waybills: Waybills

    def batches(self) -> Iterator[tuple[type[Model], list[Model]]]:
        """Every model's rows, parents before children."""
        yield Enterprise, list(self.registry.all_enterprises)
        yield RoadSegment, list(self.roads)
        yield Zone, list(self.zones)
        yield BusLine, list(self.bus_lines)
        yield BusStop, list(self.bus_stops)
        yield Vehicle, list(self.registry.vehicles)
        yield Terminal, list(self.registry.terminals)
        yield Driver, list(self.people.drivers)
        yield Certificate, list(self.people.certificates)
        yield DriverVehicleBinding, list(self.people.bindings)
        yield Waybill, list(self.waybills.waybills)
        yield WaybillGoods, list(self.waybills.goods)


def _zone(spec: ZoneSpec, districts: Mapping[str, District]) -> Zone:
    return Zone(name=spec.name, kind=spec.kind, geometry=to_geos(spec.geometry),
                district=districts.get(spec.district_code) if spec.district_code else None,
                time_windows=spec.time_windows, speed_limit_kmh=spec.speed_limit_kmh, active=True)


def _bus_rows(lines: list[BusLineSpec], operators: list[Enterprise],
              districts: Mapping[str, District]) -> tuple[list[BusLine], list[BusStop]]:
    rows: list[BusLine] = []
    stops: list[BusStop] = []
    for spec in lines:
        line = BusLine(number=spec.number, name=spec.name[:100],
                       enterprise=operators[spec.operator % len(operators)],
                       district=districts[spec.district_code], route=to_geos(spec.route))
        rows.append(line)
        stops += [BusStop(line=line, sequence=s.sequence, name=s.name,
                          location=to_geos(Point(s.lon, s.lat)), radius_m=STOP_RADIUS_M)
                  for s in spec.stops]
    return rows, stops


def _bus_depots(places: CityPlaces, operators: list[Enterprise],
                centres: Mapping[str, tuple[float, float, float]]) -> list[ZoneSpec]:
    """One depot per bus company, 1.5 km north-east of a town centre (towns in turn)."""
    towns = list(centres.values())
    zones: list[ZoneSpec] = []
    for index, operator in enumerate(operators):
        lon, lat, _ = towns[index % len(towns)]
        depot = places.builder.place(f"{operator.name.removesuffix('有限公司')}停车场",
                                     lon + 0.012 + 0.004 * (index // len(towns)), lat + 0.010)
        zones.append(places.builder.zone(depot.name, "depot",
                                         places.builder.square(depot.lon, depot.lat, 120.0)))
    return zones


def build_city(spec: DemoSpec, boundaries: Mapping[str, MultiPolygon],
               districts: Mapping[str, District]) -> DemoCity:
    """``boundaries``: district code → repaired shapely MultiPolygon (from the importer)."""
    resolver = DistrictResolver(dict(boundaries))
    centres = {code: TOWN_CENTRES[code] for code in TOWN_CENTRES if code in boundaries}
    network = build_network(boundaries, centres)
    city_inside = network.frame.forward(unary_union(list(boundaries.values()))).buffer(
        -_ZONE_INSET_M)
    places = build_places(spec.rng("places"), network, resolver, city_inside, centres)

    ids = Identifiers(spec.rng("identifiers"))
    registry = Registry()
    build_enterprises(spec, ids, dict(districts), registry)
    build_vehicles(spec, ids, registry)
    build_terminals(spec, ids, registry)
    people = build_people(spec, ids, registry)
    waybills = build_waybills(spec, ids, network, places, registry, people)

    operators = registry.enterprises["bus_company"]
    line_specs, termini = build_bus_lines(spec.rng("bus-lines"), network, resolver,
                                          places.builder, centres, count=spec.bus_lines,
                                          operators=len(operators))
    bus_lines, bus_stops = _bus_rows(line_specs, operators, districts)
    roads = [RoadSegment(name=s.name, road_class=s.road_class, speed_limit_kmh=s.speed_limit_kmh,
                         geometry=to_geos(s.lonlat)) for s in network.segments]
    depots = _bus_depots(places, operators, centres)
    zones = [_zone(z, districts) for z in [*places.zones, *depots, *termini]]
    return DemoCity(spec=spec, network=network, places=places, roads=roads, zones=zones,
                    bus_lines=bus_lines, bus_stops=bus_stops, registry=registry, people=people,
                    waybills=waybills)
