"""Import district boundaries from GeoJSON: validate, repair, report, upsert.

Reading and repairing are pure (shapely) and happen for every feature before anything is written,
so a bad feature stops the import with nothing written; the writes then run in one transaction.

Repair uses ``make_valid(method="structure")``, not the ``linework`` method that ``ST_MakeValid``
uses by default. The delivered Panjin file has districts whose parts overlap or share edges (one
district drawn as several touching rings). ``linework`` applies an even-odd rule, so ground covered
by two parts of the same district becomes a hole that belongs to nobody (in 大洼区 it opens a
0.08 km² hole at 122.298 E 41.052 N); ``structure`` unions the parts, which is what a multi-part
district means. Only polygonal pieces are kept; collapsed lines and points are dropped and reported.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from shapely.errors import GEOSException, ShapelyError
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

# Authalic radius of WGS-84 (km): the sphere with the ellipsoid's surface area.
_AUTHALIC_RADIUS_KM = 6371.0072


class BoundaryError(ValueError):
    """A feature the importer refuses; ``index`` is its position in ``features`` (0-based)."""

    def __init__(self, index: int | None, message: str) -> None:
        self.index = index
        prefix = f"feature #{index}: " if index is not None else ""
        super().__init__(prefix + message)


@dataclass(frozen=True)
class RepairReport:
    """What the importer found and changed in one district's geometry."""

    index: int
    code: str
    name: str
    was_valid: bool
    reason: str  # GEOS explanation of the first problem ("Valid Geometry" when none)
    area_before_km2: float  # of the delivered rings as drawn (overlaps counted twice)
    area_after_km2: float
    parts_before: int
    parts_after: int
    dropped: tuple[str, ...] = ()  # non-polygonal pieces the repair produced and we discarded

    @property
    def changed(self) -> bool:
        return not self.was_valid

    def note(self) -> str:
        """Text stored in ``District.boundary_repair_note`` (empty when nothing was repaired)."""
        if self.was_valid:
            return ""
        dropped = "、".join(self.dropped) if self.dropped else "无"
        return (f"原始边界无效（{self.reason}），已用 make_valid(structure) 修复："
                f"面积 {self.area_before_km2:.4f} → {self.area_after_km2:.4f} km²，"
                f"多边形 {self.parts_before} → {self.parts_after} 个，丢弃的非面要素：{dropped}")

    def line(self) -> str:
        """One line for the command's report."""
        status = "valid" if self.was_valid else f"REPAIRED ({self.reason})"
        return (f"#{self.index} {self.code} {self.name}: {status}; "
                f"area {self.area_before_km2:.4f} → {self.area_after_km2:.4f} km²; "
                f"parts {self.parts_before} → {self.parts_after}"
                + (f"; dropped {', '.join(self.dropped)}" if self.dropped else ""))


@dataclass(frozen=True)
class DistrictFeature:
    code: str
    name: str
    geometry: MultiPolygon  # valid, polygonal, 2-D, lon/lat (SRID 4326)
    report: RepairReport


@dataclass
class ImportResult:
    features: list[DistrictFeature]
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    parent_code: str | None = None


def default_geojson_path() -> Path:
    """The shared Panjin boundary file: ``$FLEET_GEO_DIR`` or ``<repo>/../shared/geo``."""
    geo_dir = os.environ.get("FLEET_GEO_DIR")
    base = Path(geo_dir) if geo_dir else Path(settings.BASE_DIR).parent / "shared" / "geo"
    return base / "panjin_districts.geojson"


def sinusoidal_area_km2(geometry: BaseGeometry) -> float:
    """Area on the authalic sphere via the (equal-area) sinusoidal projection."""

    def project(coords: Any) -> Any:
        lon = coords[:, 0]
        lat = coords[:, 1]
        x = _AUTHALIC_RADIUS_KM * lon * (math.pi / 180) * np.cos(lat * math.pi / 180)
        y = _AUTHALIC_RADIUS_KM * lat * (math.pi / 180)
        return np.column_stack([x, y])

    if isinstance(geometry, MultiPolygon):
        # Per part: an invalid MultiPolygon's overall area is still the sum of its rings.
        return sum(shapely.transform(part, project).area for part in geometry.geoms)
    return shapely.transform(geometry, project).area


def _polygonal_parts(geometry: BaseGeometry) -> tuple[list[Polygon], list[str]]:
    """Split a repair result into its polygons and the kinds of everything else."""
    if isinstance(geometry, Polygon):
        return ([geometry] if not geometry.is_empty else []), []
    if isinstance(geometry, MultiPolygon):
        return [p for p in geometry.geoms if not p.is_empty], []
    if hasattr(geometry, "geoms"):  # GeometryCollection (possibly nested)
        polygons: list[Polygon] = []
        dropped: list[str] = []
        for member in geometry.geoms:
            more, rest = _polygonal_parts(member)
            polygons += more
            dropped += rest
        return polygons, dropped
    return [], [geometry.geom_type]


def repair_geometry(geometry: BaseGeometry) -> tuple[MultiPolygon, list[str]]:
    """A valid MultiPolygon covering the delivered one, and the kinds of pieces dropped."""
    geometry = shapely.force_2d(geometry)
    if geometry.is_valid:
        polygons, dropped = _polygonal_parts(geometry)
    else:
        polygons, dropped = _polygonal_parts(
            shapely.make_valid(geometry, method="structure", keep_collapsed=False))
    return MultiPolygon(polygons), dropped


def _feature_code(index: int, properties: Mapping[str, Any]) -> str:
    raw = properties.get("adcode")
    if raw is None or isinstance(raw, bool) or raw == "":
        raise BoundaryError(index, "no adcode property")
    code = str(raw).strip()
    if not (len(code) == 6 and code.isdigit()):
        raise BoundaryError(index, f"adcode {raw!r} is not a 6-digit GB/T 2260 code")
    return code


def read_feature(index: int, feature: Any) -> DistrictFeature:
    """Validate and repair one GeoJSON feature; raises ``BoundaryError`` naming its index."""
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise BoundaryError(index, "not a GeoJSON Feature object")
    properties = feature.get("properties")
    if not isinstance(properties, Mapping):
        raise BoundaryError(index, "no properties object")
    code = _feature_code(index, properties)
    name = properties.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BoundaryError(index, f"district {code} has no name")
    raw_geometry = feature.get("geometry")
    if not isinstance(raw_geometry, Mapping):
        raise BoundaryError(index, f"district {code} has no geometry")
    kind = raw_geometry.get("type")
    if kind not in {"Polygon", "MultiPolygon"}:
        raise BoundaryError(index, f"district {code} geometry is {kind!r}, not polygonal")
    try:
        delivered = shape(raw_geometry)
        if delivered.is_empty:
            raise BoundaryError(index, f"district {code} geometry is empty")
        was_valid = delivered.is_valid
        reason = explain_validity(delivered)
        repaired, dropped = repair_geometry(delivered)
    except BoundaryError:
        raise
    except (ShapelyError, GEOSException, ValueError, TypeError, IndexError, KeyError) as exc:
        raise BoundaryError(index, f"district {code} geometry is malformed: {exc}") from exc
    if repaired.is_empty or not repaired.is_valid:
        raise BoundaryError(index, f"district {code} has no valid polygonal area after repair")
    parts_before = len(delivered.geoms) if isinstance(delivered, MultiPolygon) else 1
    report = RepairReport(
        index=index, code=code, name=name.strip(), was_valid=was_valid, reason=reason,
        area_before_km2=sinusoidal_area_km2(delivered),
        area_after_km2=sinusoidal_area_km2(repaired),
        parts_before=parts_before, parts_after=len(repaired.geoms), dropped=tuple(dropped))
    return DistrictFeature(code=code, name=name.strip(), geometry=repaired, report=report)


def read_features(data: Mapping[str, Any]) -> list[DistrictFeature]:
    """Every feature of a FeatureCollection, validated and repaired; all or an error."""
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        raise BoundaryError(None, "not a GeoJSON FeatureCollection")
    raw_features = data.get("features")
    if not isinstance(raw_features, Sequence) or isinstance(raw_features, str | bytes):
        raise BoundaryError(None, "FeatureCollection has no features list")
    if not raw_features:
        raise BoundaryError(None, "FeatureCollection is empty")
    features: list[DistrictFeature] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_features):
        feature = read_feature(index, raw)
        if feature.code in seen:
            first = seen[feature.code]
            raise BoundaryError(index, f"adcode {feature.code} repeats feature #{first}")
        seen[feature.code] = index
        features.append(feature)
    return features


def load_geojson(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise BoundaryError(None, f"{path} is not valid JSON: {exc}") from exc


def to_geos(geometry: BaseGeometry) -> Any:
    """A shapely geometry as a GeoDjango geometry in SRID 4326 (exact coordinates, via WKB)."""
    from django.contrib.gis.geos import GEOSGeometry

    return GEOSGeometry(memoryview(shapely.to_wkb(geometry)), srid=4326)


def to_shapely(geometry: Any) -> BaseGeometry:
    """A GeoDjango geometry as a shapely one (exact coordinates, via WKB)."""
    return shapely.from_wkb(bytes(geometry.wkb))


def import_districts(features: Sequence[DistrictFeature], *, parent_code: str | None = None,
                     parent_name: str | None = None) -> ImportResult:
    """Upsert District rows by code in one transaction (and the parent city when given)."""
    from django.db import transaction

    from fleet.geo.jurisdiction import reset_default_resolver
    from fleet.models import District

    if parent_code is not None and not (len(parent_code) == 6 and parent_code.isdigit()):
        raise BoundaryError(None, f"parent code {parent_code!r} is not a 6-digit code")
    result = ImportResult(features=list(features), parent_code=parent_code)
    with transaction.atomic():
        parent = None
        if parent_code is not None:
            parent, _ = District.objects.get_or_create(
                code=parent_code, defaults={"name": parent_name or parent_code})
            if parent_name and parent.name != parent_name:
                parent.name = parent_name
                parent.save(update_fields=["name"])
        existing = {d.code: d for d in District.objects.filter(
            code__in=[f.code for f in features]).select_for_update()}
        for feature in features:
            district = existing.get(feature.code) or District(code=feature.code)
            district.name = feature.name
            district.boundary = to_geos(feature.geometry)
            district.boundary_repair_note = feature.report.note()
            if parent is not None:
                district.parent = parent
            district.full_clean()
            (result.updated if district.pk else result.created).append(feature.code)
            district.save()
        # The cached resolver must see the new boundaries, but only once they are committed.
        transaction.on_commit(reset_default_resolver)
    return result
