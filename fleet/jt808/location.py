"""0x0200 location report: the 28-byte base, alarm/status bits and the additional items.

Additional items are kept exactly as received, as an ordered tuple of ``(id, raw value)`` in wire
order (duplicates and odd lengths included) plus `tail`, any bytes after the last complete item.
That is what makes re-encoding byte-exact; parsed views come from `Location.extras()`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from enum import FlagBoundary, IntFlag
from typing import Literal

from .bcd import bcd_datetime, datetime_bcd
from .errors import EncodeError, TruncatedError
from .extras import LocationExtras, parse_extras
from .registry import body_codec
from .safety import AlarmCodeTable

_BASE = struct.Struct(">IIIIHHH")
BASE_SIZE = 28

LoadState = Literal["empty", "half", "reserved", "full"]
_LOAD: tuple[LoadState, ...] = ("empty", "half", "reserved", "full")


class AlarmFlag(IntFlag, boundary=FlagBoundary.KEEP):
    """Alarm DWORD bits (2013 + 2019)."""

    SOS = 1 << 0
    OVERSPEED = 1 << 1
    FATIGUE = 1 << 2
    DANGER_WARNING = 1 << 3
    GNSS_FAULT = 1 << 4
    GNSS_ANTENNA_CUT = 1 << 5
    GNSS_ANTENNA_SHORT = 1 << 6
    POWER_LOW = 1 << 7
    POWER_OFF = 1 << 8
    LCD_FAULT = 1 << 9
    TTS_FAULT = 1 << 10
    CAMERA_FAULT = 1 << 11
    IC_CARD_FAULT = 1 << 12
    OVERSPEED_WARNING = 1 << 13
    FATIGUE_WARNING = 1 << 14
    VIOLATION_DRIVING = 1 << 15
    TYRE_PRESSURE = 1 << 16
    RIGHT_TURN_BLIND_SPOT = 1 << 17
    DAILY_DRIVING_OVERTIME = 1 << 18
    PARKING_OVERTIME = 1 << 19
    AREA_IN_OUT = 1 << 20
    ROUTE_IN_OUT = 1 << 21
    ROUTE_SECTION_TIME = 1 << 22
    ROUTE_DEVIATION = 1 << 23
    VSS_FAULT = 1 << 24
    FUEL_ABNORMAL = 1 << 25
    STOLEN = 1 << 26
    ILLEGAL_IGNITION = 1 << 27
    ILLEGAL_MOVE = 1 << 28
    COLLISION = 1 << 29
    ROLLOVER = 1 << 30
    ILLEGAL_DOOR_OPEN = 1 << 31


class StatusFlag(IntFlag, boundary=FlagBoundary.KEEP):
    """Status DWORD bits; bits 8-9 (load state) are a 2-bit field, see `Location.load_state`."""

    ACC_ON = 1 << 0
    POSITIONED = 1 << 1
    SOUTH = 1 << 2
    WEST = 1 << 3
    OUT_OF_SERVICE = 1 << 4
    ENCRYPTED = 1 << 5
    LOAD_BIT0 = 1 << 8
    LOAD_BIT1 = 1 << 9
    OIL_CUT = 1 << 10
    CIRCUIT_CUT = 1 << 11
    DOORS_LOCKED = 1 << 12
    DOOR_FRONT = 1 << 13
    DOOR_MIDDLE = 1 << 14
    DOOR_REAR = 1 << 15
    DOOR_DRIVER = 1 << 16
    DOOR_CUSTOM = 1 << 17
    GPS = 1 << 18
    BEIDOU = 1 << 19
    GLONASS = 1 << 20
    GALILEO = 1 << 21
    MOVING = 1 << 22


def flag_names(value: int, flag: type[IntFlag]) -> tuple[str, ...]:
    """Lower-case names of the known bits set in `value`, lowest bit first."""
    return tuple(m.name.lower() for m in flag if m.name and value & m.value)


def split_items(data: bytes, start: int) -> tuple[tuple[tuple[int, bytes], ...], bytes]:
    """Split ``{id BYTE, length BYTE, value}`` items; returns (items, unparsable tail)."""
    items: list[tuple[int, bytes]] = []
    pos = start
    n = len(data)
    while pos + 2 <= n:
        end = pos + 2 + data[pos + 1]
        if end > n:
            break  # declared length runs past the body: left in the tail, never guessed at
        items.append((data[pos], data[pos + 2 : end]))
        pos = end
    return tuple(items), data[pos:]


def join_items(items: tuple[tuple[int, bytes], ...]) -> bytes:
    parts = []
    for item_id, value in items:
        if not 0 <= item_id <= 0xFF or len(value) > 0xFF:
            raise EncodeError(f"additional item 0x{item_id:X} of {len(value)} bytes cannot be sent")
        parts.append(bytes((item_id, len(value))))
        parts.append(value)
    return b"".join(parts)


@dataclass(slots=True)
class Location:
    """0x0200 body (also embedded in 0x0201 and 0x0704).

    Raw wire values are kept (`lat_raw`/`lon_raw` in unsigned micro-degrees, `speed_raw` in
    0.1 km/h); properties give signed degrees and km/h. A report with status bit 1 clear is
    still a report: `positioned` is False and `position` is None, whatever coordinates it holds.
    """

    alarm: int
    status: int
    lat_raw: int
    lon_raw: int
    altitude: int
    speed_raw: int
    direction: int
    time: datetime
    items: tuple[tuple[int, bytes], ...] = ()
    tail: bytes = b""

    @classmethod
    def decode(cls, data: bytes, v2019: bool = False) -> Location:
        if len(data) < BASE_SIZE:
            raise TruncatedError(f"location body of {len(data)} bytes, the base needs {BASE_SIZE}")
        alarm, status, lat, lon, alt, speed, direction = _BASE.unpack_from(data, 0)
        time = bcd_datetime(data[22:28], "location time")
        items, tail = split_items(data, BASE_SIZE)
        return cls(alarm, status, lat, lon, alt, speed, direction, time, items, tail)

    def encode(self, v2019: bool = False) -> bytes:
        return (
            _BASE.pack(
                self.alarm,
                self.status,
                self.lat_raw,
                self.lon_raw,
                self.altitude,
                self.speed_raw,
                self.direction,
            )
            + datetime_bcd(self.time, "location time")
            + join_items(self.items)
            + self.tail
        )

    @classmethod
    def at(
        cls,
        *,
        latitude: float,
        longitude: float,
        time: datetime,
        speed_kmh: float = 0.0,
        altitude: int = 0,
        direction: int = 0,
        alarm: int = 0,
        status: int = StatusFlag.POSITIONED,
        items: tuple[tuple[int, bytes], ...] = (),
    ) -> Location:
        """Build a report from signed degrees; sets the south/west status bits from the signs."""
        status &= ~(StatusFlag.SOUTH | StatusFlag.WEST)
        if latitude < 0:
            status |= StatusFlag.SOUTH
        if longitude < 0:
            status |= StatusFlag.WEST
        return cls(
            alarm,
            int(status),
            round(abs(latitude) * 1_000_000),
            round(abs(longitude) * 1_000_000),
            altitude,
            round(speed_kmh * 10),
            direction,
            time,
            items,
        )

    # -- coordinates and motion ---------------------------------------------------------------
    @property
    def latitude(self) -> float:
        """Signed degrees as sent (check `positioned` before using it as a fix)."""
        lat = self.lat_raw / 1_000_000
        return -lat if self.status & StatusFlag.SOUTH else lat

    @property
    def longitude(self) -> float:
        lon = self.lon_raw / 1_000_000
        return -lon if self.status & StatusFlag.WEST else lon

    @property
    def position(self) -> tuple[float, float] | None:
        """(latitude, longitude) of a GNSS fix, or None when the terminal had no fix."""
        if not self.status & StatusFlag.POSITIONED:
            return None
        return (self.latitude, self.longitude)

    @property
    def speed_kmh(self) -> float:
        return self.speed_raw / 10

    # -- status bits --------------------------------------------------------------------------
    @property
    def positioned(self) -> bool:
        return bool(self.status & StatusFlag.POSITIONED)

    @property
    def acc_on(self) -> bool:
        return bool(self.status & StatusFlag.ACC_ON)

    @property
    def load_state(self) -> LoadState:
        """Bits 8-9: the taxi loaded/empty signal (00 empty, 01 half, 11 full)."""
        return _LOAD[(self.status >> 8) & 0x3]

    @property
    def loaded(self) -> bool:
        """Carrying passengers/cargo (half or full load)."""
        return self.load_state in ("half", "full")

    @property
    def status_flags(self) -> StatusFlag:
        return StatusFlag(self.status)

    @property
    def status_names(self) -> tuple[str, ...]:
        return flag_names(self.status, StatusFlag)

    # -- alarms -------------------------------------------------------------------------------
    @property
    def alarms(self) -> AlarmFlag:
        return AlarmFlag(self.alarm)

    @property
    def alarm_names(self) -> tuple[str, ...]:
        return flag_names(self.alarm, AlarmFlag)

    # -- additional items ---------------------------------------------------------------------
    def item(self, item_id: int) -> bytes | None:
        """Raw value of the first item with this id (None when absent)."""
        for iid, value in self.items:
            if iid == item_id:
                return value
        return None

    def extras(self, table: AlarmCodeTable | None = None) -> LocationExtras:
        """Parsed views of the known items; `table` names 0x64/0x65 alarm codes (default: the
        table matching each item's layout, Su for 47 bytes, Yue for 71)."""
        return parse_extras(self.items, table)


body_codec(0x0200)(Location)
