"""Parsed views of 0x0200 additional items.

Views are computed on demand from the raw items (the hot decode path never pays for them). For
each known id the first well-formed occurrence wins; items with an unexpected length, unknown
ids and vendor items (0xE0-0xFF) are listed in `unparsed` with their raw bytes. Item order on
the wire is irrelevant here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .safety import AlarmCodeTable, SafetyAlarm, parse_safety_alarm


@dataclass(frozen=True, slots=True)
class Overspeed:
    """0x11: location type (0 none, 1 circle, 2 rectangle, 3 polygon, 4 route) [+ area id]."""

    kind: int
    area_id: int | None


@dataclass(frozen=True, slots=True)
class AreaEvent:
    """0x12: location type, area/route id, direction (0 entering, 1 leaving)."""

    kind: int
    area_id: int
    direction: int

    @property
    def leaving(self) -> bool:
        return self.direction == 1


@dataclass(frozen=True, slots=True)
class RouteTime:
    """0x13: route section id, driving time in s, result (0 too short, 1 too long)."""

    section_id: int
    seconds: int
    result: int

    @property
    def too_long(self) -> bool:
        return self.result == 1


@dataclass(frozen=True, slots=True)
class DrivingBehaviour:
    """0x18 (JT/T 1078): abnormal driving behaviour bits [+ fatigue level]."""

    bits: int
    fatigue_level: int | None

    @property
    def fatigue(self) -> bool:
        return bool(self.bits & 0x1)

    @property
    def phone(self) -> bool:
        return bool(self.bits & 0x2)

    @property
    def smoking(self) -> bool:
        return bool(self.bits & 0x4)


def _channels(bits: int) -> tuple[int, ...]:
    """DWORD channel bitmap → channel numbers (bit 0 is channel 1)."""
    return tuple(i + 1 for i in range(32) if bits >> i & 1)


@dataclass(slots=True)
class LocationExtras:
    """Known additional items, raw units kept (`mileage` in 0.1 km, `fuel` in 0.1 L, ...)."""

    mileage: int | None = None
    fuel: int | None = None
    tacho_speed: int | None = None
    alarm_event_id: int | None = None
    overspeed: Overspeed | None = None
    area_event: AreaEvent | None = None
    route_time: RouteTime | None = None
    video_alarm: int | None = None
    video_lost_channels: tuple[int, ...] | None = None
    video_occluded_channels: tuple[int, ...] | None = None
    storage_fault: int | None = None
    driving_behaviour: DrivingBehaviour | None = None
    vehicle_signals: int | None = None
    io_status: int | None = None
    analog: int | None = None
    signal_strength: int | None = None
    satellites: int | None = None
    adas: tuple[SafetyAlarm, ...] = ()
    dsm: tuple[SafetyAlarm, ...] = ()
    unparsed: tuple[tuple[int, bytes], ...] = ()

    @property
    def mileage_km(self) -> float | None:
        return None if self.mileage is None else self.mileage / 10

    @property
    def fuel_l(self) -> float | None:
        return None if self.fuel is None else self.fuel / 10

    @property
    def tacho_speed_kmh(self) -> float | None:
        return None if self.tacho_speed is None else self.tacho_speed / 10

    @property
    def analog_ad0(self) -> int | None:
        return None if self.analog is None else self.analog & 0xFFFF

    @property
    def analog_ad1(self) -> int | None:
        return None if self.analog is None else self.analog >> 16


def _uint(size: int) -> Callable[[bytes], int | None]:
    def parse(v: bytes) -> int | None:
        return int.from_bytes(v, "big") if len(v) == size else None

    return parse


def _overspeed(v: bytes) -> Overspeed | None:
    if len(v) == 1:
        return Overspeed(v[0], None)
    if len(v) == 5:
        return Overspeed(v[0], int.from_bytes(v[1:5], "big"))
    return None


def _area(v: bytes) -> AreaEvent | None:
    if len(v) != 6:
        return None
    return AreaEvent(v[0], int.from_bytes(v[1:5], "big"), v[5])


def _route(v: bytes) -> RouteTime | None:
    if len(v) != 7:
        return None
    return RouteTime(int.from_bytes(v[0:4], "big"), int.from_bytes(v[4:6], "big"), v[6])


def _channel_list(v: bytes) -> tuple[int, ...] | None:
    return _channels(int.from_bytes(v, "big")) if len(v) == 4 else None


def _behaviour(v: bytes) -> DrivingBehaviour | None:
    if len(v) == 2:
        return DrivingBehaviour(int.from_bytes(v, "big"), None)
    if len(v) == 3:
        return DrivingBehaviour(int.from_bytes(v[0:2], "big"), v[2])
    return None


# item id → (field name, parser returning None for a malformed value)
_SCALARS: dict[int, tuple[str, Callable[[bytes], Any]]] = {
    0x01: ("mileage", _uint(4)),
    0x02: ("fuel", _uint(2)),
    0x03: ("tacho_speed", _uint(2)),
    0x04: ("alarm_event_id", _uint(2)),
    0x11: ("overspeed", _overspeed),
    0x12: ("area_event", _area),
    0x13: ("route_time", _route),
    0x14: ("video_alarm", _uint(4)),
    0x15: ("video_lost_channels", _channel_list),
    0x16: ("video_occluded_channels", _channel_list),
    0x17: ("storage_fault", _uint(2)),
    0x18: ("driving_behaviour", _behaviour),
    0x25: ("vehicle_signals", _uint(4)),
    0x2A: ("io_status", _uint(2)),
    0x2B: ("analog", _uint(4)),
    0x30: ("signal_strength", _uint(1)),
    0x31: ("satellites", _uint(1)),
}


def parse_extras(
    items: tuple[tuple[int, bytes], ...], table: AlarmCodeTable | None = None
) -> LocationExtras:
    values: dict[str, Any] = {}
    adas: list[SafetyAlarm] = []
    dsm: list[SafetyAlarm] = []
    unparsed: list[tuple[int, bytes]] = []
    for item_id, raw in items:
        spec = _SCALARS.get(item_id)
        if spec is not None:
            name, parse = spec
            parsed = parse(raw)
            if parsed is None:
                unparsed.append((item_id, raw))
            elif name not in values:
                values[name] = parsed
            continue
        if item_id in (0x64, 0x65):
            alarm = parse_safety_alarm("adas" if item_id == 0x64 else "dsm", raw, table)
            if alarm is None:
                unparsed.append((item_id, raw))
            else:
                (adas if item_id == 0x64 else dsm).append(alarm)
            continue
        unparsed.append((item_id, raw))
    return LocationExtras(**values, adas=tuple(adas), dsm=tuple(dsm), unparsed=tuple(unparsed))
