"""Which district owns a point, on the real (repaired) Panjin boundaries."""

from __future__ import annotations

import itertools

import pytest
import shapely
from geopy.distance import geodesic
from shapely.geometry import MultiPolygon, Point
from shapely.ops import nearest_points, unary_union

from fleet.geo.boundaries import default_geojson_path, import_districts, load_geojson, read_features
from fleet.geo.jurisdiction import DistrictResolver

# A notch in the city border between 盘山县 and a 兴隆台区 enclave: covered by neither polygon,
# 32 m from 盘山县 and about 110 m from 兴隆台区.
SLIVER = (121.66178521357104, 41.04962740669859)


@pytest.fixture(scope="module")
def boundaries() -> dict[str, MultiPolygon]:
    path = default_geojson_path()
    assert path.exists(), f"boundary file not found at {path}; set FLEET_GEO_DIR"
    return {f.code: f.geometry for f in read_features(load_geojson(path))}


@pytest.fixture(scope="module")
def resolver(boundaries: dict[str, MultiPolygon]) -> DistrictResolver:
    return DistrictResolver(boundaries, snap_metres=1000)


def _geodesic_distance(geometry: MultiPolygon, lon: float, lat: float) -> float:
    near = nearest_points(geometry, Point(lon, lat))[0]
    return geodesic((lat, lon), (near.y, near.x)).meters


def test_every_enclave_of_xinglongtai_belongs_to_it(boundaries, resolver) -> None:
    parts = sorted(boundaries["211103"].geoms, key=lambda p: p.area)
    enclaves = parts[:-1]  # all but the main body
    assert len(enclaves) >= 10
    for part in enclaves:
        point = part.representative_point()
        surrounding = [c for c in ("211104", "211122")
                       if boundaries[c].distance(point) < 0.02]
        assert surrounding, "an enclave lies inside 大洼区 or 盘山县"
        assert resolver.district_code_at(point.x, point.y) == "211103"


def test_point_exactly_on_a_shared_edge_gets_one_deterministic_district(boundaries) -> None:
    shared = sorted(set(map(tuple, shapely.get_coordinates(boundaries["211102"])))
                    & set(map(tuple, shapely.get_coordinates(boundaries["211103"]))))
    lon, lat = shared[len(shared) // 2]
    point = Point(lon, lat)
    assert boundaries["211102"].covers(point) and boundaries["211103"].covers(point)
    answers = set()
    for order in itertools.permutations(boundaries):  # build order must not matter
        built = DistrictResolver({code: boundaries[code] for code in order}, snap_metres=1000)
        resolution = built.resolve(lon, lat)
        assert resolution.how == "shared"
        answers.add(resolution.code)
    # 双台子区 (one part, 76 km²) is smaller than the 兴隆台区 body that shares the edge.
    assert answers == {"211102"}


def test_point_computed_on_an_edge_between_vertices_is_still_shared(boundaries, resolver) -> None:
    common = boundaries["211102"].boundary.intersection(boundaries["211103"].boundary)
    edge = max(common.geoms, key=lambda g: g.length)
    middle = edge.interpolate(0.5, normalized=True)
    resolution = resolver.resolve(middle.x, middle.y)
    assert resolution.code == "211102"
    assert resolution.how == "shared"


def test_triple_junction_gets_one_district(boundaries, resolver) -> None:
    coords = [set(map(tuple, shapely.get_coordinates(boundaries[c])))
              for c in ("211102", "211103", "211122")]
    junction = sorted(coords[0] & coords[1] & coords[2])[0]
    assert resolver.district_code_at(*junction) == "211102"


def test_overlap_left_by_the_source_goes_to_the_smallest_part(boundaries, resolver) -> None:
    overlap = boundaries["211103"].intersection(boundaries["211104"])
    speck = max((g for g in getattr(overlap, "geoms", [overlap]) if g.area > 0),
                key=lambda g: g.area)
    point = speck.representative_point()
    covering = {code: min(p.area for p in boundaries[code].geoms if p.covers(point))
                for code in ("211103", "211104")}
    expected = min(covering, key=lambda code: (covering[code], code))
    assert resolver.resolve(point.x, point.y).code == expected == "211104"


def test_point_in_a_sliver_goes_to_the_nearest_district(boundaries, resolver) -> None:
    lon, lat = SLIVER
    assert not any(g.covers(Point(lon, lat)) for g in boundaries.values())
    distances = {code: _geodesic_distance(g, lon, lat) for code, g in boundaries.items()}
    nearest = min(distances, key=lambda code: (distances[code], code))
    within = [code for code, d in distances.items() if d <= 1000]
    assert len(within) >= 2, "a gap between two neighbours"
    resolution = resolver.resolve(lon, lat)
    assert resolution.code == nearest == "211122"
    assert resolution.how == "snapped"
    assert resolution.distance_m == pytest.approx(distances[nearest], abs=2.0)


def test_points_outside_the_city(boundaries, resolver) -> None:
    assert resolver.district_code_at(123.43, 41.80) is None  # Shenyang
    # 3 km west of the westernmost border point: beyond the default 1 km snap, within 5 km.
    west = min(shapely.get_coordinates(unary_union(list(boundaries.values()))),
               key=lambda c: c[0])
    lon, lat = west[0] - 3000 / (111_320 * 0.753), west[1]
    assert resolver.district_code_at(lon, lat) is None
    wider = DistrictResolver(boundaries, snap_metres=5000)
    assert wider.district_code_at(lon, lat) == "211122"


def test_every_point_of_the_city_has_exactly_one_district(boundaries, resolver) -> None:
    city = unary_union(list(boundaries.values()))
    minx, miny, maxx, maxy = city.bounds
    shapely.prepare(city)
    steps = 60
    for i, j in itertools.product(range(steps), range(steps)):
        lon = minx + (maxx - minx) * (i + 0.5) / steps
        lat = miny + (maxy - miny) * (j + 0.5) / steps
        code = resolver.district_code_at(lon, lat)
        if city.covers(Point(lon, lat)):
            assert code is not None
            assert boundaries[code].covers(Point(lon, lat))


def test_from_db_matches_and_ignores_the_city_row(db, boundaries) -> None:
    features = read_features(load_geojson(default_geojson_path()))
    import_districts(features, parent_code="211100", parent_name="盘锦市")
    from_db = DistrictResolver.from_db(snap_metres=1000)
    assert from_db.codes == ("211102", "211103", "211104", "211122")
    enclave = min(boundaries["211103"].geoms, key=lambda p: p.area).representative_point()
    assert from_db.district_code_at(enclave.x, enclave.y) == "211103"
    assert from_db.district_code_at(*SLIVER) == "211122"
    assert from_db.district_code_at(122.0716, 41.1224) == "211103"


def test_default_snap_comes_from_settings(boundaries, settings) -> None:
    settings.JURISDICTION_SNAP_METRES = 10
    assert DistrictResolver(boundaries).district_code_at(*SLIVER) is None
    settings.JURISDICTION_SNAP_METRES = 1000
    assert DistrictResolver(boundaries).district_code_at(*SLIVER) == "211122"
