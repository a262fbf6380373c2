"""The vocabulary of a vehicle's plan.

Behaviours produce *stages* (drive along a route, dwell somewhere, an instant event such as a card
swipe); the sampler turns stages into *items*, the things a terminal actually emits: location
fixes, card events, waybill documents, meter trips, and `PowerCut` (the terminal goes dark).
Times are POSIX seconds; fix times are whole seconds (the wire has 1 s resolution).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fleet.simulator.motion import Motion

LOAD_EMPTY = 0
LOAD_FULL = 0x300  # status bits 8-9 = 11


# -- stages ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class Drive:
    start: float
    motion: Motion
    load: int
    tag: str
    odometer_m: float  # at the start
    forced: tuple[float, ...] = ()  # elapsed seconds at which the terminal reports anyway
    overspeed: tuple[float, float] | None = None  # elapsed span with the overspeed alarm on

    @property
    def end(self) -> float:
        return self.start + self.motion.duration


@dataclass(slots=True)
class Dwell:
    start: float
    duration: float
    x: float
    y: float
    heading: int
    acc: bool
    load: int
    tag: str
    odometer_m: float
    doors: bool = False
    report_start: bool = False  # status-change reports (doors opening, closing)
    report_end: bool = False

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(slots=True)
class Instant:
    start: float
    item: Item

    @property
    def end(self) -> float:
        return self.start


Stage = Drive | Dwell | Instant


# -- items ----------------------------------------------------------------------------------------
@dataclass(slots=True)
class Fix:
    t: int
    x: float  # metric frame (true position)
    y: float
    lon: float
    lat: float
    speed: float  # km/h
    heading: int
    altitude: int
    status: int
    odometer_m: float
    alarm: int = 0
    items: list[tuple[int, bytes]] = field(default_factory=list)
    blind: bool = False  # no network: buffered, sent later as a 0x0704 backfill
    tag: str = ""

    @property
    def moving(self) -> bool:
        return self.speed >= 5.0


@dataclass(slots=True)
class CardIn:
    t: float
    driver_id: int | None
    name: str
    certificate: str  # "" = a card without a certificate number
    issuer: str
    valid_until: dt.date | None
    id_card: str


@dataclass(slots=True)
class CardOut:
    t: float
    driver_id: int | None


@dataclass(slots=True)
class WaybillDoc:
    t: float
    number: str
    text: str


@dataclass(slots=True)
class MeterTrip:
    """A taxi meter (计价器) trip record, handed to the `MeterTripSink` when it ends."""

    t: float  # when the record is complete (alighting)
    trip_no: int
    boarded_at: float
    boarded_lon: float
    boarded_lat: float
    alighted_at: float
    alighted_lon: float
    alighted_lat: float
    distance_km: float
    fare_yuan: float
    waiting_s: int = 0


@dataclass(slots=True)
class PowerCut:
    """The terminal loses power and network at `t`: nothing is recorded until the next fix."""

    t: float


Item = Fix | CardIn | CardOut | WaybillDoc | MeterTrip | PowerCut

