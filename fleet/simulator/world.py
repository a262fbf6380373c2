"""Load once from the database everything the simulator needs, as plain objects (entities.py).

The only simulator module that touches the ORM besides the management command: after
`load_world()` returns, the hot loop never queries the database.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import shapely
from django.conf import settings
from django.utils import timezone

from fleet.geo.boundaries import to_shapely
from fleet.models import (
    BusLine,
    BusStop,
    Certificate,
    CoachLine,
    District,
    Driver,
    DriverVehicleBinding,
    RoadSegment,
    Terminal,
    Vehicle,
    Waybill,
    WaybillGoods,
    Zone,
)
from fleet.simulator.entities import (
    BusLineInfo,
    CertInfo,
    CoachLineInfo,
    DriverInfo,
    GoodsInfo,
    StopInfo,
    TerminalInfo,
    Town,
    VehicleInfo,
    WaybillInfo,
    World,
    ZoneInfo,
)
from fleet.simulator.geometry import Frame
from fleet.simulator.graph import RoadGraph, SegmentRow

ACTIVE_WAYBILL_STATES = ("issued", "in_transit")
_DEFAULT_TOWN_RADIUS_M = 3000.0


def load_world(at: dt.datetime | None = None) -> World:
    """Snapshot of the registry and the reference geography; `at` picks current bindings."""
    at = at or timezone.now()
    segments = list(RoadSegment.objects.order_by("pk").values_list(
        "name", "road_class", "speed_limit_kmh", "geometry"))
    if not segments:
        raise ValueError("no road segments: load the demo city first (manage.py load_demo_city)")
    lons = [c[0] for *_, g in segments for c in g.coords]
    lats = [c[1] for *_, g in segments for c in g.coords]
    frame = Frame((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2)
    zones = _zones(frame)
    graph = RoadGraph(frame, _segment_rows(segments, zones))
    drivers = _drivers()
    vehicles = _vehicles(at)
    return World(
        frame=frame,
        graph=graph,
        terminals=_terminals(vehicles),
        drivers=drivers,
        waybills=_waybills(),
        home_depots=_home_depots(frame, [z for z in zones if z.kind == "depot"]),
        bus_lines=_bus_lines(),
        zones=zones,
        towns=_towns(frame),
        enterprise_drivers=_enterprise_drivers(drivers.values()),
        void_after_days=settings.CERTIFICATE_VOID_AFTER_DAYS,
        coach_lines=_coach_lines(),
    )


def _zones(frame: Frame) -> list[ZoneInfo]:
    out = []
    for pk, name, kind, geometry, windows, speed in Zone.objects.filter(active=True).order_by(
            "pk").values_list("pk", "name", "kind", "geometry", "time_windows",
                              "speed_limit_kmh"):
        shape = to_shapely(geometry)
        local = shapely.transform(shape, lambda c: _to_metric(frame, c))
        shapely.prepare(local)
        out.append(ZoneInfo(pk, name, kind, shape, local, tuple(windows or ()), speed))
    return out


def _to_metric(frame: Frame, coords: np.ndarray) -> np.ndarray:
    out = coords.copy()
    out[:, 0] = (coords[:, 0] - frame.lon0) * frame.kx
    out[:, 1] = (coords[:, 1] - frame.lat0) * 111_320.0
    return out


def _segment_rows(segments: list, zones: list[ZoneInfo]) -> Iterable[SegmentRow]:
    limited = [z for z in zones if z.speed_limit]
    tree = shapely.STRtree([z.geometry for z in limited]) if limited else None
    for name, road_class, limit, geometry in segments:
        coords = tuple((float(x), float(y)) for x, y in geometry.coords)
        zone_limit = None
        if tree is not None:
            line = shapely.LineString(coords)
            hits = [limited[i] for i in tree.query(line, predicate="intersects")]
            if hits:
                zone_limit = min(z.speed_limit for z in hits if z.speed_limit)
        yield SegmentRow(name, road_class, limit, coords, zone_limit)


def _drivers() -> dict[int, DriverInfo]:
    certs: dict[int, list[CertInfo]] = defaultdict(list)
    for driver_id, kind, number, issuer, valid_from, valid_to in Certificate.objects.order_by(
            "pk").values_list("driver_id", "kind", "number", "issuer", "valid_from", "valid_to"):
        certs[driver_id].append(CertInfo(kind, number, issuer, valid_from, valid_to))
    return {pk: DriverInfo(pk, name, id_number, enterprise, tuple(certs.get(pk, ())))
            for pk, name, id_number, enterprise in Driver.objects.order_by("pk").values_list(
                "pk", "name", "id_number", "enterprise_id")}


def _enterprise_drivers(drivers: Iterable[DriverInfo]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for driver in drivers:
        if driver.enterprise_id is not None:
            out[driver.enterprise_id].append(driver.id)
    return dict(out)


def _vehicles(at: dt.datetime) -> dict[int, VehicleInfo]:
    crews: dict[int, list[int]] = defaultdict(list)
    for vehicle_id, driver_id in DriverVehicleBinding.objects.current(at).order_by(
            "vehicle_id", "driver_id").values_list("vehicle_id", "driver_id"):
        crews[vehicle_id].append(driver_id)
    rows = Vehicle.objects.order_by("pk").values_list(
        "pk", "plate", "plate_colour", "kind", "enterprise_id", "registered_district__code",
        "status", "hazmat_goods_classes", "bus_line__number", "coach_line__number",
        "coach_line__night_ban_exempt")
    # The registry's lines: a bus runs its bus line, a coach keeps to its approved line.
    return {pk: VehicleInfo(pk, plate, colour, kind, enterprise, district or "", status,
                            tuple(classes or ()), tuple(crews.get(pk, ())), bus_line,
                            coach_line, bool(exempt))
            for (pk, plate, colour, kind, enterprise, district, status, classes, bus_line,
                 coach_line, exempt) in rows}


def _terminals(vehicles: dict[int, VehicleInfo]) -> list[TerminalInfo]:
    rows = Terminal.objects.filter(active=True, vehicle__isnull=False).order_by(
        "sim_number").values_list("sim_number", "auth_code", "maker", "model", "device_id",
                                  "protocol_edition", "alarm_standard", "vehicle_id")
    return [TerminalInfo(sim, auth, maker, model, device, edition, standard, vehicles[vid])
            for sim, auth, maker, model, device, edition, standard, vid in rows]


def _waybills() -> dict[int, list[WaybillInfo]]:
    goods: dict[int, list[GoodsInfo]] = defaultdict(list)
    for waybill_id, un, name, cls, qty, unit in WaybillGoods.objects.filter(
            waybill__state__in=ACTIVE_WAYBILL_STATES).order_by("pk").values_list(
            "waybill_id", "un_number", "name", "hazard_class", "quantity", "unit"):
        goods[waybill_id].append(GoodsInfo(un, name, cls, float(qty), unit))
    out: dict[int, list[WaybillInfo]] = defaultdict(list)
    for (pk, number, vehicle, driver, escort, state, start, end, route, origin_name,
         destination_name, trailer) in Waybill.objects.filter(
            state__in=ACTIVE_WAYBILL_STATES, planned_route__isnull=False).order_by(
            "planned_start", "pk").values_list(
            "pk", "number", "vehicle_id", "driver_id", "escort_id", "state", "planned_start",
            "planned_end", "planned_route", "origin_name", "destination_name", "trailer_plate"):
        out[vehicle].append(WaybillInfo(
            number, vehicle, driver, escort, state, start.timestamp(), end.timestamp(),
            tuple((float(x), float(y)) for x, y in route.coords), origin_name, destination_name,
            tuple(goods.get(pk, ())), trailer))
    return dict(out)


def _home_depots(frame: Frame, depots: list[ZoneInfo]) -> dict[int, str]:
    """The depot nearest the origin of each hazmat vehicle's latest waybill."""
    if not depots:
        return {}
    latest: dict[int, tuple[float, float]] = {}
    for vehicle, origin in Waybill.objects.filter(origin__isnull=False).order_by(
            "planned_start", "pk").values_list("vehicle_id", "origin"):
        latest[vehicle] = frame.xy(origin.x, origin.y)
    out = {}
    for vehicle, (x, y) in latest.items():
        best = min(depots, key=lambda z: ((z.centre[0] - x) ** 2 + (z.centre[1] - y) ** 2, z.id))
        out[vehicle] = best.name
    return out


def _bus_lines() -> dict[str, BusLineInfo]:
    stops: dict[int, list[StopInfo]] = defaultdict(list)
    for line_id, seq, name, location, radius in BusStop.objects.order_by(
            "line_id", "sequence").values_list("line_id", "sequence", "name", "location",
                                               "radius_m"):
        stops[line_id].append(StopInfo(seq, name, location.x, location.y, float(radius)))
    return {number: BusLineInfo(number, name, enterprise,
                                tuple((float(x), float(y)) for x, y in route.coords),
                                tuple(stops.get(pk, ())))
            for pk, number, name, enterprise, route in BusLine.objects.order_by(
                "pk").values_list("pk", "number", "name", "enterprise_id", "route")}


def _coach_lines() -> dict[str, CoachLineInfo]:
    return {number: CoachLineInfo(number, name, enterprise,
                                  tuple((float(x), float(y)) for x, y in route.coords),
                                  service, exempt)
            for number, name, enterprise, route, service, exempt in CoachLine.objects.order_by(
                "pk").values_list("number", "name", "enterprise_id", "route", "service_type",
                                  "night_ban_exempt")}


def _towns(frame: Frame) -> dict[str, Town]:
    """Town centres of the districts: the demo's when it knows them, else the polygon's centre."""
    from fleet.demo.spec import TOWN_CENTRES

    out = {}
    for code, boundary in District.objects.filter(
            boundary__isnull=False, parent__isnull=False).values_list("code", "boundary"):
        if code in TOWN_CENTRES:
            lon, lat, radius = TOWN_CENTRES[code]
        else:
            centre = boundary.point_on_surface
            lon, lat, radius = centre.x, centre.y, _DEFAULT_TOWN_RADIUS_M
        x, y = frame.xy(lon, lat)
        out[code] = Town(code, x, y, radius)
    return out
