"""The road network as a graph (nodes = segment endpoints) with A* shortest paths, and `Route`:
a metric polyline annotated with the speed limit of every stretch and the junctions it passes.

Built once from plain segment rows (world.py loads them); no Django here. A waybill route or a bus
line given as a lon/lat LineString is turned into a `Route` by matching its vertex pairs to the
segments they came from, so the vehicle knows the limit of the road it is on.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import shapely

from fleet.simulator.geometry import Frame, Polyline, dist, join

MERGE_M = 2.0  # endpoints closer than this are one junction
ALONGSIDE_M = 40.0  # roads within this distance of each other ...
ALONGSIDE_OVERLAP_M = 120.0  # ... over this length run side by side
_GRID_M = 400.0
_FASTEST_MS = 130 / 3.6  # A* heuristic: no road is faster than this
_DEFAULT_LIMIT = 40
_ROUTE_CACHE = 20_000


@dataclass(frozen=True, slots=True)
class SegmentRow:
    """One RoadSegment as plain data; `zone_limit` is the lowest speed-zone limit it crosses."""

    name: str
    road_class: str
    limit: int
    coords: tuple[tuple[float, float], ...]  # lon, lat
    zone_limit: int | None = None


@dataclass(slots=True)
class Edge:
    index: int
    a: int
    b: int
    name: str
    road_class: str
    road_limit: int
    limit: int  # lowest of the road, any speed zone it crosses and any road running alongside
    line: Polyline  # from a to b
    top: int = 0  # highest road limit along it (itself and roads running alongside)

    @property
    def length(self) -> float:
        return self.line.length


@dataclass(slots=True)
class Span:
    """A stretch [s0, s1) of a route on one road."""

    s0: float
    s1: float
    limit: int
    road_class: str
    edge: int  # -1 when the stretch matched no segment
    top: int = 0  # highest road limit a map matcher could give a fix on this stretch


@dataclass(slots=True)
class Route:
    line: Polyline
    spans: list[Span]
    nodes: list[tuple[float, int]] = field(default_factory=list)  # (distance, junction)

    @property
    def length(self) -> float:
        return self.line.length

    def span_at(self, s: float) -> Span:
        starts = [sp.s0 for sp in self.spans]
        i = max(0, bisect.bisect_right(starts, s) - 1)
        return self.spans[i]

    def sub(self, s0: float, s1: float) -> Route:
        s0, s1 = max(0.0, s0), min(self.length, s1)
        spans = [Span(max(sp.s0, s0) - s0, min(sp.s1, s1) - s0, sp.limit, sp.road_class, sp.edge,
                      sp.top) for sp in self.spans if sp.s1 > s0 and sp.s0 < s1]
        nodes = [(s - s0, n) for s, n in self.nodes if s0 <= s <= s1]
        return Route(self.line.sub(s0, s1), spans, nodes)

    def reversed(self) -> Route:
        total = self.length
        spans = [Span(total - sp.s1, total - sp.s0, sp.limit, sp.road_class, sp.edge, sp.top)
                 for sp in reversed(self.spans)]
        return Route(self.line.reversed(), spans, [(total - s, n) for s, n in reversed(self.nodes)])

    @staticmethod
    def concat(parts: Sequence[Route]) -> Route:
        spans: list[Span] = []
        nodes: list[tuple[float, int]] = []
        offset = 0.0
        for part in parts:
            spans += [Span(sp.s0 + offset, sp.s1 + offset, sp.limit, sp.road_class, sp.edge,
                           sp.top) for sp in part.spans]
            nodes += [(s + offset, n) for s, n in part.nodes]
            offset += part.length
        return Route(join([p.line for p in parts]), spans, nodes)


class RoadGraph:
    def __init__(self, frame: Frame, rows: Iterable[SegmentRow]) -> None:
        self.frame = frame
        self.node_xy: list[tuple[float, float]] = []
        self.edges: list[Edge] = []
        self._node_grid: dict[tuple[int, int], list[int]] = {}
        self._edge_grid: dict[tuple[int, int], list[int]] = {}
        self._vertex_edges: dict[tuple[float, float], list[int]] = {}
        self._vertex_node: dict[tuple[float, float], int] = {}
        for row in rows:
            self._add(row)
        self._alongside()
        self.adjacency: list[list[tuple[int, int]]] = [[] for _ in self.node_xy]
        for edge in self.edges:
            self.adjacency[edge.a].append((edge.b, edge.index))
            self.adjacency[edge.b].append((edge.a, edge.index))
        self.node_min_limit = [min((self.edges[e].limit for _, e in adj), default=_DEFAULT_LIMIT)
                               for adj in self.adjacency]
        self.node_max_limit = [max((self.edges[e].top for _, e in adj), default=_DEFAULT_LIMIT)
                               for adj in self.adjacency]
        self.main = self._largest_component()
        self._routes: OrderedDict[tuple[int, int, tuple[tuple[str, float], ...]], Route | None]
        self._routes = OrderedDict()

    # -- building --------------------------------------------------------------------------------
    @staticmethod
    def _key(lon: float, lat: float) -> tuple[float, float]:
        return (round(lon, 7), round(lat, 7))

    def _node(self, x: float, y: float) -> int:
        cx, cy = int(x // _GRID_M), int(y // _GRID_M)
        for gx in (cx - 1, cx, cx + 1):
            for gy in (cy - 1, cy, cy + 1):
                for n in self._node_grid.get((gx, gy), ()):
                    nx, ny = self.node_xy[n]
                    if abs(nx - x) <= MERGE_M and abs(ny - y) <= MERGE_M:
                        return n
        self.node_xy.append((x, y))
        self._node_grid.setdefault((cx, cy), []).append(len(self.node_xy) - 1)
        return len(self.node_xy) - 1

    def _add(self, row: SegmentRow) -> None:
        xy = [self.frame.xy(lon, lat) for lon, lat in row.coords]
        line = Polyline(xy)
        if line.length < 1.0:
            return
        a, b = self._node(*xy[0]), self._node(*xy[-1])
        if a == b:
            return
        limit = min(row.limit, row.zone_limit or row.limit)
        edge = Edge(len(self.edges), a, b, row.name, row.road_class, row.limit, limit, line)
        self.edges.append(edge)
        for lon, lat in row.coords:
            self._vertex_edges.setdefault(self._key(lon, lat), []).append(edge.index)
        self._vertex_node[self._key(*row.coords[0])] = a
        self._vertex_node[self._key(*row.coords[-1])] = b
        cells = {(int(x // _GRID_M), int(y // _GRID_M)) for x, y in xy}
        for cell in cells:
            self._edge_grid.setdefault(cell, []).append(edge.index)

    def _largest_component(self) -> frozenset[int]:
        """Nodes of the largest connected part: clipping leaves a few islands of road, and a
        vehicle placed on one could go nowhere."""
        seen = [False] * len(self.node_xy)
        best: list[int] = []
        for first in range(len(self.node_xy)):
            if seen[first]:
                continue
            seen[first] = True
            part, stack = [first], [first]
            while stack:
                for neighbour, _ in self.adjacency[stack.pop()]:
                    if not seen[neighbour]:
                        seen[neighbour] = True
                        part.append(neighbour)
                        stack.append(neighbour)
            if len(part) > len(best):
                best = part
        return frozenset(best)

    def _alongside(self) -> None:
        """Roads that run side by side (a town street on top of a trunk road) share limits:
        a fix there may be matched to either, so the lower limit binds a careful driver and
        the higher one is what a speeder must beat."""
        lines = [shapely.LineString(e.line.points) for e in self.edges]
        tree = shapely.STRtree(lines)
        for edge, line in zip(self.edges, lines, strict=True):
            edge.top = edge.road_limit
            band = line.buffer(ALONGSIDE_M)
            for other in tree.query(band, predicate="intersects"):
                if other == edge.index:
                    continue
                if lines[other].intersection(band).length >= ALONGSIDE_OVERLAP_M:
                    neighbour = self.edges[other]
                    edge.limit = min(edge.limit, neighbour.road_limit)
                    edge.top = max(edge.top, neighbour.road_limit)

    # -- queries ---------------------------------------------------------------------------------
    def nodes_near(self, x: float, y: float, radius: float) -> list[int]:
        """Nodes of the main component within `radius` metres."""
        reach = int(radius // _GRID_M) + 1
        cx, cy = int(x // _GRID_M), int(y // _GRID_M)
        out = []
        for gx in range(cx - reach, cx + reach + 1):
            for gy in range(cy - reach, cy + reach + 1):
                for n in self._node_grid.get((gx, gy), ()):
                    nx, ny = self.node_xy[n]
                    if (nx - x) ** 2 + (ny - y) ** 2 <= radius * radius and n in self.main:
                        out.append(n)
        return sorted(out)

    def nearest_node(self, x: float, y: float) -> int:
        for radius in (300.0, 1500.0, 6000.0, 50_000.0):
            near = self.nodes_near(x, y, radius)
            if near:
                return min(near, key=lambda n: (dist(x, y, *self.node_xy[n]), n))
        raise ValueError("the road graph has no nodes")

    def nearest_edge(self, x: float, y: float) -> Edge | None:
        cx, cy = int(x // _GRID_M), int(y // _GRID_M)
        best: tuple[float, int] | None = None
        for gx in (cx - 1, cx, cx + 1):
            for gy in (cy - 1, cy, cy + 1):
                for e in self._edge_grid.get((gx, gy), ()):
                    line = self.edges[e].line
                    s = line.project(x, y, near=0.0)
                    px, py, _ = line.at(s)
                    d = dist(x, y, px, py)
                    if best is None or d < best[0]:
                        best = (d, e)
        return None if best is None else self.edges[best[1]]

    # -- routing ---------------------------------------------------------------------------------
    def route(self, source: int, target: int,
              penalty: Mapping[str, float] | None = None) -> Route | None:
        """Fastest route by travel time at the limits (× `penalty` per road class), A*."""
        if source == target:
            return None
        key = (source, target, tuple(sorted((penalty or {}).items())))
        if key in self._routes:
            self._routes.move_to_end(key)
            return self._routes[key]
        result = self._astar(source, target, penalty or {})
        self._routes[key] = result
        if len(self._routes) > _ROUTE_CACHE:
            self._routes.popitem(last=False)
        return result

    def _astar(self, source: int, target: int, penalty: Mapping[str, float]) -> Route | None:
        tx, ty = self.node_xy[target]
        best = {source: 0.0}
        previous: dict[int, tuple[int, int]] = {}
        sx, sy = self.node_xy[source]
        queue = [(math.hypot(tx - sx, ty - sy) / _FASTEST_MS, 0.0, source)]
        while queue:
            _, cost, node = heapq.heappop(queue)
            if node == target:
                break
            if cost > best.get(node, math.inf):
                continue
            for neighbour, index in self.adjacency[node]:
                edge = self.edges[index]
                step = edge.length / (edge.limit / 3.6) * penalty.get(edge.road_class, 1.0)
                new = cost + step
                if new < best.get(neighbour, math.inf):
                    best[neighbour] = new
                    previous[neighbour] = (node, index)
                    nx, ny = self.node_xy[neighbour]
                    heapq.heappush(queue, (new + math.hypot(tx - nx, ty - ny) / _FASTEST_MS,
                                           new, neighbour))
        if target not in previous:
            return None
        steps: list[tuple[int, int]] = []
        node = target
        while node != source:
            prev, index = previous[node]
            steps.append((prev, index))
            node = prev
        steps.reverse()
        return self._route_from_steps(steps)

    def _route_from_steps(self, steps: list[tuple[int, int]]) -> Route:
        parts: list[Polyline] = []
        spans: list[Span] = []
        nodes: list[tuple[float, int]] = [(0.0, steps[0][0])]
        s = 0.0
        for from_node, index in steps:
            edge = self.edges[index]
            line = edge.line if edge.a == from_node else edge.line.reversed()
            parts.append(line)
            spans.append(Span(s, s + line.length, edge.limit, edge.road_class, index, edge.top))
            s += line.length
            nodes.append((s, edge.b if edge.a == from_node else edge.a))
        return Route(join(parts), spans, nodes)

    def route_from_lonlat(self, coords: Sequence[tuple[float, float]]) -> Route:
        """A route along a given lon/lat line (waybill route, bus line), with the limit of the
        segment each vertex pair lies on (the lower one when ambiguous)."""
        xy = [self.frame.xy(lon, lat) for lon, lat in coords]
        line = Polyline(xy)
        spans: list[Span] = []
        nodes: list[tuple[float, int]] = []
        keys = [self._key(lon, lat) for lon, lat in coords]
        s_of = [line.project(x, y, 0.0, near=0.01) for x, y in xy] if len(line.xs) != len(xy) \
            else line.cum
        for i in range(len(coords)):
            node = self._vertex_node.get(keys[i])
            if node is not None and (not nodes or nodes[-1][1] != node):
                nodes.append((s_of[i], node))
            if i == 0:
                continue
            s0, s1 = s_of[i - 1], s_of[i]
            if s1 <= s0:
                continue
            edge = self._edge_for(keys[i - 1], keys[i], xy[i - 1], xy[i])
            limit = edge.limit if edge else _DEFAULT_LIMIT
            road_class = edge.road_class if edge else "local"
            index = edge.index if edge else -1
            if spans and spans[-1].edge == index and spans[-1].limit == limit:
                spans[-1].s1 = s1
            else:
                spans.append(Span(s0, s1, limit, road_class, index, edge.top if edge else 80))
        if not spans:
            spans.append(Span(0.0, line.length, _DEFAULT_LIMIT, "local", -1, 80))
        return Route(line, spans, nodes)

    def _edge_for(self, ka: tuple[float, float], kb: tuple[float, float],
                  a: tuple[float, float], b: tuple[float, float]) -> Edge | None:
        ea = set(self._vertex_edges.get(ka, ()))
        eb = set(self._vertex_edges.get(kb, ()))
        common = ea & eb or eb or ea
        if common:
            return min((self.edges[e] for e in common), key=lambda e: (e.limit, e.index))
        return self.nearest_edge((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
