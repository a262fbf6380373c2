"""The boundary importer on the real Panjin file: detection, repair, report, all-or-nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from shapely.geometry import Point, shape

from fleet.geo.boundaries import (
    BoundaryError,
    default_geojson_path,
    import_districts,
    load_geojson,
    read_features,
)
from fleet.models import District

INVALID = {"211103", "211104", "211122"}


@pytest.fixture(scope="module")
def geojson_path() -> Path:
    path = default_geojson_path()
    assert path.exists(), f"boundary file not found at {path}; set FLEET_GEO_DIR"
    return path


@pytest.fixture(scope="module")
def raw(geojson_path: Path) -> dict[str, Any]:
    return load_geojson(geojson_path)


def test_three_invalid_geometries_are_detected_repaired_and_reported(raw: dict[str, Any]) -> None:
    features = read_features(raw)
    reports = {f.code: f.report for f in features}
    assert {code for code, r in reports.items() if not r.was_valid} == INVALID
    assert reports["211102"].was_valid and reports["211102"].note() == ""
    for code in INVALID:
        report = reports[code]
        assert report.reason.startswith("Self-intersection")
        assert report.parts_after < report.parts_before  # touching/overlapping parts merged
        # The repair keeps the district's ground: area changes by less than 0.01 %.
        assert report.area_after_km2 == pytest.approx(report.area_before_km2, rel=1e-4)
        note = report.note()
        assert "make_valid" in note and str(report.parts_before) in note
    assert reports["211103"].parts_before == 19
    for feature in features:
        assert feature.geometry.geom_type == "MultiPolygon" and feature.geometry.is_valid


def test_repair_keeps_ground_covered_twice_by_one_district(raw: dict[str, Any]) -> None:
    # 大洼区 draws this spot with two overlapping rings; an even-odd repair would make it a hole.
    features = {f.code: f for f in read_features(raw)}
    assert features["211104"].geometry.covers(Point(122.29783949, 41.052485))
    delivered = shape(raw["features"][2]["geometry"])
    assert not delivered.is_valid


def test_import_upserts_districts_with_parent_and_notes(db, raw: dict[str, Any]) -> None:
    features = read_features(raw)
    result = import_districts(features, parent_code="211100", parent_name="盘锦市")
    assert sorted(result.created) == ["211102", "211103", "211104", "211122"]
    city = District.objects.get(code="211100")
    assert city.name == "盘锦市" and city.boundary is None
    districts = {d.code: d for d in District.objects.filter(parent=city)}
    assert set(districts) == {"211102", "211103", "211104", "211122"}
    assert districts["211103"].name == "兴隆台区"
    assert District.objects.filter(parent=city, boundary__isvalid=True).count() == 4
    assert {c for c, d in districts.items() if d.boundary_repair_note} == INVALID
    again = import_districts(features, parent_code="211100", parent_name="盘锦市")
    assert again.created == [] and len(again.updated) == 4
    assert District.objects.count() == 5


def _broken(raw: dict[str, Any], index: int, change: str) -> dict[str, Any]:
    data = copy.deepcopy(raw)
    feature = data["features"][index]
    if change == "no adcode":
        del feature["properties"]["adcode"]
    elif change == "not polygonal":
        feature["geometry"] = {"type": "Point", "coordinates": [122.0, 41.0]}
    elif change == "malformed":
        feature["geometry"]["coordinates"] = [[[[122.0, 41.0], [122.1, 41.0]]]]
    elif change == "no geometry":
        feature["geometry"] = None
    return data


@pytest.mark.parametrize("change", ["no adcode", "not polygonal", "malformed", "no geometry"])
def test_bad_feature_is_named_and_nothing_is_written(db, raw: dict[str, Any],
                                                     change: str, tmp_path: Path) -> None:
    # A good earlier import stays exactly as it was.
    import_districts(read_features(raw), parent_code="211100", parent_name="盘锦市")
    before = sorted(District.objects.values_list("code", "name", "boundary_repair_note"))
    data = _broken(raw, 2, change)
    data["features"][0]["properties"]["name"] = "改名测试"  # would be written if not refused
    with pytest.raises(BoundaryError, match=r"feature #2"):
        import_districts(read_features(data))
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError, match=r"feature #2"):
        call_command("import_districts", str(path), "--parent-code", "211100")
    assert sorted(District.objects.values_list("code", "name", "boundary_repair_note")) == before


def test_bad_file_into_empty_database_writes_nothing(db, raw: dict[str, Any],
                                                     tmp_path: Path) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(_broken(raw, 3, "no adcode")), encoding="utf-8")
    with pytest.raises(CommandError, match=r"feature #3: no adcode"):
        call_command("import_districts", str(path), "--parent-code", "211100",
                     "--parent-name", "盘锦市")
    assert District.objects.count() == 0
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_districts", str(path))
    assert District.objects.count() == 0


def test_command_reports_each_district(db, geojson_path: Path, capsys) -> None:
    call_command("import_districts", str(geojson_path), "--parent-code", "211100",
                 "--parent-name", "盘锦市")
    out = capsys.readouterr().out
    assert out.count("REPAIRED") == 3
    assert "211102 双台子区: valid" in out
    assert "parts 19 → 17" in out
    assert "4 created, 0 updated, 3 repaired" in out
