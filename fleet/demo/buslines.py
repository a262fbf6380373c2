"""Bus lines along the road network, with ordered stops and terminus (bus-stop) zones."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from shapely.geometry import LineString, Point

from fleet.demo.names import STOP_PLACES
from fleet.demo.places import ZoneBuilder, ZoneSpec
from fleet.demo.roads import RoadNetwork
from fleet.geo.jurisdiction import DistrictResolver

STOP_RADIUS_M = 30
TERMINUS_RADIUS_M = 60.0
# Buses keep off expressways and prefer main streets to lanes.
_BUS_PENALTY = {"expressway": 100.0, "local": 1.4}
# Share of lines starting in each town (the city centre carries most).
_TOWN_WEIGHTS = {"211103": 45, "211102": 30, "211104": 12, "211122": 13}


@dataclass(frozen=True)
class StopSpec:
    sequence: int
    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class BusLineSpec:
    number: str
    name: str
    district_code: str
    route: LineString  # WGS-84
    stops: list[StopSpec]


def _town_node(rng: random.Random, network: RoadNetwork, centre: tuple[float, float, float],
               ) -> int:
    lon, lat, radius = centre
    x, y = network.frame.forward(Point(lon, lat)).coords[0]
    nodes = [n for n in network.main_nodes
             if (network.node_xy[n][0] - x) ** 2 + (network.node_xy[n][1] - y) ** 2
             < (radius * 0.9) ** 2]
    return rng.choice(nodes)


def _stops(rng: random.Random, network: RoadNetwork, metric_route: LineString,
           ) -> list[tuple[float, float]]:
    """Stop positions every 450–800 m along the route, first and last at the termini."""
    marks = [0.0]
    while marks[-1] + 800.0 < metric_route.length - 300.0:
        marks.append(marks[-1] + rng.uniform(450.0, 800.0))
    marks.append(metric_route.length)
    return [network.frame.back(*metric_route.interpolate(m).coords[0]) for m in marks]


def build_bus_lines(rng: random.Random, network: RoadNetwork, resolver: DistrictResolver,
                    builder: ZoneBuilder, centres: Mapping[str, tuple[float, float, float]],
                    *, count: int) -> tuple[list[BusLineSpec], list[ZoneSpec]]:
    """Lines and their terminus zones; which company runs each is ``operators``' business."""
    towns = [code for code in _TOWN_WEIGHTS if code in centres]
    weights = [_TOWN_WEIGHTS[code] for code in towns]
    lines: list[BusLineSpec] = []
    termini: dict[tuple[float, float], ZoneSpec] = {}
    while len(lines) < count:
        town = rng.choices(towns, weights=weights)[0]
        # One line in five runs to another town; the rest stay in their own.
        other = rng.choice(towns) if rng.random() < 0.2 else town
        start = _town_node(rng, network, centres[town])
        end = _town_node(rng, network, centres[other])
        previous = network.shortest_paths(start, _BUS_PENALTY)
        metric = network.path_line(previous, start, end, metric=True)
        if metric is None or metric.length < 3000.0:
            continue
        route = network.path_line(previous, start, end)
        assert route is not None  # same path as the metric one
        positions = _stops(rng, network, metric)
        names = rng.sample(STOP_PLACES, min(len(positions), len(STOP_PLACES)))
        names += [f"{STOP_PLACES[i % len(STOP_PLACES)]}{i // len(STOP_PLACES) + 1}"
                  for i in range(len(positions) - len(names))]
        stops = [StopSpec(i + 1, names[i], lon, lat) for i, (lon, lat) in enumerate(positions)]
        number = str(len(lines) + 1)
        first, last = stops[0], stops[-1]
        lines.append(BusLineSpec(
            number=number, name=f"{number}路（{first.name}—{last.name}）",
            district_code=resolver.district_code_at(first.lon, first.lat) or town,
            route=route, stops=stops))
        for stop in (first, last):
            key = (round(stop.lon, 4), round(stop.lat, 4))
            if key not in termini:
                termini[key] = builder.zone(f"{stop.name}公交首末站", "bus_stop",
                                            builder.circle(stop.lon, stop.lat, TERMINUS_RADIUS_M))
    return lines, list(termini.values())

