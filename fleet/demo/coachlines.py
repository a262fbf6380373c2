"""Approved coach lines (客运班线) from the city's stations, along the demo road network.

Most lines leave the city: their route is the part inside the boundary (station → where the
trunk road leaves), while ``one_way_km`` is the whole line's length to the other city. Shuttles,
town links and tourist lines stay inside. The catalogue is the city's, like the stations; the
seed decides which lines the bureau has exempted from the night ban (about a fifth, chosen among
the lines that qualify: relay and shuttle lines first, then lines of at most 200 km) and, in
``operators``, which enterprise runs each line.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal

from shapely.geometry import LineString

from fleet.demo.places import TRANSPORT_HUBS
from fleet.demo.roads import RoadNetwork
from fleet.geo.jurisdiction import DistrictResolver
from fleet.models.geography import NIGHT_BAN_EXEMPTIBLE_SERVICES, may_be_night_ban_exempt

# Coaches keep to main roads where they can.
_COACH_PENALTY = {"local": 2.0}
EXEMPT_SHARE = 0.2
# Of the exempt lines, the share taken from relay/shuttle lines (the rest: short lines).
_EXEMPT_FROM_SHUTTLES = 0.6

# Where the trunk roads leave the city: (road class, lon, lat of the trunk's end point).
_EXITS: dict[str, tuple[str, float, float]] = {
    "E-expressway": ("expressway", 122.50, 41.25),
    "W-expressway": ("expressway", 121.55, 41.02),
    "E-305": ("national", 122.50, 41.21),
    "W-305": ("national", 121.55, 41.30),
    "N-228": ("national", 122.02, 41.46),
    "S-228": ("national", 122.20, 40.65),
}
# In-city destinations that are not stations: lon, lat.
_PLACES: dict[str, tuple[float, float]] = {
    "红海滩": (122.240, 40.930),
    "鼎翔": (122.000, 41.050),
    "辽河油田": (121.980, 41.150),
}
# (service type, origin station, destination, name, whole line's one-way km or None for the
# route's own length). Destinations: "exit:<key of _EXITS>", "hub:<station>", "town:<district
# code>", "place:<key of _PLACES>". The first six are one of each service type.
CATALOGUE: tuple[tuple[str, str, str, str, int | None], ...] = (
    ("regular", "盘锦客运站", "exit:E-expressway", "盘锦—沈阳", 170),
    ("relay", "盘锦客运站", "exit:S-228", "盘锦—大连接驳运输", 310),
    ("airport_shuttle", "盘锦客运站", "exit:E-expressway", "盘锦—沈阳桃仙机场专线", 190),
    ("rail_shuttle", "盘锦北站", "town:211103", "盘锦北站—兴隆台高铁专线", None),
    ("tourism", "盘锦客运站", "place:红海滩", "盘锦—红海滩风景廊道旅游专线", None),
    ("charter", "盘锦站", "exit:W-expressway", "盘锦—锦州包车", 105),
    ("regular", "盘锦客运站", "exit:W-expressway", "盘锦—北京", 530),
    ("regular", "盘锦客运站", "exit:S-228", "盘锦—大连", 310),
    ("regular", "盘锦客运站", "exit:W-expressway", "盘锦—锦州", 105),
    ("regular", "盘锦客运站", "exit:E-305", "盘锦—鞍山", 115),
    ("regular", "盘锦客运站", "exit:S-228", "盘锦—营口", 95),
    ("regular", "盘锦客运站", "exit:N-228", "盘锦—阜新", 165),
    ("regular", "盘锦客运站", "exit:E-expressway", "盘锦—丹东", 345),
    ("regular", "盘山客运站", "exit:E-305", "盘山—沈阳", 160),
    ("regular", "盘山客运站", "exit:N-228", "盘山—台安", 55),
    ("regular", "盘山客运站", "exit:W-305", "盘山—锦州", 95),
    ("regular", "大洼客运站", "exit:S-228", "大洼—营口", 80),
    ("regular", "大洼客运站", "exit:E-expressway", "大洼—沈阳", 185),
    ("regular", "盘锦客运站", "exit:E-expressway", "盘锦—长春", 470),
    ("regular", "盘锦客运站", "exit:W-expressway", "盘锦—葫芦岛", 155),
    ("regular", "盘锦客运站", "exit:W-305", "盘锦—朝阳", 270),
    ("regular", "大洼客运站", "exit:E-305", "大洼—鞍山", 110),
    ("regular", "盘锦客运站", "hub:大洼客运站", "盘锦—大洼", None),
    ("regular", "盘锦客运站", "hub:盘山客运站", "盘锦—盘山", None),
    ("relay", "盘锦客运站", "exit:W-expressway", "盘锦—北京接驳运输", 530),
    ("airport_shuttle", "盘锦站", "exit:W-expressway", "盘锦—锦州湾机场专线", 115),
    ("rail_shuttle", "盘锦北站", "hub:大洼客运站", "盘锦北站—大洼高铁专线", None),
    ("rail_shuttle", "盘锦站", "hub:盘锦北站", "盘锦站—盘锦北站高铁接驳专线", None),
    ("tourism", "盘锦站", "place:鼎翔", "盘锦—鼎翔生态旅游区旅游专线", None),
    ("charter", "盘山客运站", "place:辽河油田", "辽河油田职工通勤包车", None),
)
_HUBS = {name: (lon, lat) for name, lon, lat in TRANSPORT_HUBS}


@dataclass(frozen=True)
class CoachLineSpec:
    number: str
    name: str
    service_type: str
    district_code: str
    route: LineString  # WGS-84
    one_way_km: Decimal
    night_ban_exempt: bool = False
    exemption_note: str = ""


class _Router:
    """Shortest paths from each origin station, computed once per station."""

    def __init__(self, network: RoadNetwork) -> None:
        self.network = network
        self.previous: dict[int, list[tuple[int, int] | None]] = {}

    def route(self, source: int, target: int) -> tuple[LineString, float] | None:
        """(WGS-84 line, metres) or None when unreachable."""
        if source not in self.previous:
            self.previous[source] = self.network.shortest_paths(source, _COACH_PENALTY)
        previous = self.previous[source]
        metric = self.network.path_line(previous, source, target, metric=True)
        line = self.network.path_line(previous, source, target)
        if metric is None or line is None:
            return None
        return line, metric.length


def _node(network: RoadNetwork, where: str,
          centres: Mapping[str, tuple[float, float, float]]) -> int:
    kind, _, key = where.partition(":")
    if kind == "exit":
        road_class, lon, lat = _EXITS[key]
        return network.nearest_node(lon, lat, classes=frozenset({road_class}))
    if kind == "hub":
        lon, lat = _HUBS[key]
    elif kind == "town":
        lon, lat, _ = centres[key]
    else:
        lon, lat = _PLACES[key]
    return network.nearest_node(lon, lat)


def _km(metres: float) -> Decimal:
    return max(Decimal("0.1"), (Decimal(metres) / 1000).quantize(Decimal("0.1"),
                                                                  rounding=ROUND_CEILING))


def build_coach_lines(rng: random.Random, network: RoadNetwork, resolver: DistrictResolver,
                      centres: Mapping[str, tuple[float, float, float]], *,
                      count: int) -> list[CoachLineSpec]:
    router = _Router(network)
    nodes: dict[str, int] = {}
    lines: list[CoachLineSpec] = []
    unusable: set[int] = set()
    index = 0
    while len(lines) < count:
        entry = index % len(CATALOGUE)
        if len(unusable) == len(CATALOGUE):
            raise ValueError("no coach line of the catalogue has a route on the road network")
        index += 1
        if entry in unusable:
            continue
        service, origin, destination, name, km = CATALOGUE[entry]
        for where in (f"hub:{origin}", destination):
            if where not in nodes:
                nodes[where] = _node(network, where, centres)
        found = router.route(nodes[f"hub:{origin}"], nodes[destination])
        if found is None:
            unusable.add(entry)
            continue
        route, metres = found
        # Beyond the first round the same line is licensed again (another timetable).
        repeat = (index - 1) // len(CATALOGUE)
        lon, lat = route.coords[0]
        lines.append(CoachLineSpec(
            number=f"KY{len(lines) + 1:03d}",
            name=name if repeat == 0 else f"{name}（{repeat + 1}）",
            service_type=service,
            district_code=resolver.district_code_at(lon, lat) or next(iter(centres)),
            route=route,
            # The whole line is never shorter than its part inside the city.
            one_way_km=max(Decimal(km), _km(metres)) if km is not None else _km(metres)))
    return _exempt(rng, lines)


def _exempt(rng: random.Random, lines: list[CoachLineSpec]) -> list[CoachLineSpec]:
    """Mark about a fifth of the lines exempt, each one that qualifies (RULES.md §2a)."""
    target = max(1, round(len(lines) * EXEMPT_SHARE))
    shuttles = [i for i, line in enumerate(lines)
                if line.service_type in NIGHT_BAN_EXEMPTIBLE_SERVICES]
    short = [i for i, line in enumerate(lines)
             if line.service_type not in NIGHT_BAN_EXEMPTIBLE_SERVICES
             and may_be_night_ban_exempt(line.service_type, line.one_way_km)]
    rng.shuffle(shuttles)
    rng.shuffle(short)
    from_shuttles = min(len(shuttles), math.ceil(target * _EXEMPT_FROM_SHUTTLES))
    chosen = shuttles[:from_shuttles] + short[:target - from_shuttles]
    chosen += shuttles[from_shuttles:from_shuttles + target - len(chosen)]
    out = list(lines)
    for i in chosen:
        line = lines[i]
        out[i] = replace(line, night_ban_exempt=True, exemption_note=_note(line))
    return out


def _note(line: CoachLineSpec) -> str:
    if line.service_type in NIGHT_BAN_EXEMPTIBLE_SERVICES:
        kind = {"relay": "接驳运输", "airport_shuttle": "机场专线",
                "rail_shuttle": "高铁专线"}[line.service_type]
        return f"{kind}线路，经市交通运输局核定，02:00至05:00可运行"
    return f"单程{line.one_way_km}公里（不超过200公里），经市交通运输局核定，02:00至05:00可运行"
