"""CityGeometry.warm answers a batch's road and zone questions in bulk: the answers must be the
ones the per-fix lookups compute cold (the live pipeline warms, a unit test may not)."""

from __future__ import annotations

import random

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import LineString, Polygon

from compliance.runtime.geometry import (
    ZONE_CELL_M,
    CityGeometry,
    RoadAt,
    ZoneShape,
    cell_key,
)
from fleet.geo.jurisdiction import LocalFrame

FRAME = LocalFrame(122.07, 41.12)


def city(seed: int) -> CityGeometry:
    rng = random.Random(seed)
    geometry = CityGeometry(frame=FRAME)
    roads = []
    for n in range(60):  # crossing and parallel roads, some 20 m apart (ties and near-ties)
        x, y = rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)
        if n % 3 == 0:
            roads.append(LineString([(x, y), (x + 2000, y)]))
            roads.append(LineString([(x, y + 20), (x + 2000, y + 20)]))
        else:
            roads.append(LineString([(x, y), (x + rng.uniform(-2000, 2000),
                                              y + rng.uniform(-2000, 2000))]))
    geometry.road_attrs = [RoadAt(float(30 + 10 * (n % 8)), n % 5 == 0)
                           for n in range(len(roads))]
    geometry.road_tree = STRtree(roads)
    for n in range(12):  # overlapping polygons of all sizes, in lon/lat
        x, y = rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)
        w, h = rng.uniform(50, 2500), rng.uniform(50, 2500)
        ring = [FRAME.back(px, py) for px, py in ((x, y), (x + w, y + h / 3), (x + w / 2, y + h),
                                                  (x - w / 4, y + h / 2))]
        polygon = Polygon(ring)
        shapely.prepare(polygon)
        geometry.zones.append(ZoneShape(n + 1, "hazmat_restricted" if n % 2 else "depot",
                                        polygon, (), 40.0 if n % 3 == 0 else None))
    geometry.zone_tree = STRtree([z.shape for z in geometry.zones])
    return geometry


def test_warmed_answers_equal_cold_ones():
    rng = random.Random(7)
    points = [FRAME.back(rng.uniform(-3500, 3500), rng.uniform(-3500, 3500))
              for _ in range(6000)]
    cold, warm = city(3), city(3)
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    warm.warm(lons, lats)
    assert len(warm._road_cache) > 5000  # the batch filled the caches...
    on_road = in_zone = 0
    for lon, lat in points:
        x, y = cold.xy(lon, lat)
        assert warm.xy(lon, lat) == (x, y)
        road = warm.road_at(x, y)
        assert road == cold.road_at(x, y)
        zones = [z.id for z in warm.zones_at(lon, lat, x, y)]
        assert zones == [z.id for z in cold.zones_at(lon, lat, x, y)]
        on_road += road is not None
        in_zone += bool(zones)
    assert len(warm._road_cache) == len(cold._road_cache)  # ...and no lookup missed them
    assert on_road > 200 and in_zone > 500  # the sample does reach roads and zones
    # Points in cells a zone crosses were tested in bulk, each one (zones_at read them there).
    crossed = [(lon, lat) for lon, lat in points
               if warm._zone_cache[cell_key(*warm.xy(lon, lat), ZONE_CELL_M)][1]]
    assert len(crossed) > 100 and all(point in warm._point_zones for point in crossed)


def test_a_point_warmed_for_speed_zones_only_answers_as_cold():
    """A batch's taxis and coaches ask only about zones with a speed limit, so warm tests
    their points against those alone; each question still gets the cold answer, whichever
    kind of vehicle asks it."""
    rng = random.Random(11)
    points = [FRAME.back(rng.uniform(-3500, 3500), rng.uniform(-3500, 3500))
              for _ in range(4000)]
    every = [rng.random() < 0.3 for _ in points]
    cold, warm = city(3), city(3)
    warm.warm(np.array([p[0] for p in points]), np.array([p[1] for p in points]), every)
    limited = crossed_speed_only = 0
    for (lon, lat), asks_all in zip(points, every, strict=True):
        x, y = cold.xy(lon, lat)
        for ask in (asks_all, not asks_all):
            zones = [z.id for z in warm.zones_at(lon, lat, x, y, ask)]
            assert zones == [z.id for z in cold.zones_at(lon, lat, x, y, ask)]
        speed_zones = warm.zones_at(lon, lat, x, y, False)
        assert all(z.speed_limit_kmh is not None for z in speed_zones)
        limited += bool(speed_zones)
        crossed_speed_only += (lon, lat) in warm._point_speed_zones
    assert limited > 100 and crossed_speed_only > 20  # the sample reaches both cases
    # Points asking about every zone were tested against every crossing zone, as before.
    assert all((lon, lat) not in warm._point_speed_zones
               for (lon, lat), asks_all in zip(points, every, strict=True) if asks_all)


def test_an_empty_batch_or_city_is_harmless():
    geometry = CityGeometry(frame=FRAME)
    geometry.warm(np.array([122.0]), np.array([41.0]))
    geometry.warm(np.empty(0), np.empty(0))
    assert geometry.road_at(0.0, 0.0) is None
    assert geometry.zones_at(122.0, 41.0, 0.0, 0.0) == []


def test_route_distance_loop_equals_numpy_and_shapely():
    """A route's distance is measured among the segments near the fix's cell when the route is
    within reach, else over every segment (a loop for short routes, numpy for long ones): the
    same number to the last bit every way, and the true distance (shapely's) to within float
    noise."""
    from compliance.runtime.geometry import LOOP_SEGMENTS, ROUTE_REACH_M, Route

    rng = random.Random(7)
    near = far = 0
    for vertices in (2, 6, 17, LOOP_SEGMENTS + 1, 90):
        line = LineString([(rng.uniform(-5000, 5000), rng.uniform(-5000, 5000))
                           for _ in range(vertices)])
        route = Route(line)
        by_numpy = Route(line)
        by_numpy.segments = None
        assert (route.segments is None) == (vertices - 1 > LOOP_SEGMENTS)
        # Points on and beside the route (the usual case) and anywhere around it.
        beside = [line.interpolate(rng.uniform(0, line.length)) for _ in range(300)]
        points = [(p.x + rng.uniform(-1500, 1500), p.y + rng.uniform(-1500, 1500))
                  for p in beside] + [(rng.uniform(-6000, 6000), rng.uniform(-6000, 6000))
                                      for _ in range(300)]
        for x, y in points:
            distance = route.distance_m(x, y)
            assert distance == route.measured_m(x, y) == by_numpy.measured_m(x, y)
            assert distance == by_numpy.distance_m(x, y)
            assert abs(distance - line.distance(shapely.Point(x, y))) < 1e-6
            near += distance <= ROUTE_REACH_M
            far += distance > ROUTE_REACH_M
    assert near > 1000 and far > 300  # both ways were taken


def test_cell_keys_round_trip_agree_with_numpy_and_spread_over_dict_slots():
    """A cell key is one int (no tuple per fix), the same from cell_key and from warm's numpy,
    decodes back to its cell anywhere on Earth, and its low bits (a dict's slot) spread a
    city's cells: unmixed, a row of cells shared one slot and lookups crawled."""
    import math

    from compliance.runtime.geometry import cell_of_key

    rng = random.Random(5)
    points = ([(rng.uniform(-3e7, 3e7), rng.uniform(-3e7, 3e7)) for _ in range(5000)]
              + [(rng.uniform(-5e4, 5e4), rng.uniform(-5e4, 5e4)) for _ in range(5000)])
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    for size in (25.0, 100.0, 200.0):
        keys = [cell_key(x, y, size) for x, y in points]
        assert keys == CityGeometry._cells_of(xs, ys, size)
        cells = [(math.floor(x / size), math.floor(y / size)) for x, y in points]
        assert [cell_of_key(k) for k in keys] == cells
        assert [tuple(row) for row in CityGeometry._grid(keys).tolist()] == cells
    block = [cell_key(x * 25.0, y * 25.0, 25.0) for x in range(-200, 200) for y in range(-200, 200)]
    slots = {k & ((1 << 17) - 1) for k in block}  # 160,000 cells over 131,072 slots
    assert len(slots) > 90_000  # ~99,000 for random keys; 400 (one per row) unmixed
