"""Drivers, hazmat escorts, their qualification certificates and driver–vehicle bindings.

Certificate mix (RULES.md §2 ``cert_invalid``): about 92 % valid, 4 % expired (≤ 180 days past
valid-to), 2 % void (> 180 days past) and 2 % of people with no certificate at all, judged on the
as-of date. The first three drivers of every vehicle kind (and the first escorts) are forced to
expired, void and missing, so even a tiny city has each case for every kind.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from fleet.demo.identifiers import Identifiers
from fleet.demo.names import person_name
from fleet.demo.registry import Registry
from fleet.demo.spec import DemoSpec
from fleet.models import Certificate, Driver, DriverVehicleBinding, Enterprise, Vehicle
from fleet.models.registry import REQUIRED_CERTIFICATE, CertificateKind

# Drivers per vehicle: (probability of a second driver) — taxis run double shifts.
_SECOND_DRIVER = {"taxi": 0.6, "ride_hailing": 0.0, "bus": 0.3, "coach": 0.4, "hazmat": 0.05,
                  "heavy_truck": 0.1}
_MALE_SHARE = {"taxi": 0.88, "ride_hailing": 0.85, "bus": 0.75, "coach": 0.9, "hazmat": 0.95,
               "heavy_truck": 0.97}
ESCORTS_PER_HAZMAT_VEHICLE = 0.9
_FORCED = ("expired", "void", "missing")
_ISSUERS = ("盘锦市交通运输局", "辽宁省交通运输厅", "盘锦市道路运输管理处")
CERTIFICATE_YEARS = 6


@dataclass
class People:
    drivers: list[Driver] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    bindings: list[DriverVehicleBinding] = field(default_factory=list)
    drivers_of: dict[int, list[Driver]] = field(default_factory=dict)  # id(vehicle) → drivers
    escorts_of: dict[int, list[Driver]] = field(default_factory=dict)  # id(enterprise) → escorts


class _Staff:
    def __init__(self, spec: DemoSpec, ids: Identifiers, people: People) -> None:
        self.spec = spec
        self.ids = ids
        self.people = people
        self.rng = spec.rng("people")
        self.cert_seq = 0

    def person(self, enterprise: Enterprise, male_share: float) -> Driver:
        rng = self.rng
        male = rng.random() < male_share
        age_days = rng.randint(23 * 365, 58 * 365)
        birth = self.spec.as_of - dt.timedelta(days=age_days)
        driver = Driver(name=person_name(rng, male=male),
                        id_number=self.ids.id_number(birth, male=male),
                        phone=self.ids.mobile(), enterprise=enterprise)
        self.people.drivers.append(driver)
        return driver

    def state(self, forced: str | None) -> str:
        if forced:
            return forced
        u = self.rng.random()
        return ("missing" if u < 0.02 else "expired" if u < 0.06 else "void" if u < 0.08
                else "valid")

    def certify(self, driver: Driver, kind: str, forced: str | None = None) -> None:
        state = self.state(forced)
        if state == "missing":
            return
        rng, as_of = self.rng, self.spec.as_of
        offset = {"valid": rng.randint(1, CERTIFICATE_YEARS * 365),
                  "expired": -rng.randint(1, 180),
                  "void": -rng.randint(181, 1500)}[state]
        valid_to = as_of + dt.timedelta(days=offset)
        valid_from = valid_to - dt.timedelta(days=CERTIFICATE_YEARS * 365)
        self.cert_seq += 1
        district = driver.enterprise.district.code if driver.enterprise else "211100"
        self.people.certificates.append(Certificate(
            driver=driver, kind=kind, number=f"{district}{valid_from:%Y}{self.cert_seq:08d}",
            issuer=rng.choice(_ISSUERS), valid_from=valid_from, valid_to=valid_to))

    def bind(self, driver: Driver, vehicle: Vehicle) -> None:
        start = self.spec.at(days=-self.rng.randint(3, 1000), hours=self.rng.randint(6, 20))
        source = "platform" if vehicle.kind == "ride_hailing" else "roster"
        self.people.bindings.append(DriverVehicleBinding(
            driver=driver, vehicle=vehicle, valid_from=start, valid_to=None, source=source))


def build_people(spec: DemoSpec, ids: Identifiers, registry: Registry) -> People:
    people = People()
    staff = _Staff(spec, ids, people)
    rng: random.Random = staff.rng
    seen_per_kind: dict[str, int] = {}
    hazmat_vehicles: dict[int, int] = {}  # id(enterprise) → hazmat vehicles
    for vehicle in registry.vehicles:
        kind = vehicle.kind
        count = 2 if rng.random() < _SECOND_DRIVER[kind] else 1
        crew: list[Driver] = []
        for _ in range(count):
            seen = seen_per_kind.get(kind, 0)
            seen_per_kind[kind] = seen + 1
            driver = staff.person(vehicle.enterprise, _MALE_SHARE[kind])
            staff.certify(driver, REQUIRED_CERTIFICATE[kind],
                          _FORCED[seen] if seen < len(_FORCED) else None)
            staff.bind(driver, vehicle)
            crew.append(driver)
        people.drivers_of[id(vehicle)] = crew
        if kind == "hazmat":
            key = id(vehicle.enterprise)
            hazmat_vehicles[key] = hazmat_vehicles.get(key, 0) + 1
    escorts_made = 0
    for carrier in registry.enterprises.get("hazmat_carrier", []):
        count = max(1, round(hazmat_vehicles.get(id(carrier), 0) * ESCORTS_PER_HAZMAT_VEHICLE))
        escorts: list[Driver] = []
        for _ in range(count):
            escort = staff.person(carrier, 0.6)
            staff.certify(escort, CertificateKind.HAZMAT_ESCORT,
                          _FORCED[escorts_made] if escorts_made < len(_FORCED) else None)
            escorts_made += 1
            escorts.append(escort)
        people.escorts_of[id(carrier)] = escorts
    return people
