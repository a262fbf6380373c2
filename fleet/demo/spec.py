"""What the demo city contains at scale 1, and how a seed, a scale and an as-of date shape it.

Counts at scale 1 are the Panjin figures (DESIGN.md "Demo city"); every count scales linearly and
is at least 1. Ride-hailing cars are not in the seed's figures: 800 is an assumption (a city of
Panjin's size has a few hundred to a thousand platform cars).
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass

from django.conf import settings

VEHICLES_AT_SCALE_1: dict[str, int] = {
    "taxi": 3238,
    "ride_hailing": 800,
    "bus": 575,
    "coach": 729,
    "hazmat": 4500,
    "heavy_truck": 2129,
}

ENTERPRISES_AT_SCALE_1: dict[str, int] = {  # 148 in all
    "taxi_company": 26,
    "bus_company": 4,
    "passenger_transport": 18,
    "hazmat_carrier": 56,
    "freight": 38,
    "ride_hailing_platform": 6,
}

ENTERPRISE_KIND_FOR_VEHICLE: dict[str, str] = {
    "taxi": "taxi_company",
    "ride_hailing": "ride_hailing_platform",
    "bus": "bus_company",
    "coach": "passenger_transport",
    "hazmat": "hazmat_carrier",
    "heavy_truck": "freight",
}

BUS_LINES_AT_SCALE_1 = 48  # about 12 buses per line
COACH_LINES_AT_SCALE_1 = 30
# Even the smallest city has one coach line of each service type (班线, 包车, 旅游, 接驳, 机场,
# 高铁), so exempt and non-exempt lines both exist.
MIN_COACH_LINES = 6

# Panjin's code and the four district sub-platforms the demo expects in the boundary file.
CITY_CODE = "211100"
CITY_NAME = "盘锦市"
DISTRICT_CODES = ("211102", "211103", "211104", "211122")

# Town centres (government seats) the road network and zones are laid out around: lon, lat,
# radius of the town grid in metres. Inside the district polygons of the shared boundary file.
TOWN_CENTRES: dict[str, tuple[float, float, float]] = {
    "211103": (122.0716, 41.1224, 4500.0),  # 兴隆台区: the city centre
    "211102": (122.0557, 41.1904, 3800.0),  # 双台子区
    "211104": (122.0717, 40.9944, 3000.0),  # 大洼区
    "211122": (121.9853, 41.2407, 3000.0),  # 盘山县
}


def scaled(count_at_scale_1: int, scale: float) -> int:
    """Linear in the scale, rounded half up, never below one."""
    return max(1, int(count_at_scale_1 * scale + 0.5))


@dataclass(frozen=True)
class DemoSpec:
    """Everything that determines the generated data: identical spec → identical data."""

    scale: float = 1.0
    seed: int = 1
    as_of: dt.date = dt.date(2026, 1, 1)

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 100:
            raise ValueError("scale must be in (0, 100]")

    def rng(self, stream: str) -> random.Random:
        """An independent generator per part of the city, so one part's draws never shift
        another's. String seeds are hashed with SHA-512 by ``random``: stable across runs."""
        return random.Random(f"fleetwatch-demo/{self.seed}/{stream}")

    def vehicles(self, kind: str) -> int:
        return scaled(VEHICLES_AT_SCALE_1[kind], self.scale)

    def enterprises(self, kind: str) -> int:
        return scaled(ENTERPRISES_AT_SCALE_1[kind], self.scale)

    @property
    def bus_lines(self) -> int:
        return scaled(BUS_LINES_AT_SCALE_1, self.scale)

    @property
    def coach_lines(self) -> int:
        return max(MIN_COACH_LINES, scaled(COACH_LINES_AT_SCALE_1, self.scale))

    @property
    def local_midnight(self) -> dt.datetime:
        """Start of the as-of day in the bureau's time zone: the clock every date hangs off."""
        return dt.datetime.combine(self.as_of, dt.time(0, 0),
                                   tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))

    def at(self, days: float = 0.0, hours: float = 0.0) -> dt.datetime:
        return self.local_midnight + dt.timedelta(days=days, hours=hours)
