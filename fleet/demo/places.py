"""Zones and named places of the demo city: restricted zones, schools, depots, hazmat parking,
hubs, destinations.

Fixed places (hazmat depots and parking, hubs, restricted zones) sit at the same spots for every
seed; the waybill destinations and school sites are drawn from the seed. Every zone is clipped to
the city.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from fleet.demo.names import ENTERPRISE_WORDS
from fleet.demo.roads import RoadNetwork
from fleet.geo.jurisdiction import DistrictResolver

WORKDAYS = [1, 2, 3, 4, 5]
PEAK_WINDOWS = [{"days": WORKDAYS, "start": "07:00", "end": "09:00"},
                {"days": WORKDAYS, "start": "17:00", "end": "19:00"}]
SCHOOL_WINDOWS = [{"days": WORKDAYS, "start": "06:30", "end": "18:30"}]

# Where hazmat vehicles load and park (lon, lat anchors; snapped to the road network).
HAZMAT_DEPOTS = (
    ("辽河油田兴隆台储运站", 122.030, 41.100),
    ("华锦化工装车站", 122.160, 41.180),
    ("辽河石化油品装车站", 122.020, 41.200),
    ("盘锦港危化品停车场", 122.060, 40.740),
    ("大洼临港危险货物停车场", 122.120, 40.900),
    ("盘山危险货物运输停车场", 121.950, 41.280),
    ("双台子危险货物运输停车场", 122.090, 41.225),
    ("石化产业园区危货车辆停车场", 122.220, 41.020),
)
# Approved stops for hazmat vehicles on the trunk roads (long_stop_toxic does not apply there):
# name, road class they sit on, lon, lat (snapped to the nearest node of that class).
HAZMAT_PARKING = (
    ("京哈高速盘锦服务区危险货物车辆停车区", "expressway", 122.160, 41.100),
    ("京哈高速大有服务区危险货物车辆停车区", "expressway", 121.800, 41.070),
    ("国道305线胡家危险货物车辆停车场", "national", 121.800, 41.270),
    ("国道228线荣兴危险货物车辆停车场", "national", 122.150, 40.800),
)
TRANSPORT_HUBS = (
    ("盘锦站", 122.045, 41.183), ("盘锦北站", 122.080, 41.255), ("盘锦客运站", 122.070, 41.135),
    ("大洼客运站", 122.075, 40.990), ("盘山客运站", 121.990, 41.245),
)
# Hazmat restricted zones: (name, district code or None for city-wide, town of TOWN_CENTRES,
# radius m, windows). An empty window list means "at all times".
RESTRICTED = (
    ("兴隆台中心城区危险货物车辆限行区", "211103", "211103", 3000.0, PEAK_WINDOWS),
    ("双台子城区危险货物车辆限行区", "211102", "211102", 2500.0, PEAK_WINDOWS),
    ("大洼城区危险货物车辆限行区", "211104", "211104", 1800.0, PEAK_WINDOWS),
    ("市中心核心区危险货物车辆全天禁行区", None, "211103", 1000.0, []),
)
SPEED_ZONES = (("中心医院周边限速区", 122.060, 41.128, 400.0, 30),
               ("红海滩景区道路限速区", 122.240, 40.930, 1500.0, 40))
SCHOOL_NAMES = ("实验小学", "第一中学", "育才学校", "第二小学", "第三初级中学", "铁路小学",
                "石油中学", "新兴小学", "职业技术学校", "第四小学", "高级中学", "民族小学")
# Destination kinds and the goods profiles (see waybills.PROFILES) they receive.
DESTINATION_KINDS = (
    ("中国石油盘锦{n}号加油站", ("fuel",), 10),
    ("中国石化盘锦{n}号加油站", ("fuel",), 8),
    ("盘锦{w}燃气储配站", ("gas",), 5),
    ("盘锦{w}化工有限公司", ("chem", "toxic", "corrosive", "oxidiser", "gas"), 10),
    ("辽河油田{w}采油作业区", ("explosive", "fuel", "corrosive"), 5),
    ("盘锦{w}水务有限公司", ("corrosive", "oxidiser"), 3),
    ("盘锦市{w}医院", ("gas",), 2),
)


@dataclass(frozen=True)
class ZoneSpec:
    name: str
    kind: str
    geometry: BaseGeometry  # WGS-84 polygon
    district_code: str | None
    time_windows: list[dict[str, Any]]
    speed_limit_kmh: int | None = None


@dataclass(frozen=True)
class Place:
    name: str
    node: int
    lon: float
    lat: float
    profiles: tuple[str, ...] = ()


@dataclass
class CityPlaces:
    zones: list[ZoneSpec]
    hazmat_depots: list[Place]
    destinations: list[Place]
    builder: ZoneBuilder  # for zones made later (bus termini)


class ZoneBuilder:
    def __init__(self, network: RoadNetwork, resolver: DistrictResolver,
                 city_inside: BaseGeometry) -> None:
        self.network = network
        self.resolver = resolver
        self.city_inside = city_inside  # metric frame

    def place(self, name: str, lon: float, lat: float, profiles: tuple[str, ...] = ()) -> Place:
        node = self.network.nearest_node(lon, lat)
        node_lon, node_lat = self.network.node_lonlat(node)
        return Place(name, node, node_lon, node_lat, profiles)

    def circle(self, lon: float, lat: float, radius: float) -> BaseGeometry:
        centre = self.network.frame.forward(Point(lon, lat))
        shape = centre.buffer(radius, quad_segs=8).intersection(self.city_inside)
        return self.network.frame.backward(_largest_polygon(shape))

    def square(self, lon: float, lat: float, half: float) -> BaseGeometry:
        x, y = self.network.frame.forward(Point(lon, lat)).coords[0]
        shape = Polygon([(x - half, y - half), (x + half, y - half), (x + half, y + half),
                         (x - half, y + half)]).intersection(self.city_inside)
        return self.network.frame.backward(_largest_polygon(shape))

    def zone(self, name: str, kind: str, geometry: BaseGeometry, *, city_wide: bool = False,
             windows: list[dict[str, Any]] | None = None, speed: int | None = None) -> ZoneSpec:
        centre = geometry.representative_point()
        district = None if city_wide else self.resolver.district_code_at(centre.x, centre.y)
        return ZoneSpec(name, kind, geometry, district, windows or [], speed)


def _largest_polygon(geometry: BaseGeometry) -> Polygon:
    polygons = [geometry] if isinstance(geometry, Polygon) else [
        g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon)]
    return max(polygons, key=lambda p: p.area)


def build_places(rng: random.Random, network: RoadNetwork, resolver: DistrictResolver,
                 city_inside: BaseGeometry,
                 centres: Mapping[str, tuple[float, float, float]]) -> CityPlaces:
    """Every zone except bus-stop zones (those come with the bus lines)."""
    b = ZoneBuilder(network, resolver, city_inside)
    zones: list[ZoneSpec] = []
    for name, district, town, radius, windows in RESTRICTED:
        lon, lat, _ = centres[town]
        zone = b.zone(name, "hazmat_restricted", b.circle(lon, lat, radius),
                      city_wide=district is None, windows=windows)
        zones.append(zone)
    depots = [b.place(name, lon, lat) for name, lon, lat in HAZMAT_DEPOTS]
    zones += [b.zone(d.name, "depot", b.square(d.lon, d.lat, 150.0)) for d in depots]
    for name, lon, lat in TRANSPORT_HUBS:
        hub = b.place(name, lon, lat)
        zones.append(b.zone(name, "transport_hub", b.circle(hub.lon, hub.lat, 300.0)))
    for name, lon, lat, radius, speed in SPEED_ZONES:
        zones.append(b.zone(name, "speed_limit", b.circle(lon, lat, radius), speed=speed))
    for name, road_class, lon, lat in HAZMAT_PARKING:
        node = network.nearest_node(lon, lat, classes=frozenset({road_class}))
        node_lon, node_lat = network.node_lonlat(node)
        zones.append(b.zone(name, "hazmat_parking", b.square(node_lon, node_lat, 150.0)))
    zones += _schools(rng, b, centres)
    return CityPlaces(zones=zones, hazmat_depots=depots, destinations=_destinations(rng, b),
                      builder=b)


def _nodes_near(network: RoadNetwork, lon: float, lat: float, radius: float,
                classes: frozenset[str]) -> list[int]:
    x, y = network.frame.forward(Point(lon, lat)).coords[0]
    return [n for n in network.main_nodes
            if (network.node_xy[n][0] - x) ** 2 + (network.node_xy[n][1] - y) ** 2 < radius ** 2
            and any(network.segments[s].road_class in classes for _, s in network.adjacency[n])]


def _schools(rng: random.Random, b: ZoneBuilder,
             centres: Mapping[str, tuple[float, float, float]]) -> list[ZoneSpec]:
    zones: list[ZoneSpec] = []
    names = iter(SCHOOL_NAMES * 4)
    streets = frozenset({"local", "secondary"})
    for code, (lon, lat, radius) in centres.items():
        town = {"211102": "双台子区", "211103": "兴隆台区", "211104": "大洼区",
                "211122": "盘山县"}.get(code, "盘锦市")
        candidates = _nodes_near(b.network, lon, lat, radius * 0.7, streets)
        for node in rng.sample(candidates, min(3, len(candidates))):
            node_lon, node_lat = b.network.node_lonlat(node)
            zones.append(b.zone(f"{town}{next(names)}周边", "school",
                                b.circle(node_lon, node_lat, 200.0),
                                windows=SCHOOL_WINDOWS, speed=30))
    return zones


def _destinations(rng: random.Random, b: ZoneBuilder) -> list[Place]:
    places: list[Place] = []
    used: list[int] = []
    pool = list(b.network.main_nodes)
    words = list(ENTERPRISE_WORDS)
    rng.shuffle(words)
    word = iter(words * 3)
    for pattern, profiles, count in DESTINATION_KINDS:
        for n in range(1, count + 1):
            for _ in range(100):  # keep destinations at least 1 km apart
                node = rng.choice(pool)
                x, y = b.network.node_xy[node]
                if all((x - b.network.node_xy[u][0]) ** 2 + (y - b.network.node_xy[u][1]) ** 2
                       > 1000.0 ** 2 for u in used):
                    break
            used.append(node)
            lon, lat = b.network.node_lonlat(node)
            places.append(Place(pattern.format(n=n, w=next(word)), node, lon, lat, profiles))
    return places
