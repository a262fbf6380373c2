"""Which district owns a point (the territorial principle), in pure Python.

Every point of the city belongs to exactly one district:

1. covered by exactly one district polygon → that district;
2. covered by several (on a shared edge, at a junction, in an overlap left by the source data) →
   the district whose *covering polygon part* is smallest, ties to the lowest code. The smallest
   part is the most specific claim: an enclave beats the district drawn around it, and a point on
   an edge gets one stable answer instead of depending on floating-point luck;
3. covered by none (a gap or sliver between neighbours, or just outside the border) → the nearest
   district when it is within ``settings.JURISDICTION_SNAP_METRES`` (geodesic metres), ties to the
   lowest code; else ``None`` (outside the city: callers fall back to the registered district).

"Covered" includes the boundary and a tolerance of ``EDGE_TOLERANCE_DEG`` (about 0.1 mm), so a
point computed on an edge counts as on it even when rounding puts it a hair outside.

The resolver holds shapely prepared geometries in an STR-tree; build it once (``from_db`` or
``default_resolver``) and share it: lookups are read-only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import shapely
from geopy.distance import geodesic
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

Metres = TypeVar("Metres", float, np.ndarray)  # one coordinate, or an array of them

EDGE_TOLERANCE_DEG = 1e-9
_METRES_PER_DEG_LAT = 111_320.0

How = Literal["inside", "shared", "snapped", "outside"]


@dataclass(frozen=True)
class Resolution:
    """The answer and how it was reached (kept with case evidence)."""

    code: str | None
    how: How
    # To the district when snapped; when outside, to the nearest one within reach (else inf).
    distance_m: float = 0.0


@dataclass(frozen=True)
class _Part:
    code: str
    polygon: Polygon  # lon/lat, prepared
    local: Polygon  # same part in the local metric frame, prepared
    area_m2: float


class LocalFrame:
    """Equirectangular frame (metres) centred on a city: for ranking and generating, not surveying.

    Over Panjin's 0.8° of latitude its east–west scale drifts by < 1 %. The resolver only ranks
    nearest parts in it (the distance compared with the snap limit is geodesic); the demo city
    lays out roads and zones in it.
    """

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0 = lon0
        self.lat0 = lat0
        self.kx = _METRES_PER_DEG_LAT * math.cos(math.radians(lat0))

    def forward(self, geometry: BaseGeometry) -> BaseGeometry:
        def to_metres(coords: np.ndarray) -> np.ndarray:
            return np.column_stack([(coords[:, 0] - self.lon0) * self.kx,
                                    (coords[:, 1] - self.lat0) * _METRES_PER_DEG_LAT])

        return shapely.transform(geometry, to_metres)

    def back(self, x: Metres, y: Metres) -> tuple[Metres, Metres]:
        """Degrees of a point, or of arrays of points (numpy broadcasts the same arithmetic)."""
        return self.lon0 + x / self.kx, self.lat0 + y / _METRES_PER_DEG_LAT

    def backward(self, geometry: BaseGeometry) -> BaseGeometry:
        def to_degrees(coords: np.ndarray) -> np.ndarray:
            return np.column_stack([self.lon0 + coords[:, 0] / self.kx,
                                    self.lat0 + coords[:, 1] / _METRES_PER_DEG_LAT])

        return shapely.transform(geometry, to_degrees)


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry]
    if isinstance(geometry, MultiPolygon):
        return list(geometry.geoms)
    if hasattr(geometry, "geoms"):
        return [p for member in geometry.geoms for p in _polygons(member)]
    return []


class DistrictResolver:
    """Resolve (lon, lat) to a district code; see the module docstring for the rules."""

    def __init__(self, districts: Mapping[str, BaseGeometry] | Iterable[tuple[str, BaseGeometry]],
                 *, snap_metres: float | None = None) -> None:
        items = list(districts.items() if isinstance(districts, Mapping) else districts)
        if snap_metres is None:
            from django.conf import settings

            snap_metres = float(getattr(settings, "JURISDICTION_SNAP_METRES", 1000.0))
        self.snap_metres = snap_metres
        self.codes: tuple[str, ...] = tuple(sorted(code for code, _ in items))
        every = [p for _, geometry in items for p in _polygons(geometry) if not p.is_empty]
        if not every:
            self._frame = LocalFrame(0.0, 0.0)
            self._parts: list[_Part] = []
            self._tree = shapely.STRtree([])
            return
        minx, miny, maxx, maxy = shapely.total_bounds(every)
        self._frame = LocalFrame((minx + maxx) / 2, (miny + maxy) / 2)
        parts: list[_Part] = []
        for code, geometry in sorted(items, key=lambda item: item[0]):
            for polygon in _polygons(geometry):
                if polygon.is_empty:
                    continue
                local = self._frame.forward(polygon)
                shapely.prepare(polygon)
                shapely.prepare(local)
                parts.append(_Part(code=code, polygon=polygon, local=local, area_m2=local.area))
        self._parts = parts
        self._tree = shapely.STRtree([p.polygon for p in parts])

    @classmethod
    def from_db(cls, *, snap_metres: float | None = None) -> DistrictResolver:
        """Leaf districts with a boundary (the city row has children and no own claim)."""
        from fleet.geo.boundaries import to_shapely
        from fleet.models import District

        rows = (District.objects.filter(boundary__isnull=False, children__isnull=True)
                .order_by("code").values_list("code", "boundary"))
        return cls([(code, to_shapely(boundary)) for code, boundary in rows],
                   snap_metres=snap_metres)

    def __len__(self) -> int:
        return len(self.codes)

    def district_code_at(self, lon: float, lat: float) -> str | None:
        return self.resolve(lon, lat).code

    def resolve(self, lon: float, lat: float) -> Resolution:
        point = Point(lon, lat)
        tol = EDGE_TOLERANCE_DEG
        candidates = self._tree.query(shapely.box(lon - tol, lat - tol, lon + tol, lat + tol))
        covering = [self._parts[i] for i in candidates
                    if shapely.dwithin(self._parts[i].polygon, point, tol)]
        if covering:
            best = min(covering, key=lambda part: (part.area_m2, part.code))
            how: How = "inside" if len({p.code for p in covering}) == 1 else "shared"
            return Resolution(code=best.code, how=how)
        return self._nearest(lon, lat)

    def _nearest(self, lon: float, lat: float) -> Resolution:
        reach = self.snap_metres * 1.05  # envelope slightly larger than the snap circle
        dlat = reach / _METRES_PER_DEG_LAT
        dlon = reach / (_METRES_PER_DEG_LAT * max(math.cos(math.radians(lat)), 1e-6))
        window = shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
        best: tuple[float, str] | None = None
        local_point = self._frame.forward(Point(lon, lat))
        for index in self._tree.query(window):
            part = self._parts[index]
            on_part = nearest_points(part.local, local_point)[0]
            near_lon, near_lat = self._frame.back(on_part.x, on_part.y)
            metres = geodesic((lat, lon), (near_lat, near_lon)).meters
            if best is None or (metres, part.code) < best:
                best = (metres, part.code)
        if best is not None and best[0] <= self.snap_metres:
            return Resolution(code=best[1], how="snapped", distance_m=best[0])
        return Resolution(code=None, how="outside",
                          distance_m=best[0] if best is not None else math.inf)


_default: DistrictResolver | None = None


def default_resolver() -> DistrictResolver:
    """The process-wide resolver, built from the database on first use."""
    global _default
    if _default is None:
        _default = DistrictResolver.from_db()
    return _default


def reset_default_resolver() -> None:
    """Forget the cached resolver (the boundary importer calls this after it commits)."""
    global _default
    _default = None
