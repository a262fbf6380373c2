"""Read a terminal's frames back with the codec and measure what each rule of RULES.md §2 needs,
as §2a defines it. Independent of any detection engine: only the decoded records, the registry
snapshot (World) and plain geometry.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import shapely

from fleet.jt808 import (
    BatchLocation,
    DriverIdentity,
    Jt808Error,
    Location,
    MessageReader,
    Waybill,
)
from fleet.simulator.entities import World
from fleet.simulator.localtime import is_night, local_hours

DRIVING_KMH = 5.0
DRIFT_KMH = 160.0


@dataclass(slots=True)
class Point:
    t: float
    x: float
    y: float
    speed: float
    loc: Location

    @property
    def moving(self) -> bool:
        return self.speed >= DRIVING_KMH


@dataclass
class Decoded:
    fixes: list[Location] = field(default_factory=list)  # time order, one per time
    cards: list[DriverIdentity] = field(default_factory=list)
    waybills: list[str] = field(default_factory=list)
    errors: list[Jt808Error] = field(default_factory=list)
    messages: list[tuple[int, object]] = field(default_factory=list)  # (msg id, body) in order
    good_frames: int = 0

    def backfills(self) -> list[BatchLocation]:
        return [b for m, b in self.messages if m == 0x0704 and isinstance(b, BatchLocation)]


def decode(frames: Iterable[bytes]) -> Decoded:
    """Every frame through one MessageReader, as a gateway would read the connection."""
    out = Decoded()
    reader = MessageReader()
    by_time: dict[float, Location] = {}
    for frame in frames:
        for item in reader.feed(frame):
            if isinstance(item, Jt808Error):
                out.errors.append(item)
                continue
            out.good_frames += 1
            body = item.body
            out.messages.append((item.msg_id, body))
            if isinstance(body, Location):
                by_time.setdefault(body.time.timestamp(), body)
            elif isinstance(body, BatchLocation):
                for loc in body.locations:
                    by_time.setdefault(loc.time.timestamp(), loc)
            elif isinstance(body, DriverIdentity):
                out.cards.append(body)
            elif isinstance(body, Waybill):
                out.waybills.append(body.text or "")
    out.fixes = [by_time[t] for t in sorted(by_time)]
    return out


def points(world: World, fixes: Iterable[Location], *, drop_drift: bool = True) -> list[Point]:
    """Positioned fixes in the metric frame, drift excluded (RULES.md §2a: a fix whose implied
    speed from the previous valid fix is above 160 km/h is ignored by every rule)."""
    out: list[Point] = []
    for loc in fixes:
        if not loc.positioned:
            continue
        x, y = world.frame.xy(loc.longitude, loc.latitude)
        p = Point(loc.time.timestamp(), x, y, loc.speed_kmh, loc)
        if drop_drift and out and implied_kmh(out[-1], p) > DRIFT_KMH:
            continue
        out.append(p)
    return out


def implied_kmh(a: Point, b: Point) -> float:
    dt = b.t - a.t
    return math.inf if dt <= 0 else math.hypot(b.x - a.x, b.y - a.y) / dt * 3.6


def drift_fixes(world: World, fixes: Iterable[Location]) -> list[Point]:
    kept: list[Point] = []
    drifted: list[Point] = []
    for p in points(world, fixes, drop_drift=False):
        if kept and implied_kmh(kept[-1], p) > DRIFT_KMH:
            drifted.append(p)
        else:
            kept.append(p)
    return drifted


# -- driving time ---------------------------------------------------------------------------------
def intervals(pts: list[Point]) -> list[tuple[float, float, bool]]:
    """(start, end, driving) between consecutive fixes, read as RULES.md §2a says."""
    out = []
    for a, b in itertools.pairwise(pts):
        driving = implied_kmh(a, b) >= DRIVING_KMH if b.t - a.t > 300 else b.speed >= DRIVING_KMH
        out.append((a.t, b.t, driving))
    return out


def continuous_excess(pts: list[Point]) -> float:
    """Largest amount (s) by which continuous driving passed the limit in force (4 h by day,
    2 h at night); stops under 20 min pause the clock, ≥ 20 min reset it."""
    continuous = stop = worst = 0.0
    for t0, t1, driving in intervals(pts):
        if driving:
            continuous += t1 - t0
            stop = 0.0
            limit = 2 * 3600 if is_night(t1) else 4 * 3600
            worst = max(worst, continuous - limit)
        else:
            stop += t1 - t0
            if stop >= 20 * 60:
                continuous = 0.0
    return worst


def daily_max(pts: list[Point]) -> float:
    """Most driving (s) in any rolling 24 h."""
    spans = [(t0, t1) for t0, t1, d in intervals(pts) if d]
    best = total = 0.0
    j = 0
    for t0, t1 in spans:
        total += t1 - t0
        while spans[j][1] <= t1 - 86_400:
            total -= spans[j][1] - spans[j][0]
            j += 1
        best = max(best, total)
    return best


# -- speed ----------------------------------------------------------------------------------------
class Roads:
    """The road segments near a point (for the limit in force at a fix)."""

    def __init__(self, world: World) -> None:
        self.edges = world.graph.edges
        self.tree = shapely.STRtree([shapely.LineString(e.line.points) for e in self.edges])
        self.lines = self.tree.geometries

    def near(self, x: float, y: float, radius: float) -> list:
        hits = self.tree.query(shapely.Point(x, y).buffer(radius), predicate="intersects")
        return [self.edges[i] for i in hits]

    def lenient(self, p: Point) -> float:
        """The highest road limit near the fix: above it, the fix is over any limit in force."""
        near = self.near(p.x, p.y, 30.0) or self.near(p.x, p.y, 100.0)
        return max((e.road_limit for e in near), default=120)

    def strict(self, p: Point, kind: str) -> float:
        """The lowest limit in force near the fix (zones, hazmat caps, coach at night)."""
        near = self.near(p.x, p.y, 35.0) or self.near(p.x, p.y, 100.0)
        limits = []
        for e in near:
            limit = float(e.limit)
            if kind == "hazmat":
                limit = min(limit, 80.0 if e.road_class == "expressway" else 60.0)
            if kind == "coach" and is_night(p.t):
                limit *= 0.8
            limits.append(limit)
        return min(limits, default=40.0)


def overspeed_episodes(pts: list[Point], limit: Callable[[Point], float],
                       ) -> list[tuple[float, float]]:
    """(first, last) above-limit fix of each episode; a gap < 60 s merges (RULES.md §2a)."""
    episodes: list[list[float]] = []
    run: list[float] | None = None
    for p in pts:
        if p.speed > limit(p) and p.speed <= DRIFT_KMH:
            if run is None:
                run = episodes.pop() if episodes and p.t - episodes[-1][1] < 60 else [p.t, p.t]
            run[1] = p.t
        elif run is not None:
            episodes.append(run)
            run = None
    if run is not None:
        episodes.append(run)
    return [(a, b) for a, b in episodes]


# -- taxi meters ----------------------------------------------------------------------------------
def loaded_intervals(pts: list[Point]) -> list[tuple[float, float, float]]:
    """(start, end, metres): first loaded fix to the first empty one (RULES.md §2a)."""
    out = []
    start = None
    metres = 0.0
    for a, b in itertools.pairwise(pts):
        if start is None and a.loc.loaded:
            start, metres = a.t, 0.0
        if start is not None:
            metres += math.hypot(b.x - a.x, b.y - a.y)
            if not b.loc.loaded:
                out.append((start, b.t, metres))
                start = None
    return out


def coverage(interval: tuple[float, float, float], trips: Iterable[tuple[float, float]]) -> float:
    start, end, _ = interval
    covered = sum(max(0.0, min(end, b) - max(start, a)) for a, b in trips)
    return covered / (end - start) if end > start else 1.0


# -- stops, zones, routes -------------------------------------------------------------------------
def stop_runs(pts: list[Point]) -> list[tuple[float, float, list[Point]]]:
    """Stops as the intervals read them: from the fix before the first stopped one to the last
    stopped fix; with the stopped fixes."""
    out = []
    run: list[Point] = []
    before: Point | None = None
    for prev, p in zip([None, *pts], pts, strict=False):
        if not p.moving:
            if not run:
                before = prev
            run.append(p)
        elif run:
            out.append(((before or run[0]).t, run[-1].t, run))
            run = []
    if run:
        out.append(((before or run[0]).t, run[-1].t, run))
    return out


def outside_episodes(pts: list[Point], line: shapely.LineString, corridor: float,
                     ) -> list[tuple[float, float]]:
    """(first, last) fix of each run of fixes farther than `corridor` from the route."""
    out = []
    run: list[float] | None = None
    for p in pts:
        if line.distance(shapely.Point(p.x, p.y)) > corridor:
            run = run or [p.t, p.t]
            run[1] = p.t
        elif run is not None:
            out.append((run[0], run[1]))
            run = None
    if run is not None:
        out.append((run[0], run[1]))
    return out


def metric_line(world: World, coords: Iterable[tuple[float, float]]) -> shapely.LineString:
    return shapely.LineString([world.frame.xy(lon, lat) for lon, lat in coords])


def night_ban_fixes(pts: list[Point]) -> list[Point]:
    return [p for p in pts if p.moving and 2.0 <= local_hours(p.t) < 5.0]


def silences(pts: list[Point], minimum: float = 600.0) -> list[tuple[Point, Point]]:
    """Consecutive positioned fixes more than `minimum` s apart, the first one moving."""
    return [(a, b) for a, b in itertools.pairwise(pts)
            if b.t - a.t > minimum and a.moving]
