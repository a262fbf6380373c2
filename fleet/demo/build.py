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
from fleet.demo.coachlines import CoachLineSpec, build_coach_lines
from fleet.demo.identifiers import Identifiers
from fleet.demo.operators import assign_lines, fleet_sizes, line_operators
from fleet.demo.people import People, build_people
from fleet.demo.places import CityPlaces, ZoneSpec, build_places
from fleet.demo.registry import Registry, build_enterprises, build_terminals, build_vehicles
from fleet.demo.roads import RoadNetwork, build_network
from fleet.demo.spec import TOWN_CENTRES, DemoSpec
from fleet.demo.waybills import Waybills, build_waybills, route_through_closed_zones
from fleet.geo.boundaries import to_geos
from fleet.geo.jurisdiction import DistrictResolver
from fleet.models import (
    BusLine,
    BusStop,
    Certificate,
    CoachLine,
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
# Coaches with no line at all: charter and tourist coaches hired trip by trip.
COACHES_WITHOUT_LINE = 0.12


@dataclass
class DemoCity:
    spec: DemoSpec
    network: RoadNetwork
    places: CityPlaces
    roads: list[RoadSegment]
    zones: list[Zone]
    bus_lines: list[BusLine]
    bus_stops: list[BusStop]
    coach_lines: list[CoachLine]
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
        yield CoachLine, list(self.coach_lines)
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
              districts: Mapping[str, District], buses: list[Vehicle],
              ) -> tuple[list[BusLine], list[BusStop]]:
    operator_of = line_operators(fleet_sizes(operators, buses), len(lines))
    rows: list[BusLine] = []
    stops: list[BusStop] = []
    for spec, operator in zip(lines, operator_of, strict=True):
        line = BusLine(number=spec.number, name=spec.name[:100], enterprise=operators[operator],
                       district=districts[spec.district_code], route=to_geos(spec.route))
        rows.append(line)
        stops += [BusStop(line=line, sequence=s.sequence, name=s.name,
                          location=to_geos(Point(s.lon, s.lat)), radius_m=STOP_RADIUS_M)
                  for s in spec.stops]
    # Every bus runs a line, of its own company where that company runs any.
    for bus, line in zip(buses, assign_lines(buses, rows, [r.enterprise for r in rows]),
                         strict=True):
        bus.bus_line = line
    return rows, stops


def _coach_rows(spec: DemoSpec, lines: list[CoachLineSpec], operators: list[Enterprise],
                districts: Mapping[str, District], coaches: list[Vehicle]) -> list[CoachLine]:
    operator_of = line_operators(fleet_sizes(operators, coaches), len(lines))
    rows = [CoachLine(number=line.number, name=line.name[:100], enterprise=operators[operator],
                      district=districts[line.district_code], route=to_geos(line.route),
                      one_way_km=line.one_way_km, service_type=line.service_type,
                      night_ban_exempt=line.night_ban_exempt,
                      exemption_note=line.exemption_note)
            for line, operator in zip(lines, operator_of, strict=True)]
    # Scheduled coaches keep to a line of their own company; charter coaches and those of
    # companies without a line have none (and so no night-ban exemption either).
    assigned = assign_lines(coaches, rows, [r.enterprise for r in rows],
                            without_line=COACHES_WITHOUT_LINE, rng=spec.rng("coach-vehicles"),
                            others_if_none=False)
    for coach, line in zip(coaches, assigned, strict=True):
        coach.coach_line = line
    return rows


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
                                          places.builder, centres, count=spec.bus_lines)
    bus_lines, bus_stops = _bus_rows(line_specs, operators, districts,
                                     [v for v in registry.vehicles if v.kind == "bus"])
    coach_lines = _coach_rows(
        spec, build_coach_lines(spec.rng("coach-lines"), network, resolver, centres,
                                count=spec.coach_lines),
        registry.enterprises["passenger_transport"], districts,
        [v for v in registry.vehicles if v.kind == "coach"])
    route_through_closed_zones(spec, network, places, waybills)
    roads = [RoadSegment(name=s.name, road_class=s.road_class, speed_limit_kmh=s.speed_limit_kmh,
                         geometry=to_geos(s.lonlat)) for s in network.segments]
    depots = _bus_depots(places, operators, centres)
    zones = [_zone(z, districts) for z in [*places.zones, *depots, *termini]]
    return DemoCity(spec=spec, network=network, places=places, roads=roads, zones=zones,
                    bus_lines=bus_lines, bus_stops=bus_stops, coach_lines=coach_lines,
                    registry=registry, people=people, waybills=waybills)
