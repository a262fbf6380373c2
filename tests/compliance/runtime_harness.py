"""Scenario harness for the rule runtime: registry rows in, Violation rows out.

A scenario builds registry rows (roads, zones, lines, waybills, certificates…), then feeds rule
inputs through the same objects the pipeline uses — ``load_facts(load_snapshot())``,
``build_config`` for the vehicle's district and kind, one ``VehicleRules`` — and writes the
findings with the pipeline's ``ViolationWriter``. What comes back is the Violation rows, so a
test asserts what the bureau would see (rule, start, end, measures, review status).

Times are local (UTC+8), on Saturday 2026-11-21 unless another day is given. Positions stay in
district A of the World fixture (lon 122.0–122.1, lat 41.1–41.2) and move slowly: the reported
speed decides driving vs stopped, and a slow drift keeps the implied speed far below the 160 km/h
drift threshold whatever the reported speed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.geos import LineString, Point, Polygon
from django.db import connection

from compliance.catalogue import validate_params
from compliance.engine.model import BUREAU_TZ
from compliance.models import RuleSetting, Violation
from compliance.rule_settings import load_snapshot
from compliance.runtime.config import build_config
from compliance.runtime.facts import load_facts
from compliance.runtime.inputs import (
    AlarmIn,
    FixIn,
    MeterIn,
    OrderIn,
    RuleInput,
    SignIn,
    order_key,
)
from compliance.runtime.vehicle import VehicleRules
from compliance.runtime.writer import ViolationWriter
from fleet.geo.jurisdiction import DistrictResolver
from fleet.models import (
    BusLine,
    BusStop,
    CoachLine,
    Driver,
    DriverVehicleBinding,
    RoadSegment,
    Vehicle,
    Waybill,
    WaybillGoods,
    Zone,
)
from tests import factories

LON, LAT = 122.02, 41.15  # district A
METRES_PER_DEG_LAT = 111_320.0
METRES_PER_DEG_LON = METRES_PER_DEG_LAT * math.cos(math.radians(LAT))
ACC_ON = 0b01
POSITIONED = 0b10
MOVING = ACC_ON | POSITIONED  # status of an ordinary fix: ACC on, positioned
LOADED = 0b01 << 8  # status bits 8–9: load state not empty
ALL_DAYS = [1, 2, 3, 4, 5, 6, 7]


def at(hour: int, minute: int = 0, second: int = 0, *, day: int = 21) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=BUREAU_TZ)


def seconds(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


def north(metres: float) -> float:
    """Degrees of latitude for ``metres`` northwards."""
    return metres / METRES_PER_DEG_LAT


def east(metres: float) -> float:
    return metres / METRES_PER_DEG_LON


def fx(time: dt.datetime, *, lon: float | None = LON, lat: float | None = LAT,
       speed: float = 40.0, status: int = MOVING, alarm: int = 0, in_ranges: bool = True,
       video_lost: bool = False, occluded: bool = False) -> FixIn:
    """A live fix (no stored flags: the rules judge drift themselves, as in the pipeline)."""
    return FixIn(time, lon, lat, speed, status, alarm, True, None, in_ranges, video_lost,
                 occluded)


# -- trips: fix sequences with time and place carried forward ----------------------------------
@dataclass
class Trip:
    """Builds a vehicle's inputs in time order. The first fix is at ``start``; ``drive(d)`` adds
    fixes after the current time up to ``current + d`` at a driving speed (so the whole interval
    is driving time), ``stop(d)`` the same at speed 0 (the whole interval is a stop)."""

    start: dt.datetime
    lon: float = LON
    lat: float = LAT
    status: int = MOVING
    alarm: int = 0
    first_speed: float = 0.0
    items: list[RuleInput] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.now = self.start
        self.items.append(self._fix(self.first_speed))

    def _fix(self, speed: float) -> FixIn:
        return fx(self.now, lon=self.lon, lat=self.lat, speed=speed, status=self.status,
                  alarm=self.alarm)

    def drive(self, duration: dt.timedelta, *, every_s: int = 60, speed: float = 60.0,
              east_m: float = 10.0) -> Trip:
        """Driving for ``duration``; ``east_m`` per fix is the displacement (kept small)."""
        for _ in range(round(duration.total_seconds() / every_s)):
            self.now += seconds(every_s)
            self.lon += east(east_m)
            self.items.append(self._fix(speed))
        return self

    def stop(self, duration: dt.timedelta, *, every_s: int = 60) -> Trip:
        for _ in range(round(duration.total_seconds() / every_s)):
            self.now += seconds(every_s)
            self.items.append(self._fix(0.0))
        return self

    def silence(self, duration: dt.timedelta, *, east_m: float = 0.0,
                speed: float = 0.0) -> Trip:
        """No fix for ``duration``, then one fix ``east_m`` further on, reporting ``speed``."""
        self.now += duration
        self.lon += east(east_m)
        self.items.append(self._fix(speed))
        return self

    def move_to(self, *, lon: float | None = None, lat: float | None = None) -> Trip:
        """Where the next fixes are (no fix by itself)."""
        self.lon = self.lon if lon is None else lon
        self.lat = self.lat if lat is None else lat
        return self

    def add(self, *items: RuleInput) -> Trip:
        self.items.extend(items)
        return self


# -- running the runtime -----------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """The part of a Violation row the edge tests compare."""

    rule: str
    start: dt.datetime
    end: dt.datetime | None


def run(vehicle: Vehicle, items: Iterable[RuleInput], *,
        facts_at: dt.datetime | None = None, sort: bool = True) -> list[Violation]:
    """Feed ``items`` through one VehicleRules with the registry facts and settings in force,
    write the findings as the pipeline does, return the vehicle's rows (by start, rule).

    ``sort``: in the pipeline's order (data time; sign-ins and meter trips before a fix of the
    same instant), as the detector sorts a batch; False feeds them as given."""
    snapshot = load_snapshot()
    facts = load_facts(snapshot, now=facts_at or at(23, 59))
    config = build_config(snapshot, vehicle.registered_district_id, vehicle.kind)
    state = VehicleRules(vehicle.pk)
    for item in sorted(items, key=order_key) if sort else items:
        state.feed(item, facts, config)
    connection.ensure_connection()
    writer = ViolationWriter(DistrictResolver.from_db())
    writer.write(connection.connection, vehicle.pk, list(state.dirty.values()),
                 config.effective, facts, state.last_report)
    return list(Violation.objects.filter(vehicle=vehicle).order_by("started_at", "rule", "pk"))


def rows(violations: Sequence[Violation]) -> list[Row]:
    return [Row(v.rule, v.started_at, v.ended_at) for v in violations]


def by_rule(violations: Sequence[Violation], rule: str) -> list[Violation]:
    return [v for v in violations if v.rule == rule]


def only(violations: Sequence[Violation], rule: str) -> Violation:
    """The single row, after checking it is the only row of any rule."""
    assert [v.rule for v in violations] == [rule], rows(violations)
    return violations[0]


# -- registry builders --------------------------------------------------------------------------
def box(lon0: float, lat0: float, lon1: float, lat1: float) -> Polygon:
    return Polygon(((lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1), (lon0, lat0)),
                   srid=4326)


def east_west(lat: float = LAT, lon0: float = 122.0, lon1: float = 122.1) -> LineString:
    return LineString((lon0, lat), (lon1, lat), srid=4326)


def make_road(limit: int, *, road_class: str = "arterial", lat: float = LAT) -> RoadSegment:
    return RoadSegment.objects.create(name=f"路{limit}", road_class=road_class,
                                      speed_limit_kmh=limit, geometry=east_west(lat))


def make_zone(kind: str, polygon: Polygon, *, windows: list[dict[str, Any]] | None = None,
              limit: int | None = None) -> Zone:
    return Zone.objects.create(name=kind, kind=kind, geometry=polygon,
                               time_windows=windows or [], speed_limit_kmh=limit)


def make_bus_line(vehicle: Vehicle, stops: Sequence[tuple[float, float]] = (), *,
                  radius_m: int = 30) -> BusLine:
    line = BusLine.objects.create(number=f"B{vehicle.pk}", name="测试公交线",
                                  enterprise=vehicle.enterprise,
                                  district=vehicle.registered_district, route=east_west())
    for n, (lon, lat) in enumerate(stops, start=1):
        BusStop.objects.create(line=line, sequence=n, name=f"站{n}",
                               location=Point(lon, lat, srid=4326), radius_m=radius_m)
    vehicle.bus_line = line
    vehicle.save(update_fields=["bus_line"])
    return line


def make_coach_line(vehicle: Vehicle, *, exempt: bool = False,
                    service_type: str = "airport_shuttle") -> CoachLine:
    line = CoachLine.objects.create(number=f"C{vehicle.pk}", name="测试班线",
                                    enterprise=vehicle.enterprise,
                                    district=vehicle.registered_district, route=east_west(),
                                    one_way_km=350, service_type=service_type,
                                    night_ban_exempt=exempt)
    vehicle.coach_line = line
    vehicle.save(update_fields=["coach_line"])
    return line


def make_vehicle(world: Any, kind: str) -> Vehicle:
    return factories.make_vehicle(world.enterprise_a, kind=kind)


def certified(world: Any, kind: str, *, valid_to: dt.date | None = None) -> Driver:
    driver = factories.make_driver(world.enterprise_a)
    factories.make_certificate(driver, kind=kind, valid_to=valid_to or dt.date(2030, 1, 1))
    return driver


def make_waybill(vehicle: Vehicle, start: dt.datetime, end: dt.datetime, *,
                 driver: Driver | None, escort: Driver | None, hazard_class: str = "3",
                 route: LineString | None = None, origin: Point | None = None,
                 destination: Point | None = None, state: str = "in_transit") -> Waybill:
    waybill = Waybill.objects.create(
        number=f"YD{vehicle.pk}{start:%H%M}", vehicle=vehicle, driver=driver, escort=escort,
        shipper="托运人", consignee="收货人", origin_name="起运地", origin=origin,
        destination_name="目的地", destination=destination, planned_route=route,
        planned_start=start, planned_end=end, state=state)
    WaybillGoods.objects.create(waybill=waybill, un_number="1203" if hazard_class == "3"
                                else "1613", name="货物", hazard_class=hazard_class,
                                quantity=10)
    return waybill


def bind_on_platform(vehicle: Vehicle, driver: Driver) -> DriverVehicleBinding:
    return DriverVehicleBinding.objects.create(driver=driver, vehicle=vehicle,
                                               valid_from=at(0, 0, day=1), source="platform")


def set_rule(rule: str, *, enabled: bool = True, kind: str = "", district: Any = None,
             auto_confirm: bool = False, **params: float) -> RuleSetting:
    return RuleSetting.objects.create(rule=rule, district=district, vehicle_kind=kind, version=1,
                                      enabled=enabled, auto_confirm=auto_confirm,
                                      params=validate_params(rule, params))


def alarm(time: dt.datetime, type_name: str, flag: int = 0) -> AlarmIn:
    return AlarmIn(time, type_name, flag)


def sign_in(time: dt.datetime, driver: Driver | None, number: str,
            card_valid_until: dt.date | None = None) -> SignIn:
    return SignIn(time, driver.pk if driver else None, number, card_valid_until)


def meter_trip(boarded: dt.datetime, alighted: dt.datetime, number: str = "1") -> MeterIn:
    return MeterIn(alighted, boarded, alighted, number)


def order(time: dt.datetime, order_id: str, driver: Driver | None) -> OrderIn:
    return OrderIn(time, order_id, driver.id_number if driver else "")
