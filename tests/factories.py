"""Small builders of valid registry objects for tests. Each call makes a distinct object."""

from __future__ import annotations

import datetime as dt
import itertools

from django.contrib.gis.geos import MultiPolygon, Point, Polygon

from compliance.catalogue import RULES
from compliance.models import Violation
from fleet import validators
from fleet.models import Certificate, District, Driver, Enterprise, Terminal, Vehicle

_counter = itertools.count(1)


def credit_code(n: int | None = None) -> str:
    body = f"91211100{(n or next(_counter)):09d}"
    return body + validators.uscc_check_character(body)


def id_number(n: int | None = None, birth: str = "19800101") -> str:
    body = f"211102{birth}{(n or next(_counter)) % 1000:03d}"
    return body + validators.id_check_character(body)


def square(lon: float, lat: float, size: float = 0.1) -> MultiPolygon:
    ring = ((lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size), (lon, lat))
    return MultiPolygon(Polygon(ring), srid=4326)


def make_district(code: str, name: str, lon: float = 122.0, lat: float = 41.0) -> District:
    return District.objects.create(code=code, name=name, boundary=square(lon, lat))


def make_enterprise(district: District, *, kind: str = "taxi_company",
                    name: str | None = None) -> Enterprise:
    n = next(_counter)
    return Enterprise.objects.create(name=name or f"测试运输公司{n}", credit_code=credit_code(n),
                                     kind=kind, district=district)


def plate(n: int | None = None) -> str:
    return f"辽L{(n or next(_counter)) % 100000:05d}"


def make_vehicle(enterprise: Enterprise, *, district: District | None = None,
                 kind: str = "taxi", plate_number: str | None = None) -> Vehicle:
    extra: dict[str, object] = {}
    if kind in {"taxi", "ride_hailing", "bus", "coach"}:
        extra["seats"] = 5 if kind in {"taxi", "ride_hailing"} else 45
    if kind in {"hazmat", "heavy_truck"}:
        extra["rated_load_kg"] = 30000
    if kind == "hazmat":
        extra["hazmat_goods_classes"] = ["3"]
    if kind == "ride_hailing":
        extra["ride_hailing_permit_number"] = "辽网约211100000001"
    return Vehicle.objects.create(plate=plate_number or plate(), plate_colour=2 if kind != "taxi"
                                  else 1, kind=kind, enterprise=enterprise,
                                  registered_district=district or enterprise.district, **extra)


def make_driver(enterprise: Enterprise | None, *, name: str = "张三") -> Driver:
    n = next(_counter)
    return Driver.objects.create(name=name, id_number=id_number(n), phone=f"139{n:08d}",
                                 enterprise=enterprise)


def make_certificate(driver: Driver, *, kind: str = "taxi_driver",
                     valid_to: dt.date | None = None) -> Certificate:
    return Certificate.objects.create(driver=driver, kind=kind,
                                      number=f"2111{next(_counter):014d}",
                                      valid_to=valid_to or dt.date(2030, 1, 1))


def make_terminal(vehicle: Vehicle | None) -> Terminal:
    return Terminal.objects.create(sim_number=f"0139{next(_counter):08d}", auth_code="AUTH123",
                                   vehicle=vehicle)


def make_violation(vehicle: Vehicle, *, rule: str = "overspeed", district: District | None = None,
                   started_at: dt.datetime | None = None, **fields: object) -> Violation:
    """A violation of ``vehicle`` owned by ``district`` (default: where it is registered)."""
    # Spread over the same Shanghai day whatever the counter reached (the counter is shared by
    # every factory of the worker process; unbounded, late tests fell on the next day).
    started = started_at or dt.datetime(2026, 11, 21, 0, 30, tzinfo=dt.UTC) + dt.timedelta(
        minutes=next(_counter) % 900)
    values: dict[str, object] = {
        "vehicle_kind": vehicle.kind, "enterprise": vehicle.enterprise,
        "district": district or vehicle.registered_district, "severity": RULES[rule].severity,
        "ended_at": started + dt.timedelta(seconds=45), "location": Point(122.05, 41.12, srid=4326),
        "review_status": "pending" if RULES[rule].screened else "recorded", **fields}
    return Violation.objects.create(vehicle=vehicle, rule=rule, started_at=started, **values)
