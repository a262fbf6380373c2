"""What the simulator knows about the city, as plain frozen objects (no ORM, no Django).

`world.load_world()` fills a `World` from the database once; everything after that reads these.
Times are POSIX seconds (floats); local time is UTC+8 (the terminals' wire time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fleet.simulator.geometry import Frame
from fleet.simulator.graph import RoadGraph

TOXIC_OR_EXPLOSIVE = frozenset({"6.1", "2.3", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6"})
# The certificate a driver needs per vehicle kind (mirrors fleet.models.REQUIRED_CERTIFICATE).
REQUIRED_CERTIFICATE = {
    "taxi": "taxi_driver",
    "ride_hailing": "ride_hailing_driver",
    "bus": "passenger_driver",
    "coach": "passenger_driver",
    "hazmat": "hazmat_driver",
    "heavy_truck": "cargo_driver",
}


@dataclass(frozen=True, slots=True)
class CertInfo:
    kind: str
    number: str
    issuer: str
    valid_from: dt.date | None
    valid_to: dt.date

    def state_on(self, day: dt.date, void_after_days: int) -> str:
        """valid / expired / void / not_yet_valid, as RULES.md §2a reads certificates."""
        if self.valid_from is not None and day < self.valid_from:
            return "not_yet_valid"
        if day <= self.valid_to:
            return "valid"
        return "expired" if (day - self.valid_to).days <= void_after_days else "void"


@dataclass(frozen=True, slots=True)
class DriverInfo:
    id: int
    name: str
    id_number: str
    enterprise_id: int | None
    certificates: tuple[CertInfo, ...] = ()

    def certificate(self, kind: str) -> CertInfo | None:
        return next((c for c in self.certificates if c.kind == kind), None)


@dataclass(frozen=True, slots=True)
class VehicleInfo:
    id: int
    plate: str
    plate_colour: int
    kind: str
    enterprise_id: int
    district_code: str
    status: str
    goods_classes: tuple[str, ...] = ()
    crew: tuple[int, ...] = ()  # bound drivers, first binding first
    bus_line: str | None = None
    coach_line: str | None = None
    # A coach may drive in 02:00-05:00 only when its line is exempt (RULES.md §2a night_ban).
    night_ban_exempt: bool = False

    @property
    def in_service(self) -> bool:
        return self.status == "in_service"


@dataclass(frozen=True, slots=True)
class TerminalInfo:
    sim: str
    auth_code: str
    maker: str
    model: str
    device_id: str
    edition: str  # "2011" / "2013" / "2019"
    alarm_standard: str  # "su" / "yue"
    vehicle: VehicleInfo

    @property
    def v2019(self) -> bool:
        return self.edition == "2019"


@dataclass(frozen=True, slots=True)
class GoodsInfo:
    un_number: str
    name: str
    hazard_class: str
    quantity: float
    unit: str


@dataclass(frozen=True, slots=True)
class WaybillInfo:
    number: str
    vehicle_id: int
    driver_id: int | None
    escort_id: int | None
    state: str
    start: float
    end: float
    route: tuple[tuple[float, float], ...]  # lon, lat
    origin_name: str
    destination_name: str
    goods: tuple[GoodsInfo, ...] = ()
    trailer_plate: str = ""

    @property
    def toxic(self) -> bool:
        return any(g.hazard_class in TOXIC_OR_EXPLOSIVE for g in self.goods)


@dataclass(frozen=True, slots=True)
class StopInfo:
    sequence: int
    name: str
    lon: float
    lat: float
    radius: float


@dataclass(frozen=True, slots=True)
class BusLineInfo:
    number: str
    name: str
    enterprise_id: int
    route: tuple[tuple[float, float], ...]
    stops: tuple[StopInfo, ...]


@dataclass(frozen=True, slots=True)
class CoachLineInfo:
    number: str
    name: str
    enterprise_id: int
    route: tuple[tuple[float, float], ...]
    service_type: str
    night_ban_exempt: bool


@dataclass(frozen=True, slots=True)
class ZoneInfo:
    id: int
    name: str
    kind: str
    geometry: Any  # shapely polygon, lon/lat
    local: Any  # the same in the metric frame (prepared)
    windows: tuple[dict[str, Any], ...] = ()
    speed_limit: int | None = None

    @property
    def centre(self) -> tuple[float, float]:
        point = self.local.centroid
        return point.x, point.y


@dataclass(frozen=True, slots=True)
class Town:
    code: str
    x: float
    y: float
    radius: float


@dataclass
class World:
    frame: Frame
    graph: RoadGraph
    terminals: list[TerminalInfo]
    drivers: dict[int, DriverInfo]
    waybills: dict[int, list[WaybillInfo]]  # by vehicle id, active ones (issued / in transit)
    home_depots: dict[int, str]  # hazmat vehicle id → depot zone name (from its waybills)
    bus_lines: dict[str, BusLineInfo]
    zones: list[ZoneInfo]
    towns: dict[str, Town]
    enterprise_drivers: dict[int, list[int]] = field(default_factory=dict)
    void_after_days: int = 180
    coach_lines: dict[str, CoachLineInfo] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)  # derived data shared by vehicles

    def zones_of(self, *kinds: str) -> list[ZoneInfo]:
        return [z for z in self.zones if z.kind in kinds]

    def terminal(self, sim: str) -> TerminalInfo:
        return next(t for t in self.terminals if t.sim == sim)
