"""Plain-float geometry for the simulator: a metric frame around the city and polylines.

Everything the hot loop touches is a list of floats, never a shapely object: a position along a
polyline is a bisect on cumulative distances plus one interpolation.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

METRES_PER_DEG_LAT = 111_320.0


class Frame:
    """Equirectangular frame in metres around (lon0, lat0); < 1 % scale error over a city."""

    __slots__ = ("kx", "lat0", "lon0")

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0 = lon0
        self.lat0 = lat0
        self.kx = METRES_PER_DEG_LAT * math.cos(math.radians(lat0))

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * METRES_PER_DEG_LAT

    def lonlat(self, x: float, y: float) -> tuple[float, float]:
        return self.lon0 + x / self.kx, self.lat0 + y / METRES_PER_DEG_LAT


def heading(dx: float, dy: float) -> int:
    """Compass heading 0-359 (0 = north, clockwise) of a displacement in the metric frame."""
    return int(math.degrees(math.atan2(dx, dy))) % 360


def dist(ax: float, ay: float, bx: float, by: float) -> float:
    return math.hypot(bx - ax, by - ay)


class Polyline:
    """A metric polyline with cumulative distances; consecutive duplicate points are dropped."""

    __slots__ = ("cum", "xs", "ys")

    def __init__(self, points: Iterable[tuple[float, float]]) -> None:
        xs: list[float] = []
        ys: list[float] = []
        cum: list[float] = []
        for x, y in points:
            if xs and abs(x - xs[-1]) < 1e-6 and abs(y - ys[-1]) < 1e-6:
                continue
            cum.append(cum[-1] + math.hypot(x - xs[-1], y - ys[-1]) if xs else 0.0)
            xs.append(x)
            ys.append(y)
        if not xs:
            raise ValueError("a polyline needs at least one point")
        self.xs = xs
        self.ys = ys
        self.cum = cum

    @property
    def length(self) -> float:
        return self.cum[-1]

    @property
    def points(self) -> list[tuple[float, float]]:
        return list(zip(self.xs, self.ys, strict=True))

    def at(self, s: float) -> tuple[float, float, int]:
        """Point and heading at distance `s` from the start (clamped to the line)."""
        cum = self.cum
        n = len(cum)
        if n == 1:
            return self.xs[0], self.ys[0], 0
        if s <= 0.0:
            i = 0
            f = 0.0
        elif s >= cum[-1]:
            i = n - 2
            f = 1.0
        else:
            i = bisect.bisect_right(cum, s) - 1
            if i >= n - 1:
                i = n - 2
            span = cum[i + 1] - cum[i]
            f = (s - cum[i]) / span if span > 0 else 0.0
        x0, y0, x1, y1 = self.xs[i], self.ys[i], self.xs[i + 1], self.ys[i + 1]
        return x0 + (x1 - x0) * f, y0 + (y1 - y0) * f, heading(x1 - x0, y1 - y0)

    def sub(self, s0: float, s1: float) -> Polyline:
        """The part between distances s0 < s1."""
        s0 = max(0.0, s0)
        s1 = min(self.length, s1)
        first = self.at(s0)
        pts = [(first[0], first[1])]
        i = bisect.bisect_right(self.cum, s0)
        while i < len(self.cum) and self.cum[i] < s1:
            pts.append((self.xs[i], self.ys[i]))
            i += 1
        last = self.at(s1)
        pts.append((last[0], last[1]))
        return Polyline(pts)

    def reversed(self) -> Polyline:
        return Polyline(zip(reversed(self.xs), reversed(self.ys), strict=True))

    def project(self, x: float, y: float, from_s: float = 0.0, near: float = 5.0) -> float:
        """Distance along the line of the point nearest (x, y), searching forward from `from_s`:
        the first vertex span passing within `near` metres wins (a line that comes back near
        itself keeps the earlier pass), else the nearest overall."""
        best_s, best_d = from_s, math.inf
        start = max(0, bisect.bisect_right(self.cum, from_s) - 1)
        for i in range(start, len(self.xs) - 1):
            x0, y0 = self.xs[i], self.ys[i]
            dx, dy = self.xs[i + 1] - x0, self.ys[i + 1] - y0
            span2 = dx * dx + dy * dy
            f = 0.0 if span2 == 0 else max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / span2))
            s = self.cum[i] + f * math.sqrt(span2)
            if s < from_s:
                continue
            d = math.hypot(x0 + dx * f - x, y0 + dy * f - y)
            if d <= near:
                return s
            if d < best_d:
                best_s, best_d = s, d
        return best_s


def join(parts: Sequence[Polyline]) -> Polyline:
    """Concatenate polylines end to start (the shared point once)."""
    points: list[tuple[float, float]] = []
    for part in parts:
        points.extend(part.points)
    return Polyline(points)
