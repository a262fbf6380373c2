"""A generated road network inside the city boundary, and shortest paths over it.

There is no public road data for the demo (geo/README.md), so the network is laid out from the
town centres: one expressway across the city (120 km/h), two national roads (80), arterials through
and between the district centres (60), a town grid of secondary (50) and local (40) streets around
each centre, and a sparse rural grid of county (50) and village (40) roads. Everything is built in
a local metric frame, clipped 250 m inside the city boundary, noded at every crossing and cut into
segments of at most a class-dependent length. The network is the city's, not the seed's: it is the
same for every seed and scale.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

import shapely
from shapely.geometry import LineString, MultiPolygon, Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring, unary_union

from fleet.demo.names import street_names
from fleet.geo.jurisdiction import LocalFrame

SPEED_LIMIT_KMH = {"expressway": 120, "national": 80, "arterial": 60, "secondary": 50, "local": 40}
_MAX_SEGMENT_M = {"expressway": 2000, "national": 1500, "arterial": 1000, "secondary": 1200,
                  "local": 1200}
_CLASS_RANK = {"expressway": 0, "national": 1, "arterial": 2, "secondary": 3, "local": 4}
_INSET_M = 250.0  # roads stay this far inside the city boundary
_MIN_PIECE_M = 150.0
_GRID_SPACING_M = 700.0
_RURAL_SPACING_M = 8000.0

# Trunk roads as lon/lat control points (roughly where such roads run in Panjin).
_TRUNKS: tuple[tuple[str, str, tuple[tuple[float, float], ...]], ...] = (
    ("京哈高速", "expressway", ((121.55, 41.02), (121.80, 41.07), (122.00, 41.08),
                               (122.16, 41.10), (122.30, 41.17), (122.50, 41.25))),
    ("国道305线", "national", ((121.55, 41.30), (121.80, 41.27), (121.985, 41.252),
                              (122.06, 41.212), (122.25, 41.20), (122.50, 41.21))),
    ("国道228线", "national", ((122.02, 41.46), (122.03, 41.30), (122.088, 41.15),
                              (122.10, 41.00), (122.15, 40.80), (122.20, 40.65))),
)
# Arterials between district centres (codes of TOWN_CENTRES).
_CONNECTORS = (("双兴公路", "211102", "211103"), ("兴洼公路", "211103", "211104"),
               ("双盘公路", "211102", "211122"), ("兴盘公路", "211103", "211122"))


@dataclass(frozen=True)
class Road:
    name: str
    road_class: str
    line: BaseGeometry  # metric frame; LineString or MultiLineString after clipping


@dataclass(frozen=True)
class Segment:
    name: str
    road_class: str
    speed_limit_kmh: int
    local: LineString  # metric frame
    lonlat: LineString  # WGS-84
    start: int  # node ids
    end: int

    @property
    def length_m(self) -> float:
        return self.local.length


@dataclass
class RoadNetwork:
    frame: LocalFrame
    segments: list[Segment]
    node_xy: list[tuple[float, float]]  # metric frame
    adjacency: list[list[tuple[int, int]]]  # node -> (neighbour node, segment index)
    main_nodes: list[int] = field(default_factory=list)  # the largest connected component

    def node_lonlat(self, node: int) -> tuple[float, float]:
        return self.frame.back(*self.node_xy[node])

    def nearest_node(self, lon: float, lat: float, *, classes: frozenset[str] | None = None) -> int:
        """Nearest node of the main component (optionally one touching a road of ``classes``)."""
        x, y = self.frame.forward(Point(lon, lat)).coords[0]
        pool = self.main_nodes
        if classes is not None:
            pool = [n for n in pool
                    if any(self.segments[s].road_class in classes for _, s in self.adjacency[n])]
        return min(pool, key=lambda n: ((self.node_xy[n][0] - x) ** 2
                                        + (self.node_xy[n][1] - y) ** 2, n))

    def shortest_paths(self, source: int, penalty: Mapping[str, float] | None = None,
                       ) -> list[tuple[int, int] | None]:
        """Dijkstra on travel time from ``source``: per node, (previous node, segment) or None."""
        penalty = penalty or {}
        best = [math.inf] * len(self.node_xy)
        previous: list[tuple[int, int] | None] = [None] * len(self.node_xy)
        best[source] = 0.0
        queue = [(0.0, source)]
        while queue:
            cost, node = heapq.heappop(queue)
            if cost > best[node]:
                continue
            for neighbour, index in self.adjacency[node]:
                segment = self.segments[index]
                step = (segment.length_m / segment.speed_limit_kmh
                        * penalty.get(segment.road_class, 1.0))
                if cost + step < best[neighbour]:
                    best[neighbour] = cost + step
                    previous[neighbour] = (node, index)
                    heapq.heappush(queue, (cost + step, neighbour))
        return previous

    def path_line(self, previous: list[tuple[int, int] | None], source: int, target: int,
                  *, metric: bool = False) -> LineString | None:
        """The route from ``source`` to ``target`` as one LineString (None if unreachable)."""
        if source == target:
            return None
        steps: list[tuple[int, int]] = []
        node = target
        while node != source:
            step = previous[node]
            if step is None:
                return None
            steps.append((step[0], step[1]))
            node = step[0]
        coords: list[tuple[float, float]] = []
        for from_node, index in reversed(steps):
            segment = self.segments[index]
            line = segment.local if metric else segment.lonlat
            points = list(line.coords)
            if segment.start != from_node:
                points.reverse()
            coords.extend(points if not coords else points[1:])
        return LineString(coords)


def _lines_to_metric(frame: LocalFrame, points: tuple[tuple[float, float], ...]) -> LineString:
    return frame.forward(LineString(points))


def _town_roads(frame: LocalFrame, centres: Mapping[str, tuple[float, float, float]],
                rng: random.Random) -> list[Road]:
    roads: list[Road] = []
    reaches = [int((radius - 300) // _GRID_SPACING_M) for _, _, radius in centres.values()]
    lines_each_way = sum(2 * reach + 1 for reach in reaches)
    ew_names = iter(street_names(rng, lines_each_way, ("大街", "街", "道")))
    ns_names = iter(street_names(rng, lines_each_way, ("路", "大路", "巷")))
    for (lon, lat, radius), reach in zip(centres.values(), reaches, strict=True):
        cx, cy = frame.forward(Point(lon, lat)).coords[0]
        disk = Point(cx, cy).buffer(radius, quad_segs=16)
        for k in range(-reach, reach + 1):
            offset = k * _GRID_SPACING_M
            road_class = "arterial" if k == 0 else ("secondary" if k % 2 == 0 else "local")
            # Arterials run on well beyond the town: the main streets become the roads out.
            half = radius * 2.2 if k == 0 else radius
            ew: BaseGeometry = LineString([(cx - half, cy + offset), (cx + half, cy + offset)])
            ns: BaseGeometry = LineString([(cx + offset, cy - half), (cx + offset, cy + half)])
            if k != 0:
                ew, ns = ew.intersection(disk), ns.intersection(disk)
            roads.append(Road(next(ew_names), road_class, ew))
            roads.append(Road(next(ns_names), road_class, ns))
    return roads


def _rural_roads(frame: LocalFrame, city: BaseGeometry, towns: BaseGeometry) -> list[Road]:
    minx, miny, maxx, maxy = city.bounds
    roads: list[Road] = []
    number = 0
    x = minx + _RURAL_SPACING_M / 2
    while x < maxx:
        number += 1
        roads.append(Road(f"X{number:03d}县道" if number % 2 else f"Y{number:03d}乡道",
                          "secondary" if number % 2 else "local",
                          LineString([(x, miny), (x, maxy)]).difference(towns)))
        x += _RURAL_SPACING_M
    y = miny + _RURAL_SPACING_M / 2
    while y < maxy:
        number += 1
        roads.append(Road(f"X{number:03d}县道" if number % 2 else f"Y{number:03d}乡道",
                          "secondary" if number % 2 else "local",
                          LineString([(minx, y), (maxx, y)]).difference(towns)))
        y += _RURAL_SPACING_M
    return roads


def _split(line: LineString, max_length: float) -> list[LineString]:
    pieces = max(1, math.ceil(line.length / max_length))
    if pieces == 1:
        return [line]
    step = line.length / pieces
    return [substring(line, i * step, (i + 1) * step) for i in range(pieces)]


def build_network(districts: Mapping[str, MultiPolygon],
                  centres: Mapping[str, tuple[float, float, float]]) -> RoadNetwork:
    """Lay out, clip, node and segment the network; index it as a graph."""
    city_lonlat = unary_union(list(districts.values()))
    minx, miny, maxx, maxy = city_lonlat.bounds
    frame = LocalFrame((minx + maxx) / 2, (miny + maxy) / 2)
    city = frame.forward(city_lonlat)
    inside = city.buffer(-_INSET_M)
    shapely.prepare(inside)
    rng = random.Random("fleetwatch-demo/road-names")  # the city's names, not the seed's

    roads = [Road(name, cls, _lines_to_metric(frame, pts)) for name, cls, pts in _TRUNKS]
    centre_xy = {code: frame.forward(Point(lon, lat)).coords[0]
                 for code, (lon, lat, _) in centres.items()}
    roads += [Road(name, "arterial", LineString([centre_xy[a], centre_xy[b]]))
              for name, a, b in _CONNECTORS if a in centre_xy and b in centre_xy]
    roads += _town_roads(frame, centres, rng)
    towns = unary_union([Point(*centre_xy[c]).buffer(r + 200.0) for c, (_, _, r)
                         in centres.items()])
    roads += _rural_roads(frame, city, towns)

    clipped: list[Road] = []
    for road in roads:
        kept = [p for p in _line_parts(road.line.intersection(inside)) if p.length >= _MIN_PIECE_M]
        clipped += [Road(road.name, road.road_class, p) for p in kept]
    return _index(frame, clipped)


def _line_parts(geometry: BaseGeometry) -> list[LineString]:
    if isinstance(geometry, LineString):
        return [] if geometry.is_empty else [geometry]
    if hasattr(geometry, "geoms"):
        return [p for member in geometry.geoms for p in _line_parts(member)]
    return []


def _index(frame: LocalFrame, roads: list[Road]) -> RoadNetwork:
    noded = _line_parts(unary_union([road.line for road in roads]))
    tree = shapely.STRtree([road.line for road in roads])
    node_ids: dict[tuple[float, float], int] = {}
    node_xy: list[tuple[float, float]] = []

    def node(xy: tuple[float, float]) -> int:
        key = (round(xy[0]), round(xy[1]))  # metres: merges slivers left by noding
        if key not in node_ids:
            node_ids[key] = len(node_xy)
            node_xy.append(key)
        return node_ids[key]

    segments: list[Segment] = []
    for piece in noded:
        middle = piece.interpolate(0.5, normalized=True)
        owners = tree.query_nearest(middle, all_matches=True)
        road = min((roads[i] for i in owners), key=lambda r: (_CLASS_RANK[r.road_class], r.name))
        for part in _split(piece, _MAX_SEGMENT_M[road.road_class]):
            start, end = node(part.coords[0]), node(part.coords[-1])
            if start == end:
                continue
            segments.append(Segment(name=road.name, road_class=road.road_class,
                                    speed_limit_kmh=SPEED_LIMIT_KMH[road.road_class],
                                    local=part, lonlat=frame.backward(part), start=start, end=end))
    adjacency: list[list[tuple[int, int]]] = [[] for _ in node_xy]
    for index, segment in enumerate(segments):
        adjacency[segment.start].append((segment.end, index))
        adjacency[segment.end].append((segment.start, index))
    network = RoadNetwork(frame=frame, segments=segments, node_xy=node_xy, adjacency=adjacency)
    network.main_nodes = _largest_component(adjacency)
    return network


def _largest_component(adjacency: list[list[tuple[int, int]]]) -> list[int]:
    seen = [False] * len(adjacency)
    best: list[int] = []
    for start in range(len(adjacency)):
        if seen[start]:
            continue
        seen[start] = True
        component, stack = [start], [start]
        while stack:
            for neighbour, _ in adjacency[stack.pop()]:
                if not seen[neighbour]:
                    seen[neighbour] = True
                    component.append(neighbour)
                    stack.append(neighbour)
        if len(component) > len(best):
            best = component
    return sorted(best)
