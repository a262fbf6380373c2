"""Restricted zones pushed to terminals: 0x8600 circular areas, 0x8604 polygon area.

Optional fields follow the area attributes: bit 0 → start/end time BCD[6]; bit 1 → max speed
WORD, overspeed duration BYTE (2019 also night max speed WORD). 2019 appends name length WORD +
name. The header edition decides whether the 2019 fields are present; encoding for 2013 leaves
them out, encoding for 2019 defaults a missing night limit to the day limit and the name to ''.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..bcd import bcd_datetime, datetime_bcd
from ..cursor import Cursor
from ..errors import EncodeError
from ..registry import body_codec
from ..text import decode_text, encode_prefixed

AREA_BY_TIME = 1 << 0
AREA_SPEED_LIMIT = 1 << 1
AREA_ALARM_IN_TO_DRIVER = 1 << 2
AREA_ALARM_IN_TO_PLATFORM = 1 << 3
AREA_ALARM_OUT_TO_DRIVER = 1 << 4
AREA_ALARM_OUT_TO_PLATFORM = 1 << 5
AREA_SOUTH = 1 << 6
AREA_WEST = 1 << 7
AREA_NO_DOOR_OPENING = 1 << 8
AREA_CLOSE_COMMS = 1 << 14
AREA_COLLECT_GNSS = 1 << 15

ACTION_REPLACE = 0
ACTION_APPEND = 1
ACTION_MODIFY = 2


def _read_times(cur: Cursor, attributes: int) -> tuple[datetime | None, datetime | None]:
    if not attributes & AREA_BY_TIME:
        return None, None
    start = bcd_datetime(cur.take(6, "start time"), "area start time")
    end = bcd_datetime(cur.take(6, "end time"), "area end time")
    return start, end


def _read_speed(cur: Cursor, attributes: int) -> tuple[int | None, int | None]:
    if not attributes & AREA_SPEED_LIMIT:
        return None, None
    return cur.u16("max speed"), cur.u8("overspeed duration")


def _write_times(attributes: int, start: datetime | None, end: datetime | None) -> bytes:
    if not attributes & AREA_BY_TIME:
        return b""
    if start is None or end is None:
        raise EncodeError("area attribute bit 0 (by time) needs start and end")
    return datetime_bcd(start, "area start") + datetime_bcd(end, "area end")


def _write_speed(attributes: int, max_speed: int | None, duration: int | None) -> bytes:
    if not attributes & AREA_SPEED_LIMIT:
        return b""
    if max_speed is None or duration is None:
        raise EncodeError("area attribute bit 1 (speed limit) needs max_speed and duration")
    return max_speed.to_bytes(2, "big") + bytes((duration,))


def _write_2019_tail(
    attributes: int, max_speed: int | None, night: int | None, name: str | None
) -> bytes:
    out = b""
    if attributes & AREA_SPEED_LIMIT:
        limit = night if night is not None else max_speed
        out += (limit or 0).to_bytes(2, "big")
    return out + encode_prefixed(name or "", 2, "area name")


def _signed(raw: int, negative: bool) -> float:
    value = raw / 1_000_000
    return -value if negative else value


@dataclass(slots=True)
class CircleArea:
    area_id: int
    attributes: int
    lat_raw: int
    lon_raw: int
    radius: int
    start: datetime | None = None
    end: datetime | None = None
    max_speed: int | None = None
    overspeed_duration: int | None = None
    night_max_speed: int | None = None
    name: str | None = None

    @property
    def latitude(self) -> float:
        return _signed(self.lat_raw, bool(self.attributes & AREA_SOUTH))

    @property
    def longitude(self) -> float:
        return _signed(self.lon_raw, bool(self.attributes & AREA_WEST))

    @classmethod
    def read(cls, cur: Cursor, v2019: bool) -> CircleArea:
        area_id = cur.u32("area id")
        attributes = cur.u16("area attributes")
        lat, lon, radius = cur.u32("latitude"), cur.u32("longitude"), cur.u32("radius")
        start, end = _read_times(cur, attributes)
        max_speed, duration = _read_speed(cur, attributes)
        night = name = None
        if v2019:
            if attributes & AREA_SPEED_LIMIT:
                night = cur.u16("night max speed")
            name = decode_text(cur.take(cur.u16("name length"), "area name"))
        return cls(
            area_id, attributes, lat, lon, radius, start, end, max_speed, duration, night, name
        )

    def write(self, v2019: bool) -> bytes:
        out = (
            self.area_id.to_bytes(4, "big")
            + self.attributes.to_bytes(2, "big")
            + self.lat_raw.to_bytes(4, "big")
            + self.lon_raw.to_bytes(4, "big")
            + self.radius.to_bytes(4, "big")
            + _write_times(self.attributes, self.start, self.end)
            + _write_speed(self.attributes, self.max_speed, self.overspeed_duration)
        )
        if v2019:
            out += _write_2019_tail(
                self.attributes, self.max_speed, self.night_max_speed, self.name
            )
        return out


@body_codec(0x8600)
@dataclass(slots=True)
class SetCircleAreas:
    """0x8600: action BYTE (0 replace all, 1 append, 2 modify), count BYTE, circle areas."""

    action: int
    areas: tuple[CircleArea, ...]

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> SetCircleAreas:
        cur = Cursor(data, "0x8600")
        action = cur.u8("action")
        count = cur.u8("area count")
        areas = tuple(CircleArea.read(cur, v2019) for _ in range(count))
        cur.done()
        return cls(action, areas)

    def encode(self, v2019: bool) -> bytes:
        if len(self.areas) > 0xFF:
            raise EncodeError(f"0x8600: {len(self.areas)} areas do not fit one message")
        head = bytes((self.action, len(self.areas)))
        return head + b"".join(area.write(v2019) for area in self.areas)


@body_codec(0x8604)
@dataclass(slots=True)
class PolygonArea:
    """0x8604 set polygon area; `vertices` are (lat_raw, lon_raw) micro-degree pairs."""

    area_id: int
    attributes: int
    vertices: tuple[tuple[int, int], ...]
    start: datetime | None = None
    end: datetime | None = None
    max_speed: int | None = None
    overspeed_duration: int | None = None
    night_max_speed: int | None = None
    name: str | None = None

    @property
    def points(self) -> tuple[tuple[float, float], ...]:
        """Vertices as signed (latitude, longitude) degrees."""
        south = bool(self.attributes & AREA_SOUTH)
        west = bool(self.attributes & AREA_WEST)
        return tuple((_signed(lat, south), _signed(lon, west)) for lat, lon in self.vertices)

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> PolygonArea:
        cur = Cursor(data, "0x8604")
        area_id = cur.u32("area id")
        attributes = cur.u16("area attributes")
        start, end = _read_times(cur, attributes)
        max_speed, duration = _read_speed(cur, attributes)
        count = cur.u16("vertex count")
        vertices = tuple(
            (cur.u32("vertex latitude"), cur.u32("vertex longitude")) for _ in range(count)
        )
        night = name = None
        if v2019:
            if attributes & AREA_SPEED_LIMIT:
                night = cur.u16("night max speed")
            name = decode_text(cur.take(cur.u16("name length"), "area name"))
        cur.done()
        return cls(area_id, attributes, vertices, start, end, max_speed, duration, night, name)

    def encode(self, v2019: bool) -> bytes:
        if len(self.vertices) > 0xFFFF:
            raise EncodeError(f"0x8604: {len(self.vertices)} vertices")
        out = (
            self.area_id.to_bytes(4, "big")
            + self.attributes.to_bytes(2, "big")
            + _write_times(self.attributes, self.start, self.end)
            + _write_speed(self.attributes, self.max_speed, self.overspeed_duration)
            + len(self.vertices).to_bytes(2, "big")
            + b"".join(
                lat.to_bytes(4, "big") + lon.to_bytes(4, "big") for lat, lon in self.vertices
            )
        )
        if v2019:
            out += _write_2019_tail(
                self.attributes, self.max_speed, self.night_max_speed, self.name
            )
        return out
