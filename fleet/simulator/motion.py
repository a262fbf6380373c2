"""Moving along a route: a piecewise-constant speed profile over distance, and where the vehicle
is, how fast and which way it heads at any moment of the drive.

A well-behaved vehicle never exceeds the limit in force (RULES.md §2 overspeed): the lower of the
road and speed-zone limits, the hazmat caps (80 km/h expressway, 60 elsewhere) and, for coaches,
80 % of it (the night rule, applied all day so no drive has to be cut at 22:00). It also slows
to the lowest limit of the roads meeting at each junction, so a fix taken at a crossing can be
matched to either road without looking like speeding.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass

from fleet.simulator.graph import Route, Span

RAMP_M = 15.0  # each of the two ramp steps when starting from or stopping at rest
JUNCTION_M = 45.0  # slow-down reach either side of a junction
MIN_MOVING_KMH = 11.0  # slowest moving speed: stays clear of the 5 km/h driving threshold
MAX_PLAUSIBLE_KMH = 150.0  # above 160 the engine calls it drift, not speeding


def kind_cap(kind: str, span_limit: int, road_class: str) -> float:
    """Limit in force for a vehicle kind on a stretch (daytime; see module docstring)."""
    limit = float(span_limit)
    if kind == "hazmat":
        limit = min(limit, 80.0 if road_class == "expressway" else 60.0)
    elif kind == "coach":
        limit *= 0.8
    return limit


@dataclass(slots=True)
class Overspeed:
    """Drive the stretch [s0, s1) at `kmh`, whatever the limit."""

    s0: float
    s1: float
    kmh: float


@dataclass(slots=True)
class SpeedPolicy:
    kind: str
    scale: float  # cruise speed as a share of the limit in force
    node_limits: list[int]  # lowest limit of the roads at each junction (graph node)

    def span_kmh(self, span: Span) -> float:
        return kind_cap(self.kind, span.limit, span.road_class) * self.scale

    def node_kmh(self, node: int) -> float:
        return kind_cap(self.kind, self.node_limits[node], "local") * 0.9


class Motion:
    """Travel along `route`: pieces (s0, s1, m/s) with the elapsed time at each piece start."""

    __slots__ = ("duration", "pieces", "route", "t_cum")

    def __init__(self, route: Route, pieces: list[tuple[float, float, float]]) -> None:
        self.route = route
        self.pieces = pieces
        t = 0.0
        cum = []
        for s0, s1, v in pieces:
            cum.append(t)
            t += (s1 - s0) / v
        self.t_cum = cum
        self.duration = t

    @property
    def length(self) -> float:
        return self.route.length

    def at(self, elapsed: float) -> tuple[float, float, float, int, float]:
        """(x, y, speed km/h, heading, distance) `elapsed` seconds into the drive."""
        if elapsed >= self.duration:
            s = self.route.length
            v = self.pieces[-1][2]
        else:
            i = max(0, bisect.bisect_right(self.t_cum, elapsed) - 1)
            s0, _, v = self.pieces[i]
            s = s0 + (elapsed - self.t_cum[i]) * v
        x, y, head = self.route.line.at(s)
        return x, y, v * 3.6, head, s

    def time_at(self, s: float) -> float:
        """Elapsed seconds when the vehicle is at distance `s`."""
        starts = [p[0] for p in self.pieces]
        i = max(0, bisect.bisect_right(starts, s) - 1)
        s0, s1, v = self.pieces[i]
        return self.t_cum[i] + (min(s, s1) - s0) / v


def build_motion(route: Route, policy: SpeedPolicy, rng: random.Random, *,
                 from_rest: bool = True, to_rest: bool = True,
                 overspeed: Overspeed | None = None, no_slowdown: tuple[float, ...] = (),
                 ) -> Motion:
    """Speed profile for a drive along `route`.

    Each road stretch gets its cruise speed (limit × scale, less up to 4 %); junctions cap it;
    ramps start and end at rest; `overspeed` overrides everything on its stretch; junction
    slow-downs within 40 m of a distance in `no_slowdown` are skipped (a bus passing a stop).
    """
    length = route.length
    if length < 4 * RAMP_M:
        v = MIN_MOVING_KMH / 3.6
        return Motion(route, [(0.0, max(length, 0.5), v)])
    span_v = [policy.span_kmh(sp) * (1 - rng.uniform(0.0, 0.04)) for sp in route.spans]
    span_starts = [sp.s0 for sp in route.spans]
    # Every junction passed, the route's own ends included (a vehicle pulling away from a
    # junction is near the crossing road too).
    junctions = [(s, policy.node_kmh(n)) for s, n in route.nodes
                 if not any(abs(s - k) < 40.0 for k in no_slowdown)]
    marks = {0.0, length}
    marks.update(sp.s0 for sp in route.spans)
    for s, _ in junctions:
        marks.update((s - JUNCTION_M, s + JUNCTION_M))
    if from_rest:
        marks.update((RAMP_M, 2 * RAMP_M))
    if to_rest:
        marks.update((length - RAMP_M, length - 2 * RAMP_M))
    if overspeed is not None:
        marks.update((overspeed.s0, overspeed.s1))
    cuts = sorted(m for m in marks if 0.0 <= m <= length)
    junction_s = [s for s, _ in junctions]
    pieces: list[tuple[float, float, float]] = []
    for a, b in itertools.pairwise(cuts):
        if b - a < 0.01:
            continue
        mid = (a + b) / 2
        i = max(0, bisect.bisect_right(span_starts, mid) - 1)
        kmh = span_v[i]
        j = bisect.bisect_left(junction_s, mid - JUNCTION_M)
        while j < len(junctions) and junction_s[j] <= mid + JUNCTION_M:
            kmh = min(kmh, junctions[j][1])
            j += 1
        if from_rest and mid < 2 * RAMP_M:
            kmh *= 0.35 if mid < RAMP_M else 0.7
        if to_rest and mid > length - 2 * RAMP_M:
            kmh *= 0.35 if mid > length - RAMP_M else 0.7
        if overspeed is not None and overspeed.s0 <= mid < overspeed.s1:
            kmh = overspeed.kmh
        kmh = min(MAX_PLAUSIBLE_KMH, max(MIN_MOVING_KMH, kmh))
        v = kmh / 3.6
        if pieces and pieces[-1][1] == a and abs(pieces[-1][2] - v) < 1e-9:
            pieces[-1] = (pieces[-1][0], b, v)
        else:
            pieces.append((a, b, v))
    return Motion(route, pieces)
