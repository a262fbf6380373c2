"""The rule stage's per-batch loops: a batch's records read as rule inputs grouped by vehicle,
and each vehicle's inputs through its rules.

Compiled with the rules (config/native.py). Interpreted, these loops were ~15 % of a worker's
rule stage: a call, an exception frame and several dictionary lookups per record and per
vehicle, for batches of a thousand records over nearly as many vehicles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np

from compliance.runtime.config import ConfigCache
from compliance.runtime.facts import Facts
from compliance.runtime.inputs import FixIn, RuleInput, from_record, order_key
from compliance.runtime.vehicle import VehicleRules, asks_every_zone
from fleet.telemetry.wire import BusRecord

log = logging.getLogger("compliance.runtime.detector")

UNKNOWN_VEHICLE = 0  # not in the registry facts: nothing fed
FED = 1
FAULT = 2  # its rules raised: logged, its state starts afresh


def group_inputs(records: Sequence[BusRecord], fix_flags: Sequence[int | None] | None,
                 ) -> tuple[dict[int, list[RuleInput]], int]:
    """(each vehicle's inputs in arrival order, how many records the rules could not read).
    ``fix_flags``, by record: the quality flags the store gave each fix."""
    per_vehicle: dict[int, list[RuleInput]] = {}
    unreadable = 0
    for position, record in enumerate(records):
        try:
            found = from_record(record, None if fix_flags is None else fix_flags[position])
        except Exception:  # the record is stored; the rules skip it, logged
            log.exception("the rules cannot read a %s record of vehicle %s",
                          type(record).__name__, getattr(record, "vehicle_id", None))
            unreadable += 1
            continue
        if found is not None:
            items = per_vehicle.get(found[0])
            if items is None:
                per_vehicle[found[0]] = [found[1]]
            else:
                items.append(found[1])
    return per_vehicle, unreadable


def new_vehicles(per_vehicle: dict[int, list[RuleInput]], facts: Facts,
                 states: dict[int, VehicleRules]) -> tuple[bool, list[int]]:
    """(whether a vehicle is missing from the facts, the vehicles without a state here)."""
    unknown = False
    unseen = []
    for vehicle_id in per_vehicle:
        if vehicle_id not in facts.vehicles:
            unknown = True
        if vehicle_id not in states:
            unseen.append(vehicle_id)
    return unknown, unseen


def places(per_vehicle: dict[int, list[RuleInput]], facts: Facts,
           ) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Longitudes, latitudes and, by point, whether its vehicle asks about every zone
    (vehicle.asks_every_zone), of a batch's positioned fixes: CityGeometry.warm's input."""
    lons: list[float] = []
    lats: list[float] = []
    every: list[bool] = []
    for vehicle_id, items in per_vehicle.items():
        vehicle = facts.vehicles.get(vehicle_id)
        asks = vehicle is None or asks_every_zone(vehicle.kind)
        for item in items:
            if isinstance(item, FixIn) and item.lon is not None and item.lat is not None:
                lons.append(item.lon)
                lats.append(item.lat)
                every.append(asks)
    return np.asarray(lons, dtype=float), np.asarray(lats, dtype=float), every


def feed_vehicle(states: dict[int, VehicleRules], vehicle_id: int,
                 items: Iterable[RuleInput], facts: Facts, configs: ConfigCache) -> int:
    """One vehicle's inputs, in time order, through its rules: FED, UNKNOWN_VEHICLE or FAULT."""
    vehicle = facts.vehicles.get(vehicle_id)
    if vehicle is None:
        return UNKNOWN_VEHICLE
    config = configs.get(vehicle.district_id, vehicle.kind)
    try:
        state = states.get(vehicle_id)
        if state is None:  # not setdefault: building a VehicleRules costs more than a fix
            state = states[vehicle_id] = VehicleRules(vehicle_id)
        for item in items:
            state.feed(item, facts, config)
    except Exception:
        # A fault in the rules (a bug one vehicle's data runs into) must neither stop the
        # worker nor lose the batch: its fixes are stored in this same transaction. That
        # vehicle's rules start afresh from its next input; the fault is logged with it.
        log.exception("the rules failed on vehicle %s; its rule state starts afresh",
                      vehicle_id)
        states[vehicle_id] = VehicleRules(vehicle_id)
        return FAULT
    return FED


def feed_all(states: dict[int, VehicleRules], per_vehicle: dict[int, list[RuleInput]],
             facts: Facts, configs: ConfigCache, pending: dict[int, float],
             clock: float) -> tuple[int, list[int]]:
    """Every vehicle's inputs of a batch through its rules; a vehicle fed is noted in
    ``pending`` (first change since its checkpoint) at ``clock``. Returns (the faults, the
    vehicles with findings to write): a batch of a thousand vehicles has a handful of those."""
    faults = 0
    with_findings: list[int] = []
    for vehicle_id, items in per_vehicle.items():
        # Usually one report per vehicle per batch: nothing to order.
        outcome = feed_vehicle(states, vehicle_id,
                               items if len(items) == 1 else sorted(items, key=order_key),
                               facts, configs)
        if outcome == FAULT:
            faults += 1
            continue
        if outcome == FED:
            if vehicle_id not in pending:
                pending[vehicle_id] = clock
            if states[vehicle_id].dirty:
                with_findings.append(vehicle_id)
    return faults, with_findings
