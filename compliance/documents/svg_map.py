"""Maps for printed documents, drawn as inline SVG from our own geometry (no tiles: the printer
has no network, and a case file must not depend on a tile server).

Coordinates are projected with a local equirectangular projection around the map's centre
(metres east and north; at a city's size the distortion is far below a line's width). Two maps:
an overview of the district outlines with the location and the detail frame, and the detail:
the track, its start, the location, and the district boundary clipped to the frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.gis.geos import GEOSException, GEOSGeometry, LineString, Point, Polygon
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

M_PER_DEG = 111_320.0
DETAIL_MIN_SPAN_M = 1_500.0
PAD = 0.08  # of the span, on each side
NICE_LENGTHS = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)
RED, BLUE, FILL, FRAME = "#c53030", "#1d4e89", "#e8eef7", "#f8fafc"


@dataclass(frozen=True)
class Frame:
    """A lon/lat box shown in ``width`` × ``height`` pixels."""

    lon0: float
    lat0: float
    half_w: float  # metres from the centre to the left/right edge
    half_h: float
    width: int
    height: int

    @classmethod
    def around(cls, lons: Sequence[float], lats: Sequence[float], *, width: int, height: int,
               min_span: float = 0.0) -> Frame:
        lon0 = (min(lons) + max(lons)) / 2
        lat0 = (min(lats) + max(lats)) / 2
        kx = M_PER_DEG * math.cos(math.radians(lat0))
        span_w = max((max(lons) - min(lons)) * kx, min_span) * (1 + 2 * PAD)
        span_h = max((max(lats) - min(lats)) * M_PER_DEG, min_span) * (1 + 2 * PAD)
        # Keep the aspect ratio of the picture: widen the shorter side.
        ratio = width / height
        span_w, span_h = max(span_w, span_h * ratio), max(span_h, span_w / ratio)
        return cls(lon0, lat0, span_w / 2, span_h / 2, width, height)

    @property
    def scale(self) -> float:  # pixels per metre
        return self.width / (2 * self.half_w)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        east = (lon - self.lon0) * M_PER_DEG * math.cos(math.radians(self.lat0))
        north = (lat - self.lat0) * M_PER_DEG
        return (self.width / 2 + east * self.scale, self.height / 2 - north * self.scale)

    def envelope(self, grow: float = 1.1) -> Polygon:
        """The frame (grown a little) in lon/lat, to clip what is far outside."""
        dlon = self.half_w * grow / (M_PER_DEG * math.cos(math.radians(self.lat0)))
        dlat = self.half_h * grow / M_PER_DEG
        return Polygon.from_bbox((self.lon0 - dlon, self.lat0 - dlat,
                                  self.lon0 + dlon, self.lat0 + dlat))


def _path(frame: Frame, coords: Iterable[Sequence[float]], *, close: bool = False) -> str:
    points = [frame.xy(c[0], c[1]) for c in coords]
    if not points:
        return ""
    text = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return text + (" Z" if close else "")


def _rings(geometry: GEOSGeometry) -> Iterable[Sequence[Sequence[float]]]:
    if geometry.geom_type == "Polygon":
        yield from geometry.coords
    elif geometry.geom_type in ("MultiPolygon", "GeometryCollection"):
        for part in geometry:
            yield from _rings(part)


def _outline(frame: Frame, geometry: GEOSGeometry, *, stroke: float) -> str:
    data = " ".join(_path(frame, ring, close=True) for ring in _rings(geometry))
    return (f'<path d="{data}" fill="{FILL}" fill-rule="evenodd" stroke="{BLUE}" '
            f'stroke-width="{stroke}" stroke-linejoin="round"/>') if data else ""


def _scale_bar(frame: Frame) -> str:
    metres = max([n for n in NICE_LENGTHS if n * frame.scale <= frame.width * 0.25]
                 or [NICE_LENGTHS[0]])
    length = metres * frame.scale
    x, y = 10.0, frame.height - 10.0
    label = f"{metres // 1000} km" if metres >= 1000 else f"{metres} m"
    return (f'<g stroke="#1f2933" stroke-width="1.2"><path d="M{x},{y - 4} V{y} H{x + length:.1f}'
            f' V{y - 4}" fill="none"/></g><text x="{x + length + 4:.1f}" y="{y}" '
            f'font-size="9" fill="#1f2933">{label}</text>')


def _north(frame: Frame) -> str:
    x = frame.width - 14
    return (f'<path d="M{x},8 L{x + 5},20 L{x},17 L{x - 5},20 Z" fill="#1f2933"/>'
            f'<text x="{x}" y="31" font-size="9" text-anchor="middle" fill="#1f2933">N</text>')


def _svg(frame: Frame, body: list[str], label: str) -> SafeString:
    w, h = frame.width, frame.height
    clip = f"clip-{label}"
    return mark_safe(  # numbers and escaped names only
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
        f'height="{h}" class="map-svg"><defs><clipPath id="{clip}"><rect width="{w}" '
        f'height="{h}"/></clipPath></defs><rect width="{w}" height="{h}" fill="{FRAME}" '
        f'stroke="#c9d1db"/><g clip-path="url(#{clip})">{"".join(body)}</g>'
        f'{_scale_bar(frame)}{_north(frame)}</svg>')


def _marks(frame: Frame, track: LineString | None, point: Point | None) -> list[str]:
    body = []
    if track is not None and len(track.coords) > 1:
        body.append(f'<path d="{_path(frame, track.coords)}" fill="none" stroke="{RED}" '
                    f'stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>')
        sx, sy = frame.xy(*track.coords[0][:2])
        body.append(f'<circle cx="{sx:.1f}" cy="{sy:.1f}" r="3.5" fill="#fff" stroke="{RED}" '
                    f'stroke-width="1.5"/>')
    if point is not None:
        px, py = frame.xy(point.x, point.y)
        body.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="5" fill="{RED}" stroke="#fff" '
                    f'stroke-width="1.5"/>')
    return body


def _detail_frame(track: LineString | None, point: Point | None, width: int,
                  height: int) -> Frame | None:
    coords = [c[:2] for c in track.coords] if track is not None else []
    if point is not None:
        coords.append((point.x, point.y))
    if not coords:
        return None
    return Frame.around([c[0] for c in coords], [c[1] for c in coords], width=width,
                        height=height, min_span=DETAIL_MIN_SPAN_M)


def detail_map(*, track: LineString | None, point: Point | None,
               outlines: Sequence[GEOSGeometry], width: int = 420,
               height: int = 300) -> SafeString | None:
    """The track and location with the district boundary around them; None without either."""
    frame = _detail_frame(track, point, width, height)
    if frame is None:
        return None
    envelope = frame.envelope()
    body = []
    for geometry in outlines:
        try:
            clipped = geometry.intersection(envelope)
        except GEOSException:
            continue
        body.append(_outline(frame, clipped, stroke=1.2))
    return _svg(frame, [*body, *_marks(frame, track, point)], "detail")


def overview_map(*, point: Point | None, outlines: Sequence[tuple[str, GEOSGeometry]],
                 detail: Polygon | None = None, width: int = 260,
                 height: int = 300) -> SafeString | None:
    """The districts concerned, named, with the location and the detail map's frame."""
    shapes = [(name, g) for name, g in outlines if g is not None and not g.empty]
    if not shapes:
        return None
    lons, lats = [], []
    for _name, geometry in shapes:
        x0, y0, x1, y1 = geometry.extent
        lons += [x0, x1]
        lats += [y0, y1]
    frame = Frame.around(lons, lats, width=width, height=height)
    tolerance = 2 * frame.half_w / M_PER_DEG / width  # about one pixel
    body = [_outline(frame, g.simplify(tolerance, preserve_topology=True), stroke=0.8)
            for _name, g in shapes]
    for name, geometry in shapes:
        x, y = frame.xy(*geometry.point_on_surface.coords)
        body.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="10" text-anchor="middle" '
                    f'fill="{BLUE}">{escape(name)}</text>')
    if detail is not None:
        body.append(f'<path d="{_path(frame, detail.coords[0], close=True)}" fill="none" '
                    f'stroke="{RED}" stroke-width="1" stroke-dasharray="3,2"/>')
    body += _marks(frame, None, point)
    return _svg(frame, body, "overview")


def detail_frame(*, track: LineString | None, point: Point | None, width: int = 420,
                 height: int = 300) -> Polygon | None:
    """The lon/lat box the detail map shows (drawn on the overview)."""
    frame = _detail_frame(track, point, width, height)
    return frame.envelope(grow=1.0) if frame is not None else None
