"""The rules' city geometry across the facts' periodic reload: kept, with the cell caches it has
filled, while nothing it is built from changed; rebuilt when a road, zone, line or stop did."""

from __future__ import annotations

import datetime as dt

import pytest

from compliance.runtime.geometry import CityGeometry
from tests.compliance.runtime_harness import LAT, LON, box, east, make_road, make_zone, north

pytestmark = pytest.mark.django_db


def test_unchanged_geometry_is_kept_with_its_caches():
    make_road(60)
    first = CityGeometry.from_db()
    x, y = first.xy(LON, LAT)
    assert first.road_at(x, y) is not None  # fills the road cache
    again = CityGeometry.from_db(first)
    assert again is first and again._road_cache


@pytest.mark.parametrize("change", ["zone window", "new zone", "road limit"])
def test_a_changed_source_row_rebuilds_it(change: str):
    road = make_road(60)
    zone = make_zone("hazmat_restricted", box(LON, LAT, LON + east(500), LAT + north(500)))
    first = CityGeometry.from_db()
    if change == "zone window":
        zone.time_windows = [{"days": [1, 2, 3, 4, 5], "start": "07:00", "end": "09:00"}]
        zone.save()
    elif change == "new zone":
        make_zone("school", box(LON, LAT, LON + east(100), LAT + north(100)), limit=30)
    else:
        road.speed_limit_kmh = 40
        road.save()
    rebuilt = CityGeometry.from_db(first)
    assert rebuilt is not first
    x, y = rebuilt.xy(LON + 1e-4, LAT)
    if change == "zone window":
        assert rebuilt.zones[0].weekly[0][1] == dt.time(7, 0)
    elif change == "new zone":
        assert len(rebuilt.zones) == 2
    else:
        road_at = rebuilt.road_at(x, y)
        assert road_at is not None and road_at.limit_kmh == 40
