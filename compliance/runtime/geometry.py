"""Where a fix is, as the rules ask it: the speed limit there, the restricted zones in force,
whether it is at an approved stop, a bus stop geofence, its distance to a planned route.

Everything metric runs in one local equirectangular frame (fleet.geo.jurisdiction.LocalFrame,
< 1 % scale error across the city), built once per load; per fix the work is a grid-cell cache
hit or a prepared-geometry test, never a database query.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from compliance.engine.model import local
from fleet.geo.boundaries import to_shapely
from fleet.geo.jurisdiction import LocalFrame
from fleet.models.geography import WeeklyWindow, parse_windows, windows_contain

METRES_PER_DEG_LAT = 111_320.0
# A fix within this distance of a road centreline is on that road (GNSS error + lane offset).
ROAD_SNAP_M = 30.0
CELL_M = 25.0
ZONE_CELL_M = 100.0
CITY_CENTRE = (122.07, 41.12)  # used only when no district boundary is loaded


# Up to this many segments a plain loop beats numpy's per-call overhead (measured: 5
# segments 0.95 vs 7.5 µs, 16 segments 2.0 vs 7.8 µs, 61 segments 9.8 vs 10.6 µs).
LOOP_SEGMENTS = 48
# A route's distance is looked up per cell of this size among the segments within
# ROUTE_REACH_M of the cell: exact whenever the nearest of them is within that reach (a
# vehicle on or near its route); farther away, every segment is measured.
ROUTE_CELL_M = 200.0
ROUTE_REACH_M = 500.0  # above the default corridors (100 m bus, 200 m hazmat and coach)
# Grid cells as one integer: a cache key without a tuple to build and hash per fix. Each cell
# index is offset to be positive (any float coordinate on Earth fits 27 bits at 25 m); x goes
# in the high bits and, scrambled with y (y * MIX + x * MIX_X mod 2^27, invertible as MIX is
# odd), in the low ones. Python hashes an int to itself and a dict picks its slot from the low
# bits: unmixed, (x << n) + y, every cell of a row (same y) wanted the same slot, and the road
# cache's lookups crawled along collision chains.
# Final: the compiled rules then use them as machine constants, not module attributes.
CELL_BITS: Final = 27
CELL_MASK: Final = (1 << CELL_BITS) - 1
CELL_OFFSET: Final = 1 << (CELL_BITS - 1)
# Odd and < 2^16: the products stay machine arithmetic when compiled.
CELL_MIX: Final = 40_503
CELL_MIX_X: Final = 48_271
CELL_MIX_INVERSE: Final = 40335239  # CELL_MIX * this = 1 (mod 2^27)


def cell_key(x: float, y: float, size: float) -> int:
    # floor of the quotient, as warm's numpy computes it: the same cell on both sides. Shifts,
    # masks and a small product only: compiled, an operand of 2^31 or more in a product takes
    # the big-integer path (~500 instructions).
    cx = math.floor(x / size) + CELL_OFFSET
    cy = math.floor(y / size) + CELL_OFFSET
    return (cx << CELL_BITS) | ((cy * CELL_MIX + cx * CELL_MIX_X) & CELL_MASK)


def cell_of_key(key: int) -> tuple[int, int]:
    """The (x, y) cell of a key, inverse of cell_key."""
    cx = key >> CELL_BITS
    cy = ((((key & CELL_MASK) - cx * CELL_MIX_X) & CELL_MASK) * CELL_MIX_INVERSE) & CELL_MASK
    return cx - CELL_OFFSET, cy - CELL_OFFSET


class Route:
    """A planned route in local metres. Distance to it per fix is plain arithmetic over the
    segments within reach of the fix's cell (a few, found once per cell); a fix far from the
    route is measured against all of them — a loop for the usual bus and coach lines, numpy for
    long waybill routes. Every way gives the same floating-point result (same operations in
    the same order per segment, the minimum over a set that holds the nearest)."""

    __slots__ = ("ax", "ay", "box", "dx", "dy", "everything", "length2", "line", "near",
                 "segments")

    def __init__(self, line: BaseGeometry) -> None:
        self.line = line
        coords = np.asarray(line.coords, dtype=float)
        if len(coords) < 2:
            coords = np.vstack([coords, coords])
        self.ax, self.ay = coords[:-1, 0], coords[:-1, 1]
        self.dx, self.dy = coords[1:, 0] - self.ax, coords[1:, 1] - self.ay
        self.length2 = np.maximum(self.dx * self.dx + self.dy * self.dy, 1e-12)
        self.everything = list(zip(self.ax.tolist(), self.ay.tolist(), self.dx.tolist(),
                                   self.dy.tolist(), self.length2.tolist(), strict=True))
        self.segments: list[tuple[float, float, float, float, float]] | None = (
            self.everything if len(self.everything) <= LOOP_SEGMENTS else None)
        # Each segment's bounding box grown by the reach: west, south, east, north.
        bx, by = self.ax + self.dx, self.ay + self.dy
        reach = ROUTE_REACH_M
        self.box = (np.minimum(self.ax, bx) - reach, np.minimum(self.ay, by) - reach,
                    np.maximum(self.ax, bx) + reach, np.maximum(self.ay, by) + reach)
        # By route cell: the segments that may be within ROUTE_REACH_M of it (filled as fixes
        # arrive; a superset is enough: the nearest of them, if within reach, is the nearest).
        self.near: dict[int, list[tuple[float, float, float, float, float]]] = {}

    def distance_m(self, x: float, y: float) -> float:
        key = cell_key(x, y, ROUTE_CELL_M)
        near = self.near.get(key)
        if near is None:
            near = self.near[key] = self._segments_near(key)
        if near:
            distance = _nearest_m(near, x, y)
            if distance <= ROUTE_REACH_M:
                return distance
        return self.measured_m(x, y)

    def measured_m(self, x: float, y: float) -> float:
        """The distance over every segment."""
        if self.segments is None:
            t = np.clip(((x - self.ax) * self.dx + (y - self.ay) * self.dy) / self.length2,
                        0.0, 1.0)
            ex, ey = self.ax + t * self.dx - x, self.ay + t * self.dy - y
            return float(np.sqrt((ex * ex + ey * ey).min()))
        return _nearest_m(self.segments, x, y)

    def _segments_near(self, key: int) -> list[tuple[float, float, float, float, float]]:
        """The segments whose grown box meets the cell: every segment within the reach of a
        point of the cell is among them."""
        cx, cy = cell_of_key(key)
        west, south = cx * ROUTE_CELL_M, cy * ROUTE_CELL_M
        east, north = west + ROUTE_CELL_M, south + ROUTE_CELL_M
        x0, y0, x1, y1 = self.box
        hits = np.flatnonzero((x0 <= east) & (x1 >= west) & (y0 <= north) & (y1 >= south))
        if len(self.near) > 200_000:
            self.near.clear()
        everything = self.everything
        return [everything[i] for i in hits.tolist()]

    def __reduce__(self) -> tuple[type, tuple[BaseGeometry]]:
        return Route, (self.line,)


def _digest(tables: list[list[Any]]) -> bytes:
    """A fingerprint of stored rows: geometries by their EWKB, other values by their repr."""
    digest = hashlib.blake2b(digest_size=16)
    for rows in tables:
        digest.update(b"\x1e")
        for row in rows:
            for value in row if isinstance(row, tuple) else (row,):
                ewkb = getattr(value, "ewkb", None)
                digest.update(bytes(ewkb) if ewkb is not None else repr(value).encode())
                digest.update(b"\x1f")
    return digest.digest()


def _nearest_m(segments: list[tuple[float, float, float, float, float]], x: float,
               y: float) -> float:
    nearest = math.inf
    for ax, ay, dx, dy, length2 in segments:
        t = ((x - ax) * dx + (y - ay) * dy) / length2
        t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
        ex, ey = ax + t * dx - x, ay + t * dy - y
        squared = ex * ex + ey * ey
        if squared < nearest:
            nearest = squared
    return math.sqrt(nearest)


@dataclass(frozen=True, slots=True)
class ZoneShape:
    id: int
    kind: str
    shape: BaseGeometry  # lon/lat, prepared
    # Its weekly windows (Zone.time_windows), parsed once: asked per fix.
    weekly: tuple[WeeklyWindow, ...]
    speed_limit_kmh: float | None

    def in_force(self, moment: dt.datetime) -> bool:
        if not self.weekly:  # always in force: no local time to work out
            return True
        return windows_contain(self.weekly, local(moment))


@dataclass(frozen=True, slots=True)
class StopShape:
    id: int
    x: float
    y: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class RoadAt:
    limit_kmh: float
    expressway: bool


_UNKNOWN = RoadAt(-1.0, False)  # a cell not looked up yet (None is "no road there")


@dataclass
class CityGeometry:
    frame: LocalFrame = field(default_factory=lambda: LocalFrame(*CITY_CENTRE))
    road_attrs: list[RoadAt] = field(default_factory=list)
    road_tree: STRtree | None = None
    zones: list[ZoneShape] = field(default_factory=list)
    zone_tree: STRtree | None = None
    bus_routes: dict[int, Route] = field(default_factory=dict)
    bus_stops: dict[int, list[StopShape]] = field(default_factory=dict)
    coach_routes: dict[int, Route] = field(default_factory=dict)
    # By cell_key: the road of a 25 m cell, and the zones holding / crossing a 100 m cell.
    _road_cache: dict[int, RoadAt | None] = field(default_factory=dict)
    _zone_cache: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = field(
        default_factory=dict)
    # The last warmed batch's points in cells that zones cross: which of those zones hold each
    # point (lon, lat), tested in one vectorised call per zone. One call per fix was 10-12 % of
    # the rules' time. Always true while the zones are these (a new load is a new geometry).
    _point_zones: dict[tuple[float, float], tuple[int, ...]] = field(default_factory=dict)
    # The same for points asked only about zones with a speed limit (see zones_at's every).
    _point_speed_zones: dict[tuple[float, float], tuple[int, ...]] = field(default_factory=dict)
    digest: bytes = b""  # of the stored rows it was built from (from_db)
    # The frame's constants as plain floats of this (compiled) class: xy runs for every fix.
    _lon0: float = field(default=0.0, init=False)
    _lat0: float = field(default=0.0, init=False)
    _kx: float = field(default=1.0, init=False)

    def __post_init__(self) -> None:
        self._lon0, self._lat0, self._kx = (float(self.frame.lon0), float(self.frame.lat0),
                                            float(self.frame.kx))

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def from_db(cls, previous: CityGeometry | None = None) -> CityGeometry:
        """The city's geometry as stored; ``previous`` itself when nothing it was built from
        changed, so that its cell caches (filled fix by fix, costly to refill) outlive the
        facts' periodic reload."""
        from fleet.models import BusLine, BusStop, CoachLine, District, RoadSegment, Zone

        extent = list(District.objects.exclude(boundary=None).values_list("boundary", flat=True))
        roads = list(RoadSegment.objects.values_list("geometry", "speed_limit_kmh",
                                                     "road_class"))
        zones = list(Zone.objects.filter(active=True).values_list(
            "pk", "kind", "geometry", "time_windows", "speed_limit_kmh"))
        bus_lines = list(BusLine.objects.values_list("pk", "route"))
        stops = list(BusStop.objects.values_list("pk", "line_id", "location", "radius_m"))
        coach_lines = list(CoachLine.objects.values_list("pk", "route"))
        digest = _digest([extent, roads, zones, bus_lines, stops, coach_lines])
        if previous is not None and previous.digest == digest:
            return previous
        boundaries = [to_shapely(b) for b in extent]
        if boundaries:
            centre = shapely.union_all(boundaries).envelope.centroid
            geometry = cls(frame=LocalFrame(centre.x, centre.y))
        else:
            geometry = cls()
        geometry.digest = digest
        geometry.road_attrs = [RoadAt(float(limit), road_class == "expressway")
                               for _, limit, road_class in roads]
        if roads:
            geometry.road_tree = STRtree([geometry.frame.forward(to_shapely(g))
                                          for g, _, _ in roads])
        for pk, kind, shape, windows, limit in zones:
            polygon = to_shapely(shape)
            shapely.prepare(polygon)
            geometry.zones.append(ZoneShape(pk, kind, polygon, parse_windows(windows or []),
                                            float(limit) if limit else None))
        if geometry.zones:
            geometry.zone_tree = STRtree([z.shape for z in geometry.zones])
        for pk, route in bus_lines:
            geometry.bus_routes[pk] = geometry.route(route)
        for pk, line_id, point, radius in stops:
            x, y = geometry.xy(point.x, point.y)
            geometry.bus_stops.setdefault(line_id, []).append(StopShape(pk, x, y, radius))
        for pk, route in coach_lines:
            geometry.coach_routes[pk] = geometry.route(route)
        return geometry

    def route(self, line: Any) -> Route:
        """A GeoDjango or shapely line in the local frame."""
        shape = line if isinstance(line, BaseGeometry) else to_shapely(line)
        return Route(self.frame.forward(shape))

    # -- per fix ----------------------------------------------------------------------------
    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self._lon0) * self._kx, (lat - self._lat0) * METRES_PER_DEG_LAT

    def warm(self, lons: np.ndarray, lats: np.ndarray, every: list[bool] | None = None) -> None:
        """Answer the road and zone questions of a whole batch of fixes in a few vectorised
        calls, filling the cell caches that road_at / zones_at then hit. Moving vehicles reach
        new cells all the time, and one shapely call per fix cost more than all the rules.
        The answers are the ones road_at / zones_at would compute (same cell, same test).
        ``every``, by point: whether its vehicle asks about every zone or only those with a
        speed limit (zones_at's ``every``); all of them when not given."""
        if len(lons) == 0:
            return
        xs = (lons - self.frame.lon0) * self.frame.kx
        ys = (lats - self.frame.lat0) * METRES_PER_DEG_LAT
        if self.road_tree is not None:
            self._warm_roads(xs, ys)
        if self.zone_tree is not None:
            self._warm_zones(xs, ys, lons, lats, every)

    @staticmethod
    def _cells_of(xs: np.ndarray, ys: np.ndarray, size: float) -> list[int]:
        """The cell_key of each point, in order."""
        # floor(x / size), as cell_key computes it (IEEE division, then floor): the same keys.
        cx = np.floor(xs / size).astype(np.int64) + CELL_OFFSET
        cy = np.floor(ys / size).astype(np.int64) + CELL_OFFSET
        keys = (cx << CELL_BITS) | ((cy * CELL_MIX + cx * CELL_MIX_X) & CELL_MASK)
        return keys.tolist()  # type: ignore[no-any-return]

    @staticmethod
    def _new_cells(cells: list[int], cache: dict[int, Any]) -> list[int]:
        return [cell for cell in set(cells) if cell not in cache]

    @staticmethod
    def _grid(cells: list[int]) -> np.ndarray:
        """(x cell, y cell) rows of these keys, as floats (cell_of_key, vectorised)."""
        keys = np.asarray(cells, dtype=np.int64)
        cx = keys >> CELL_BITS
        cy = ((((keys & CELL_MASK) - cx * CELL_MIX_X) & CELL_MASK) * CELL_MIX_INVERSE) & CELL_MASK
        return np.column_stack([cx - CELL_OFFSET, cy - CELL_OFFSET]).astype(float)

    def _warm_roads(self, xs: np.ndarray, ys: np.ndarray) -> None:
        cells = self._new_cells(self._cells_of(xs, ys, CELL_M), self._road_cache)
        if not cells:
            return
        grid = self._grid(cells)
        centres = shapely.points((grid[:, 0] + 0.5) * CELL_M, (grid[:, 1] + 0.5) * CELL_M)
        assert self.road_tree is not None
        inputs, roads = self.road_tree.query(centres, predicate="dwithin", distance=ROAD_SNAP_M)
        found: list[RoadAt | None] = [None] * len(cells)
        if len(inputs):
            distances = shapely.distance(self.road_tree.geometries.take(roads), centres[inputs])
            # Per cell the nearest road; lexsort is stable, so ties go to the first hit, as
            # road_at's argmin does.
            order = np.lexsort((distances, inputs))
            inputs, roads = inputs[order], roads[order]
            first = np.ones(len(inputs), dtype=bool)
            first[1:] = inputs[1:] != inputs[:-1]
            for cell_index, road_index in zip(inputs[first].tolist(), roads[first].tolist(),
                                              strict=True):
                found[cell_index] = self.road_attrs[road_index]
        if len(self._road_cache) + len(cells) > 2_000_000:
            self._road_cache.clear()
        self._road_cache.update(zip(cells, found, strict=True))

    def _warm_zones(self, xs: np.ndarray, ys: np.ndarray, lons: np.ndarray,
                    lats: np.ndarray, every: list[bool] | None) -> None:
        cells = self._cells_of(xs, ys, ZONE_CELL_M)
        new = self._new_cells(cells, self._zone_cache)
        if new:
            self._classify_cells(new)
        self._test_crossed_points(cells, lons, lats, every)

    def _classify_cells(self, cells: list[int]) -> None:
        grid = self._grid(cells)
        west, south = self.frame.back(grid[:, 0] * ZONE_CELL_M, grid[:, 1] * ZONE_CELL_M)
        east, north = self.frame.back((grid[:, 0] + 1) * ZONE_CELL_M,
                                      (grid[:, 1] + 1) * ZONE_CELL_M)
        boxes = shapely.box(west, south, east, north)
        assert self.zone_tree is not None
        inputs, zones = self.zone_tree.query(boxes)
        shapes = self.zone_tree.geometries.take(zones)
        holds = shapely.contains(shapes, boxes[inputs])
        touches = shapely.intersects(shapes, boxes[inputs])
        inside: list[list[int]] = [[] for _ in cells]
        crossing: list[list[int]] = [[] for _ in cells]
        for cell_index, zone_index, whole, some in zip(inputs.tolist(), zones.tolist(),
                                                       holds.tolist(), touches.tolist(),
                                                       strict=True):
            if whole:
                inside[cell_index].append(zone_index)
            elif some:
                crossing[cell_index].append(zone_index)
        if len(self._zone_cache) + len(cells) > 2_000_000:
            self._zone_cache.clear()
        self._zone_cache.update(
            (cell, (tuple(sorted(a)), tuple(sorted(b))))
            for cell, a, b in zip(cells, inside, crossing, strict=True))

    def _test_crossed_points(self, cells: list[int], lons: np.ndarray, lats: np.ndarray,
                             every: list[bool] | None) -> None:
        """Fill _point_zones (_point_speed_zones for points asking only about zones with a
        speed limit) for the points (of zone cells ``cells``) whose cell a zone crosses: the
        test zones_at would make per point, here one call per zone for all its points."""
        points_of: dict[int, list[int]] = {}
        asked: dict[int, bool] = {}  # by point index: asked about every zone
        zones = self.zones
        for index, cell in enumerate(cells):
            found = self._zone_cache.get(cell)
            if found is None or not found[1]:  # nothing crossing (or the cache was cleared
                continue  # while warming: classified when asked)
            all_zones = every is None or every[index]
            asked[index] = all_zones
            for zone_index in found[1]:
                if all_zones or zones[zone_index].speed_limit_kmh is not None:
                    points_of.setdefault(zone_index, []).append(index)
        self._point_zones, self._point_speed_zones = {}, {}
        if not points_of:
            return
        lon_list, lat_list = lons.tolist(), lats.tolist()
        holding: dict[int, list[int]] = {}
        for zone_index in sorted(points_of):
            indexes = points_of[zone_index]
            inside = shapely.intersects_xy(zones[zone_index].shape, lons[indexes],
                                           lats[indexes])
            for index, holds in zip(indexes, inside.tolist(), strict=True):
                held = holding.setdefault(index, [])
                if holds:
                    held.append(zone_index)
        for index, held in holding.items():
            target = self._point_zones if asked[index] else self._point_speed_zones
            target[(lon_list[index], lat_list[index])] = tuple(held)

    def road_at(self, x: float, y: float) -> RoadAt | None:
        """The road under the fix: the centreline nearest to its 25 m grid cell's centre, if
        within ROAD_SNAP_M. Nearest, not lowest limit: a truck on an expressway beside a
        40 km/h service road is on the expressway."""
        key = cell_key(x, y, CELL_M)
        found = self._road_cache.get(key, _UNKNOWN)
        if found is not _UNKNOWN:
            return found
        found = None
        if self.road_tree is not None:
            # Judge at the cell centre: every fix of a 25 m cell gets the same answer, which is
            # what makes the cache exact rather than approximate.
            cx, cy = cell_of_key(key)
            centre = Point((cx + 0.5) * CELL_M, (cy + 0.5) * CELL_M)
            # One C call with the distance predicate (query_nearest's Python wrapper cost more
            # than the search); ties between several roads in reach go to the nearest.
            hits = self.road_tree.query(centre, predicate="dwithin", distance=ROAD_SNAP_M)
            if len(hits) == 1:
                found = self.road_attrs[int(hits[0])]
            elif len(hits) > 1:
                distances = shapely.distance(self.road_tree.geometries.take(hits), centre)
                found = self.road_attrs[int(hits[int(np.argmin(distances))])]
        if len(self._road_cache) > 2_000_000:
            self._road_cache.clear()
        self._road_cache[key] = found
        return found

    def zones_at(self, lon: float, lat: float, x: float, y: float,
                 every: bool = True) -> list[ZoneShape]:
        """Zones containing the point, exactly; with ``every`` false only those with a speed
        limit (all a taxi's or a coach's rules ask: testing the others, bus stops and depots
        mostly, was most of the zone work). Per 100 m cell the zones are sorted once into
        those that hold the whole cell (no test needed), those that cross it (tested point by
        point) and the rest (ignored), so most fixes cost a dictionary lookup."""
        if self.zone_tree is None:
            return []
        key = cell_key(x, y, ZONE_CELL_M)
        found = self._zone_cache.get(key)
        if found is None:
            found = self._zone_cache[key] = self._classify(cell_of_key(key))
        inside, crossing = found
        zones = self.zones
        if not every:
            if inside:
                inside = tuple(i for i in inside if zones[i].speed_limit_kmh is not None)
            if crossing:
                crossing = tuple(i for i in crossing if zones[i].speed_limit_kmh is not None)
        if not crossing:
            return [zones[i] for i in inside]
        holding = self._point_zones.get((lon, lat))
        if holding is not None and not every:
            holding = tuple(i for i in holding if zones[i].speed_limit_kmh is not None)
        elif holding is None and not every:
            holding = self._point_speed_zones.get((lon, lat))
        if holding is None:  # not warmed (a unit test, a point of another batch)
            holding = tuple(i for i in crossing
                            if shapely.intersects_xy(zones[i].shape, lon, lat))
        return [zones[i] for i in inside] + [zones[i] for i in holding]

    def _classify(self, cell: tuple[int, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        box = shapely.box(*self.frame.back(cell[0] * ZONE_CELL_M, cell[1] * ZONE_CELL_M),
                          *self.frame.back((cell[0] + 1) * ZONE_CELL_M,
                                           (cell[1] + 1) * ZONE_CELL_M))
        inside, crossing = [], []
        for index in self.zone_tree.query(box):  # type: ignore[union-attr]
            shape = self.zones[int(index)].shape
            if shape.contains(box):
                inside.append(int(index))
            elif shape.intersects(box):
                crossing.append(int(index))
        if len(self._zone_cache) > 2_000_000:
            self._zone_cache.clear()
        return tuple(sorted(inside)), tuple(sorted(crossing))

    def speed_limit(self, road: RoadAt | None, zones: list[ZoneShape],
                    at: dt.datetime) -> float | None:
        """The lowest of the road's limit and those of the zones in force here."""
        lowest = None if road is None else road.limit_kmh
        for zone in zones:
            limit = zone.speed_limit_kmh
            if limit is not None and (lowest is None or limit < lowest) and zone.in_force(at):
                lowest = limit
        return lowest

    def stop_of_line(self, line_id: int, x: float, y: float) -> int | None:
        for stop in self.bus_stops.get(line_id, ()):
            dx, dy, radius = stop.x - x, stop.y - y, stop.radius_m
            # The box test first: the exact one only for the stop or two within reach.
            if -radius <= dx <= radius and -radius <= dy <= radius and (
                    math.hypot(dx, dy) <= radius):
                return stop.id
        return None
