"""Active-safety additional items the terminals attach to 0x0200 reports: 0x64 ADAS and 0x65 DSM,
in the provincial Su (47-byte) or Yue (71-byte) layout, the mirror of `fleet.jt808.safety`.

Type codes come from the terminal's standard: camera occlusion and seatbelt exist only in the Yue
table; a Su terminal reports occlusion through the JT/T 1078 item 0x16 instead (RULES.md §2a).
"""

from __future__ import annotations

import struct

from fleet.jt808 import YUE_TABLE, AlarmCodeTable
from fleet.simulator.localtime import to_datetime
from fleet.simulator.plan import Fix

ADAS_ITEM = 0x64
DSM_ITEM = 0x65
OCCLUSION_ITEM = 0x16
START, END = 1, 2
_COMMON = struct.Struct(">IBBB5sBHII")
_VEHICLE_STATUS = 0x0001 | 0x0020 | 0x0400  # ACC on, card inserted, positioned

# DSM episodes a terminal of each standard can report, by RULES.md rule name.
DSM_CODES: dict[str, dict[str, int]] = {
    "su": {"dsm_fatigue": 0x01, "dsm_phone": 0x02, "dsm_smoking": 0x03, "dsm_distraction": 0x04},
    "yue": {"dsm_fatigue": 0x01, "dsm_phone": 0x02, "dsm_smoking": 0x03, "dsm_distraction": 0x04,
            "camera_blocked": 0x06, "dsm_seatbelt": 0x0A},
}
ADAS_PEDESTRIAN = 0x04  # pedestrian collision warning: the zebra-crossing alarm


def table_for(standard: str) -> AlarmCodeTable:
    from fleet.jt808 import ALARM_CODE_TABLES

    return ALARM_CODE_TABLES.get(standard, YUE_TABLE)


def _bcd_time(t: float) -> bytes:
    local = to_datetime(t)
    return bytes.fromhex(f"{local:%y%m%d%H%M%S}")


def safety_item(item_id: int, standard: str, *, alarm_id: int, flag: int, code: int,
                fix: Fix, terminal_id: str, level: int = 1, detail: bytes = b"\x00" * 5,
                ) -> tuple[int, bytes]:
    """One 0x64/0x65 item for the report `fix` (its time and position are the alarm's)."""
    when = _bcd_time(fix.t)
    value = _COMMON.pack(alarm_id & 0xFFFFFFFF, flag, code, level, detail[:5].ljust(5, b"\0"),
                         min(255, int(fix.speed)), max(0, fix.altitude),
                         round(abs(fix.lat) * 1_000_000), round(abs(fix.lon) * 1_000_000))
    value += when + _VEHICLE_STATUS.to_bytes(2, "big")
    id_width, reserved = (30, 2) if standard == "yue" else (7, 1)
    raw_id = terminal_id.encode("ascii", "replace")[:id_width].ljust(id_width, b"\0")
    value += raw_id + when + bytes((alarm_id & 0xFF, 0)) + bytes(reserved)
    return item_id, value


def occlusion_item(channels: int = 0x1) -> tuple[int, bytes]:
    """JT/T 1078 0x16: bitmap of video channels whose camera is blocked."""
    return OCCLUSION_ITEM, channels.to_bytes(4, "big")
