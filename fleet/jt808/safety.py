"""Active-safety items of 0x0200: 0x64 ADAS and 0x65 DSM (provincial Su / Yue extensions).

Both layouts share the first 31 bytes:
  alarm id DWORD, flag BYTE (0 n/a, 1 start, 2 end), type BYTE, level BYTE,
  5 type-specific bytes (ADAS: front speed, front distance, deviation type, road sign type,
  road sign value; DSM: fatigue level + 4 reserved), speed BYTE, altitude WORD, lat DWORD,
  lon DWORD, time BCD[6], vehicle status WORD,
then the alarm identification: Su (47 bytes total) terminal id BYTE[7], time BCD[6], sequence,
attachment count, reserved BYTE; Yue (71 bytes) terminal id BYTE[30], time, sequence,
attachment count, reserved WORD. The layout is chosen by item length.

Provinces number alarm types differently, so type codes are named through an `AlarmCodeTable`
chosen per terminal standard.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from .bcd import bcd_datetime
from .errors import BcdError
from .text import decode_text

Kind = Literal["adas", "dsm"]

_COMMON = struct.Struct(">IBBB5sBHII")  # up to the time field: 4+1+1+1+5+1+2+4+4 = 23 bytes
SU_SIZE = 47
YUE_SIZE = 71


def _freeze(m: Mapping[int, str]) -> Mapping[int, str]:
    return MappingProxyType(dict(m))


@dataclass(frozen=True, slots=True)
class AlarmCodeTable:
    """Names for ADAS (0x64) and DSM (0x65) alarm type codes of one terminal standard."""

    standard: str
    adas: Mapping[int, str] = field(default_factory=dict)
    dsm: Mapping[int, str] = field(default_factory=dict)

    def name(self, kind: Kind, code: int) -> str:
        """Stable name of a type code; codes missing from the table get e.g. 'dsm_0x1f'."""
        table = self.adas if kind == "adas" else self.dsm
        return table.get(code) or f"{kind}_0x{code:02x}"

    def extended(
        self,
        standard: str,
        *,
        adas: Mapping[int, str] | None = None,
        dsm: Mapping[int, str] | None = None,
    ) -> AlarmCodeTable:
        """A new table for another standard: this one with codes added or renamed."""
        return AlarmCodeTable(
            standard,
            _freeze({**self.adas, **(adas or {})}),
            _freeze({**self.dsm, **(dsm or {})}),
        )


SU_TABLE = AlarmCodeTable(
    "su",
    _freeze(
        {
            0x01: "adas_forward_collision",
            0x02: "adas_lane_departure",
            0x03: "adas_following_too_close",
            0x04: "adas_pedestrian_collision",
            0x05: "adas_frequent_lane_change",
            0x06: "adas_road_sign_overlimit",
            0x07: "adas_obstacle",
            0x10: "adas_road_sign_recognised",
            0x11: "adas_active_capture",
        }
    ),
    _freeze(
        {
            0x01: "dsm_fatigue",
            0x02: "dsm_phone",
            0x03: "dsm_smoking",
            0x04: "dsm_distraction",
            0x05: "dsm_driver_abnormal",
            0x10: "dsm_auto_capture",
            0x11: "dsm_driver_change",
        }
    ),
)

YUE_TABLE = SU_TABLE.extended(
    "yue",
    adas={0x12: "adas_solid_line_lane_change", 0x13: "adas_aisle_pedestrian"},
    dsm={
        0x06: "camera_blocked",
        0x08: "dsm_overtime_driving",
        0x0A: "dsm_seatbelt",
        0x0B: "dsm_ir_sunglasses",
        0x0C: "dsm_hands_off_wheel",
        0x0D: "dsm_phone_use",
    },
)

ALARM_CODE_TABLES: dict[str, AlarmCodeTable] = {"su": SU_TABLE, "yue": YUE_TABLE}


@dataclass(slots=True)
class SafetyAlarm:
    """One parsed 0x64/0x65 item. Times are None when the device sent an invalid BCD time."""

    kind: Kind
    layout: Literal["su", "yue"]
    alarm_id: int
    flag: int
    type_code: int
    type_name: str
    level: int
    detail: bytes
    speed: int
    altitude: int
    lat_raw: int
    lon_raw: int
    time: datetime | None
    vehicle_status: int
    terminal_id: str
    alarm_time: datetime | None
    sequence: int
    attachment_count: int
    reserved: int

    @property
    def started(self) -> bool:
        return self.flag == 1

    @property
    def ended(self) -> bool:
        return self.flag == 2

    @property
    def latitude(self) -> float:
        return self.lat_raw / 1_000_000

    @property
    def longitude(self) -> float:
        return self.lon_raw / 1_000_000

    # ADAS type-specific bytes
    @property
    def front_speed(self) -> int:
        return self.detail[0]

    @property
    def front_distance(self) -> int:
        return self.detail[1]

    @property
    def deviation_type(self) -> int:
        return self.detail[2]

    @property
    def road_sign_type(self) -> int:
        return self.detail[3]

    @property
    def road_sign_value(self) -> int:
        return self.detail[4]

    # DSM type-specific byte
    @property
    def fatigue_level(self) -> int:
        return self.detail[0]


def _time_or_none(raw: bytes) -> datetime | None:
    try:
        return bcd_datetime(raw, "active-safety time")
    except BcdError:
        return None


def parse_safety_alarm(
    kind: Kind, value: bytes, table: AlarmCodeTable | None = None
) -> SafetyAlarm | None:
    """Parse a 0x64 (kind 'adas') or 0x65 ('dsm') value; None for an unknown length."""
    if len(value) == SU_SIZE:
        layout: Literal["su", "yue"] = "su"
        id_len, reserved_len = 7, 1
    elif len(value) == YUE_SIZE:
        layout = "yue"
        id_len, reserved_len = 30, 2
    else:
        return None
    names = table or ALARM_CODE_TABLES[layout]
    alarm_id, flag, code, level, detail, speed, altitude, lat, lon = _COMMON.unpack_from(value)
    pos = _COMMON.size
    time = _time_or_none(value[pos : pos + 6])
    vehicle_status = int.from_bytes(value[pos + 6 : pos + 8], "big")
    pos += 8
    terminal_id = decode_text(value[pos : pos + id_len])
    pos += id_len
    alarm_time = _time_or_none(value[pos : pos + 6])
    sequence, attachments = value[pos + 6], value[pos + 7]
    reserved = int.from_bytes(value[pos + 8 : pos + 8 + reserved_len], "big")
    return SafetyAlarm(
        kind,
        layout,
        alarm_id,
        flag,
        code,
        names.name(kind, code),
        level,
        detail,
        speed,
        altitude,
        lat,
        lon,
        time,
        vehicle_status,
        terminal_id,
        alarm_time,
        sequence,
        attachments,
        reserved,
    )
