"""What the rules consume, in one shape whether it comes off the bus (live) or from the store
(replay): every input carries its data time, and inputs of one vehicle are fed in time order.

The inputs are treated as immutable but are not ``frozen`` dataclasses: one is built per
record, and a frozen ``__init__`` (one ``object.__setattr__`` per field) costs ~5×. The
commonest, FixIn, is not a dataclass at all (see PlainValue)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from compliance.engine.model import PlainValue
from fleet.gateway.records import DriverSignIn, DriverSignOut, Fix, TerminalEvent
from fleet.telemetry import quality
from fleet.telemetry.schema import FLAG_DRIFT
from fleet.telemetry.wire import BusRecord, MeterTripRecord, OrderRecord


class FixIn(PlainValue):
    """One location report as the rules take it; not a dataclass (see PlainValue)."""

    __slots__ = ("alarm", "flags", "in_ranges", "lat", "lon", "occluded", "speed_kmh",
                 "status", "time", "via_gateway", "video_lost")

    def __init__(self, time: dt.datetime, lon: float | None, lat: float | None,
                 speed_kmh: float, status: int, alarm: int, via_gateway: bool,
                 flags: int | None = None, in_ranges: bool | None = True,
                 video_lost: bool = False, occluded: bool = False) -> None:
        self.time = time
        self.lon = lon
        self.lat = lat
        self.speed_kmh = speed_kmh
        self.status = status
        self.alarm = alarm
        self.via_gateway = via_gateway
        # The data-quality flags (schema FLAG_*) the store gave the fix: read back in a
        # replay, handed over by the worker live. None where there is no store (benches, unit
        # tests): the rules then judge drift themselves.
        self.flags = flags
        # RULES.md §3 ranges (time, coordinates, speed, altitude), judged when the fix
        # arrived; None when not known (a replay: the stored flags say drift, not why).
        self.in_ranges = in_ranges
        # JT/T 1078 items of the report: a channel with video lost (0x15: device_fault) or
        # occluded (0x16: camera_blocked), RULES.md §2 and §2a.
        self.video_lost = video_lost
        self.occluded = occluded

    def _values(self) -> tuple[object, ...]:
        return (self.time, self.lon, self.lat, self.speed_kmh, self.status, self.alarm,
                self.via_gateway, self.flags, self.in_ranges, self.video_lost, self.occluded)


@dataclass(slots=True)
class AlarmIn:
    """One active-safety report (0x64/0x65 item), named by the terminal's standard table."""

    time: dt.datetime
    type_name: str
    flag: int  # 0 report, 1 start, 2 end


@dataclass(slots=True)
class SignIn:
    time: dt.datetime
    driver_id: int | None
    certificate_number: str
    card_valid_until: dt.date | None


@dataclass(slots=True)
class SignOut:
    time: dt.datetime


@dataclass(slots=True)
class MeterIn:
    time: dt.datetime  # alighted: when the trip is complete and can cover a loaded interval
    boarded_at: dt.datetime
    alighted_at: dt.datetime
    trip_number: str


@dataclass(slots=True)
class OrderIn:
    time: dt.datetime
    order_id: str
    driver_id_number: str


RuleInput = FixIn | AlarmIn | SignIn | SignOut | MeterIn | OrderIn

VIDEO_LOST_ITEM = 0x15  # DWORD bitmap of channels with video signal lost
VIDEO_OCCLUDED_ITEM = 0x16  # DWORD bitmap of channels whose camera is occluded


def video_flags(items: Iterable[tuple[int, bytes]]) -> tuple[bool, bool]:
    """(video lost, occluded) on any channel, from a report's additional items."""
    lost = occluded = False
    if not items:
        return lost, occluded
    for item_id, value in items:
        if item_id == VIDEO_LOST_ITEM:
            lost = any(value)
        elif item_id == VIDEO_OCCLUDED_ITEM:
            occluded = any(value)
    return lost, occluded


def stored_items(raw: bytes | None) -> list[tuple[int, bytes]]:
    """The additional items as the store keeps them: (id, length, value) one after another."""
    items, pos = [], 0
    data = bytes(raw or b"")
    while pos + 2 <= len(data):
        stop = pos + 2 + data[pos + 1]
        items.append((data[pos], data[pos + 2:stop]))
        pos = stop
    return items


def from_record(record: BusRecord, flags: int | None = None,
                ) -> tuple[int, RuleInput] | None:
    """(vehicle id, input) for a bus record the rules care about; None otherwise. ``flags``:
    the quality flags the store gave a fix, if it went through the store."""
    vehicle_id = getattr(record, "vehicle_id", None)
    if vehicle_id is None:
        return None
    if isinstance(record, Fix):
        video_lost, occluded = video_flags(record.items)
        # With the store's flags the ranges only matter to say why a drift fix is drift.
        in_ranges = (quality.in_valid_ranges(record)
                     if flags is None or flags & FLAG_DRIFT else True)
        return vehicle_id, FixIn(record.time, record.longitude, record.latitude,
                                 record.speed_kmh, record.status, record.alarm,
                                 bool(record.sim), flags, in_ranges, video_lost, occluded)
    if isinstance(record, TerminalEvent):
        if record.kind != "safety_alarm":
            return None
        flag = record.detail.get("flag", 0)
        return vehicle_id, AlarmIn(record.time, record.code,
                                   flag if isinstance(flag, int) else 0)
    if isinstance(record, DriverSignIn):
        return vehicle_id, SignIn(record.time, record.driver_id, record.certificate_number,
                                  record.certificate_valid_until)
    if isinstance(record, DriverSignOut):
        return vehicle_id, SignOut(record.time)
    if isinstance(record, MeterTripRecord):
        return vehicle_id, MeterIn(record.alighted_at, record.boarded_at, record.alighted_at,
                                   record.trip_number)
    if isinstance(record, OrderRecord):
        return vehicle_id, OrderIn(record.time, record.order_id, record.driver_id_number)
    return None


def order_key(item: RuleInput) -> tuple[dt.datetime, int]:
    # At one instant: sign-ins and meter trips before the fix that carries them forward.
    rank = 1 if isinstance(item, FixIn) else 0
    return item.time, rank
