"""The simulated city's traffic as the platform receives it, for benches that run without the
network: bench/ingest.py --traffic city publishes it on the bus, bench/detection.py feeds it
to the rules.

`planned` merges every terminal's simulator plan (fleet.simulator.vehicle.VehiclePlan, planted
misbehaviour included) in time order; `as_records` turns one planned item into what the gateway
or the ingest API would publish: a fix is the simulator's 0x0200 body read by the gateway's own
`make_fix` (no position without the positioned bit, active-safety items as their events), a
card swipe a `CardReport`, a meter trip a `MeterTripRecord`. Backfill is left out (a fix the
simulator buffers in a blind spot is delivered at once).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator

from fleet.gateway.records import CardReport, make_fix, safety_events
from fleet.jt808 import ALARM_CODE_TABLES, CST
from fleet.simulator.entities import TerminalInfo
from fleet.simulator.localtime import from_datetime
from fleet.simulator.outbox import location
from fleet.simulator.plan import CardIn, CardOut, Item, MeterTrip
from fleet.simulator.plan import Fix as PlannedFix
from fleet.simulator.runner import SimConfig, Simulation
from fleet.simulator.vehicle import VehiclePlan
from fleet.simulator.world import load_world
from fleet.telemetry.wire import BusRecord, MeterTripRecord

PUBLISHED = (PlannedFix, CardIn, CardOut, MeterTrip)  # the items that become records


def city(start: dt.datetime, *, seed: int = 1, share: float | None = None) -> Simulation:
    """The demo city's simulation from ``start`` (terminals, planted ways, blind spots)."""
    return Simulation(load_world(start), SimConfig(start=from_datetime(start), seed=seed,
                                                   share=share))


def planned(simulation: Simulation, *, kinds: tuple[type, ...] = PUBLISHED,
            until: float | None = None) -> Iterator[tuple[float, TerminalInfo, Item]]:
    """(time, terminal, item) of every terminal, merged in time order, items of ``kinds`` only,
    up to ``until`` (POSIX seconds; None: without end)."""
    config = simulation.config

    def one(terminal: TerminalInfo) -> Iterator[tuple[float, TerminalInfo, Item]]:
        plan = VehiclePlan(simulation.world, terminal, seed=config.seed, start=config.start,
                           ways=simulation.ways.get(terminal.sim, ()),
                           blind_spots=simulation.spots)
        for item in plan.items():
            if until is not None and item.t >= until:
                return
            if isinstance(item, kinds):
                yield item.t, terminal, item

    return heapq.merge(*(one(t) for t in simulation.terminals), key=lambda e: e[0])


def when(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, CST)


def as_records(terminal: TerminalInfo, item: Item, serial: int = 0) -> list[BusRecord]:
    """What the gateway (fixes, cards) or the ingest API (meter trips) publishes for ``item``,
    received when it happened."""
    sim, vehicle, at = terminal.sim, terminal.vehicle, when(item.t)
    if isinstance(item, PlannedFix):
        fix = make_fix(location(item), sim=sim, vehicle_id=vehicle.id, plate=vehicle.plate,
                       received_at=at, serial=serial,
                       table=ALARM_CODE_TABLES[terminal.alarm_standard])
        return [fix, *safety_events(fix)]
    if isinstance(item, CardIn):
        return [CardReport(sim, vehicle.id, vehicle.plate, at, at, True, item.certificate[:20],
                           item.id_card[:20], item.name, item.issuer, item.valid_until, 0,
                           serial)]
    if isinstance(item, CardOut):
        return [CardReport(sim, vehicle.id, vehicle.plate, at, at, False, "", "", "", "", None,
                           None, serial)]
    if isinstance(item, MeterTrip):
        return [MeterTripRecord("bench", vehicle.id, str(item.trip_no), when(item.boarded_at),
                                when(item.alighted_at), item.boarded_lon, item.boarded_lat,
                                item.alighted_lon, item.alighted_lat, item.distance_km,
                                item.fare_yuan, at)]
    return []
