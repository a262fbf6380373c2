"""Registry facts the rules need, held in memory (DESIGN.md: the hot path stays out of the ORM).

Loaded in one go from the database and reloaded every ``RULES_FACTS_REFRESH_S`` by the worker,
so a new waybill or a renewed certificate reaches the rules within that delay.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from compliance.engine.credentials import CertificateRecord
from compliance.engine.model import local
from compliance.rule_settings import Snapshot
from compliance.runtime.geometry import CityGeometry, Route

# Goods that make a long stop outside approved places a violation (RULES.md long_stop_toxic):
# explosives (class 1) and toxic substances (6.1).
TOXIC_CLASS_PREFIXES = ("1", "6.1")


@dataclass(frozen=True, slots=True)
class VehicleFacts:
    kind: str
    district_id: int
    enterprise_id: int
    ride_hailing_permit_valid_to: dt.date | None
    bus_line_id: int | None
    coach_line_id: int | None


@dataclass(frozen=True, slots=True)
class WaybillFacts:
    id: int
    number: str
    active_from: dt.datetime
    active_to: dt.datetime
    driver_id: int | None
    escort_id: int | None
    toxic: bool
    route: Route | None
    ends: tuple[tuple[float, float], ...]  # origin / destination (lon, lat), approved stops


@dataclass
class Facts:
    vehicles: dict[int, VehicleFacts] = field(default_factory=dict)
    certificates: dict[str, CertificateRecord] = field(default_factory=dict)
    # By (kind, number): the registry allows one number for several kinds (often the ID
    # number), and a sign-in must be judged by the kind the vehicle needs.
    certificates_by_kind: dict[tuple[str, str], CertificateRecord] = field(default_factory=dict)
    driver_certificates: dict[int, list[CertificateRecord]] = field(default_factory=dict)
    driver_by_id_number: dict[str, int] = field(default_factory=dict)
    platform_bindings: dict[int, set[int]] = field(default_factory=dict)
    waybills: dict[int, list[WaybillFacts]] = field(default_factory=dict)
    exempt_coach_lines: set[int] = field(default_factory=set)
    sims: dict[int, str] = field(default_factory=dict)  # vehicle → active terminal SIM
    driver_ids: set[int] = field(default_factory=set)
    district_ids: dict[str, int] = field(default_factory=dict)
    geometry: CityGeometry = field(default_factory=CityGeometry)

    def known_driver(self, driver_id: int | None) -> int | None:
        """The id when the registry has this driver (a violation must not name a ghost)."""
        return driver_id if driver_id in self.driver_ids else None

    def certificate(self, number: str, kind: str) -> CertificateRecord | None:
        """The registry certificate a card's number names, of ``kind`` when there is one."""
        return self.certificates_by_kind.get((kind, number)) or self.certificates.get(number)

    def waybill_at(self, vehicle_id: int, at: dt.datetime) -> WaybillFacts | None:
        for waybill in self.waybills.get(vehicle_id, ()):
            if waybill.active_from <= at <= waybill.active_to:
                return waybill
        return None

    def holds_valid(self, driver_id: int, kind: str, on: dt.date) -> bool:
        return any(c.kind == kind and (c.valid_from is None or c.valid_from <= on)
                   and on <= c.valid_to for c in self.driver_certificates.get(driver_id, ()))


def waybill_margins(snapshot: Snapshot) -> tuple[dt.timedelta, dt.timedelta]:
    """How long before its planned start and after its planned end a waybill counts as active.
    City-wide (the hazmat setting without district): per-district margins would make one
    waybill active for one district and not for another."""
    params = snapshot.resolve("no_waybill", None, "hazmat").params
    return (dt.timedelta(minutes=float(params["early_margin_min"])),
            dt.timedelta(minutes=float(params["late_margin_min"])))


def load_facts(snapshot: Snapshot, *, now: dt.datetime | None = None,
               geometry: CityGeometry | None = None) -> Facts:
    """The registry facts as stored now. ``geometry``: the last load's, kept (with the caches
    it has filled) if the roads, zones, lines and boundaries are unchanged."""
    from fleet.models import (
        Certificate,
        CoachLine,
        District,
        Driver,
        DriverVehicleBinding,
        Terminal,
        Vehicle,
        Waybill,
        WaybillGoods,
    )

    facts = Facts(geometry=CityGeometry.from_db(geometry))
    facts.district_ids = dict(District.objects.values_list("code", "pk"))
    for row in Vehicle.objects.values_list("pk", "kind", "registered_district_id",
                                           "enterprise_id", "ride_hailing_permit_valid_to",
                                           "bus_line_id", "coach_line_id"):
        facts.vehicles[row[0]] = VehicleFacts(*row[1:])
    for driver_id, kind, number, valid_from, valid_to in Certificate.objects.values_list(
            "driver_id", "kind", "number", "valid_from", "valid_to"):
        record = CertificateRecord(kind, number, valid_from, valid_to)
        facts.certificates[number] = record
        facts.certificates_by_kind[(kind, number)] = record
        facts.driver_certificates.setdefault(driver_id, []).append(record)
    facts.driver_by_id_number = dict(Driver.objects.values_list("id_number", "pk"))
    facts.driver_ids = set(facts.driver_by_id_number.values())
    facts.sims = dict(Terminal.objects.filter(active=True, vehicle__isnull=False)
                      .values_list("vehicle_id", "sim_number"))
    at = now or dt.datetime.now(dt.UTC)
    bindings = DriverVehicleBinding.objects.filter(source="platform").filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=at), valid_from__lte=at)
    for vehicle_id, driver_id in bindings.values_list("vehicle_id", "driver_id"):
        facts.platform_bindings.setdefault(vehicle_id, set()).add(driver_id)
    facts.exempt_coach_lines = set(CoachLine.objects.filter(night_ban_exempt=True)
                                   .values_list("pk", flat=True))
    early, late = waybill_margins(snapshot)
    toxic: dict[int, bool] = defaultdict(bool)
    for waybill_id, hazard_class in WaybillGoods.objects.values_list("waybill_id",
                                                                     "hazard_class"):
        if hazard_class.startswith(TOXIC_CLASS_PREFIXES):
            toxic[waybill_id] = True
    horizon = at - dt.timedelta(days=settings.RULES_WAYBILL_HORIZON_DAYS)
    waybills = (Waybill.objects.exclude(state="cancelled").filter(planned_end__gte=horizon)
                .values_list("pk", "number", "vehicle_id", "planned_start", "planned_end",
                             "driver_id", "escort_id", "planned_route", "origin",
                             "destination"))
    for (pk, number, vehicle_id, start, end, driver_id, escort_id, route, origin,
         destination) in waybills:
        ends = tuple((p.x, p.y) for p in (origin, destination) if p is not None)
        # In the terminals' zone object, which fix times carry: compared at every hazmat fix.
        facts.waybills.setdefault(vehicle_id, []).append(WaybillFacts(
            pk, number, local(start - early), local(end + late), driver_id, escort_id, toxic[pk],
            facts.geometry.route(route) if route is not None else None, ends))
    for items in facts.waybills.values():
        items.sort(key=lambda w: w.active_from)
    return facts
