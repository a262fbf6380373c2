"""Enterprises, vehicles and terminals of the demo city (unsaved model instances, in order)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from fleet.demo.goods import PROFILES
from fleet.demo.identifiers import Identifiers
from fleet.demo.names import STREET_STEMS, enterprise_name, person_name
from fleet.demo.spec import ENTERPRISE_KIND_FOR_VEHICLE, VEHICLES_AT_SCALE_1, DemoSpec
from fleet.models import District, Enterprise, Terminal, Vehicle

# Where enterprises are registered (the city centre districts host most).
_DISTRICT_WEIGHTS = {"211103": 45, "211102": 25, "211104": 15, "211122": 15}
# Share of new-energy plates per kind, and whether the kind takes large-vehicle plates.
_NEW_ENERGY = {"taxi": 0.35, "ride_hailing": 0.7, "bus": 0.6, "coach": 0.05, "hazmat": 0.0,
               "heavy_truck": 0.02}
_LARGE = {"taxi": False, "ride_hailing": False, "bus": True, "coach": True, "hazmat": True,
          "heavy_truck": True}
# Terminal makers (JT/T 808 maker id, model) and protocol editions (mostly 2013, few 2011).
_TERMINALS = (("70111", "YW-808A"), ("HDKJ1", "HD-T8"), ("JMKJ2", "JM-VL02"),
              ("TKXX3", "TK-808S"), ("RMZN5", "RM-X6"), ("SDRZ8", "SD-AD5"))
_EDITIONS = (("2013", 75), ("2019", 21), ("2011", 4))


@dataclass
class Registry:
    enterprises: dict[str, list[Enterprise]] = field(default_factory=dict)  # by enterprise kind
    vehicles: list[Vehicle] = field(default_factory=list)
    hazmat_profile: dict[int, str] = field(default_factory=dict)  # id(vehicle) → profile
    terminals: list[Terminal] = field(default_factory=list)

    @property
    def all_enterprises(self) -> list[Enterprise]:
        return [e for kind in self.enterprises for e in self.enterprises[kind]]


def build_enterprises(spec: DemoSpec, ids: Identifiers, districts: dict[str, District],
                      registry: Registry) -> None:
    rng = spec.rng("enterprises")
    codes = [c for c in _DISTRICT_WEIGHTS if c in districts]
    weights = [_DISTRICT_WEIGHTS[c] for c in codes]
    names: set[str] = set()
    serial = 0  # permit numbers run across all kinds
    for kind in dict.fromkeys(ENTERPRISE_KIND_FOR_VEHICLE.values()):
        listed: list[Enterprise] = []
        for _ in range(spec.enterprises(kind)):
            serial += 1
            code = rng.choices(codes, weights=weights)[0]
            valid_from = spec.as_of - dt.timedelta(days=rng.randint(60, 1800))
            # A few permits lapsed: material for the enterprise screens.
            years = 4 if rng.random() > 0.04 else 1
            valid_to = valid_from + dt.timedelta(days=365 * years)
            listed.append(Enterprise(
                name=enterprise_name(rng, kind, code, names),
                credit_code=ids.credit_code(code), kind=kind, district=districts[code],
                permit_number=f"辽交运管许可盘字{code}{serial:04d}号",
                permit_valid_from=valid_from, permit_valid_to=valid_to,
                safety_contact=person_name(rng, male=rng.random() < 0.7),
                safety_contact_phone=ids.mobile() if rng.random() < 0.7 else ids.landline(),
                address=(f"盘锦市{districts[code].name}{rng.choice(STREET_STEMS)}"
                         f"{rng.choice(('路', '街', '大街'))}{rng.randint(1, 399)}号")))
        registry.enterprises[kind] = listed


def _owners(rng: random.Random, owners: list[Enterprise], count: int) -> list[Enterprise]:
    """Spread ``count`` vehicles over the owners: each has one, the rest follow a long tail."""
    first = owners[:count]
    weights = [rng.paretovariate(1.2) for _ in owners]
    return first + rng.choices(owners, weights=weights, k=count - len(first))


def _hazmat_fields(rng: random.Random, index: int, owner_profile: str,
                   ) -> tuple[str, list[str], Decimal | None, int]:
    # The first vehicles cycle through every profile, so tiny cities still carry every kind.
    names = list(PROFILES)
    if index < len(names):
        profile = names[index]
    elif rng.random() < 0.85:
        profile = owner_profile
    else:
        profile = rng.choices(names, weights=[PROFILES[p][1] for p in names])[0]
    classes, _, tanker_share = PROFILES[profile]
    tank = (Decimal(rng.randrange(1500, 4500)) / 100 if rng.random() < tanker_share else None)
    load = 1000 * rng.choice((1, 2, 3, 5, 8)) if profile == "explosive" else \
        rng.randrange(10000, 32001, 50)
    return profile, list(classes), tank, load


def build_vehicles(spec: DemoSpec, ids: Identifiers, registry: Registry) -> None:
    rng = spec.rng("vehicles")
    profile_names = list(PROFILES)
    carrier_profile = {
        id(e): rng.choices(profile_names, weights=[PROFILES[p][1] for p in profile_names])[0]
        for e in registry.enterprises["hazmat_carrier"]}
    cert_seq = 0
    for kind in VEHICLES_AT_SCALE_1:
        owners = registry.enterprises[ENTERPRISE_KIND_FOR_VEHICLE[kind]]
        for index, owner in enumerate(_owners(rng, owners, spec.vehicles(kind))):
            cert_seq += 1
            new_energy = rng.random() < _NEW_ENERGY[kind]
            large = _LARGE[kind]
            colour = (6 if large else 5) if new_energy else (1 if not large else 2)
            vehicle = Vehicle(
                plate=ids.plate(new_energy=new_energy, large=large), plate_colour=colour,
                kind=kind, enterprise=owner,
                registered_district=owner.district,  # where the operator is registered
                vin=ids.vin(kind, rng.randint(2016, 2024)),
                transport_cert_number=f"辽交运管盘字{owner.district.code}{cert_seq:07d}号",
                transport_cert_valid_to=spec.as_of + dt.timedelta(
                    days=rng.randint(-60, 1800) if rng.random() < 0.03 else rng.randint(1, 1800)),
                status="suspended" if rng.random() < 0.03 else "in_service")
            if kind in {"taxi", "ride_hailing"}:
                vehicle.seats = 5 if kind == "taxi" or rng.random() < 0.85 else 7
            elif kind == "bus":
                vehicle.seats = rng.choice((22, 26, 31, 35, 41))
            elif kind == "coach":
                vehicle.seats = rng.choice((19, 33, 35, 39, 45, 49, 51, 55))
            elif kind == "heavy_truck":
                vehicle.rated_load_kg = rng.randrange(12000, 49001, 50)
            else:
                profile, classes, tank, load = _hazmat_fields(
                    rng, index, carrier_profile[id(owner)])
                vehicle.hazmat_goods_classes, vehicle.tank_capacity_m3 = classes, tank
                vehicle.rated_load_kg = load
                registry.hazmat_profile[id(vehicle)] = profile
            if kind == "ride_hailing":
                vehicle.ride_hailing_permit_number = f"辽网约车211100{cert_seq:07d}"
                vehicle.ride_hailing_permit_valid_to = spec.as_of + dt.timedelta(
                    days=rng.randint(-90, 1500))
            registry.vehicles.append(vehicle)


def build_terminals(spec: DemoSpec, ids: Identifiers, registry: Registry) -> None:
    """One active terminal per vehicle; a few retired ones and spares in stock."""
    rng = spec.rng("terminals")
    editions = [e for e, _ in _EDITIONS]
    edition_weights = [w for _, w in _EDITIONS]

    def terminal(vehicle: Vehicle | None, *, active: bool) -> Terminal:
        maker, model = rng.choice(_TERMINALS)
        edition = rng.choices(editions, weights=edition_weights)[0]
        return Terminal(
            sim_number=ids.sim_number(), auth_code=ids.code(12), maker=maker, model=model,
            device_id=ids.code(7 if edition != "2019" else 12), protocol_edition=edition,
            alarm_standard="su" if rng.random() < 0.7 else "yue", vehicle=vehicle, active=active)

    for vehicle in registry.vehicles:
        if rng.random() < 0.03:  # replaced: the old unit stays on record, inactive
            registry.terminals.append(terminal(vehicle, active=False))
        registry.terminals.append(terminal(vehicle, active=True))
    spares = max(1, round(len(registry.vehicles) * 0.005))
    registry.terminals += [terminal(None, active=False) for _ in range(spares)]

