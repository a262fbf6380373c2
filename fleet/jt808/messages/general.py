"""Session-level messages: general responses, heartbeat, logout, queries, packet re-requests."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..cursor import Cursor
from ..errors import BodyError, EncodeError
from ..registry import Empty, body_codec

_RESPONSE = struct.Struct(">HHB")

# 0x8001 / 0x0001 results
RESULT_OK = 0
RESULT_FAIL = 1
RESULT_BAD_MESSAGE = 2
RESULT_UNSUPPORTED = 3
RESULT_ALARM_CONFIRMED = 4


def _empty(data: bytes, name: str) -> None:
    if data:
        raise BodyError(f"{name}: expected an empty body, got {len(data)} bytes")


def _response_fields(data: bytes, name: str) -> tuple[int, int, int]:
    if len(data) != _RESPONSE.size:
        raise BodyError(f"{name}: body is {len(data)} bytes, expected 5")
    reply_serial, reply_id, result = _RESPONSE.unpack(data)
    return reply_serial, reply_id, result


@body_codec(0x0001)
@dataclass(slots=True)
class TerminalResponse:
    """0x0001 terminal general response."""

    reply_serial: int
    reply_id: int
    result: int = RESULT_OK

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> TerminalResponse:
        return cls(*_response_fields(data, "0x0001"))

    def encode(self, v2019: bool) -> bytes:
        return _RESPONSE.pack(self.reply_serial, self.reply_id, self.result)


@body_codec(0x8001)
@dataclass(slots=True)
class PlatformResponse:
    """0x8001 platform general response (0 ok, 1 fail, 2 bad message, 3 unsupported,
    4 alarm confirmed)."""

    reply_serial: int
    reply_id: int
    result: int = RESULT_OK

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> PlatformResponse:
        return cls(*_response_fields(data, "0x8001"))

    def encode(self, v2019: bool) -> bytes:
        return _RESPONSE.pack(self.reply_serial, self.reply_id, self.result)


@body_codec(0x0002)
@dataclass(slots=True)
class Heartbeat(Empty):
    """0x0002 terminal heartbeat (answer with 0x8001)."""

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> Heartbeat:
        _empty(data, "0x0002")
        return cls()


@body_codec(0x0003)
@dataclass(slots=True)
class Logout(Empty):
    """0x0003 terminal logout."""

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> Logout:
        _empty(data, "0x0003")
        return cls()


@body_codec(0x8201)
@dataclass(slots=True)
class LocationQuery(Empty):
    """0x8201 location query (answered by 0x0201)."""

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> LocationQuery:
        _empty(data, "0x8201")
        return cls()


@body_codec(0x8104)
@dataclass(slots=True)
class ParamsQuery(Empty):
    """0x8104 query all terminal parameters (answered by 0x0104)."""

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> ParamsQuery:
        _empty(data, "0x8104")
        return cls()


@body_codec(0x8003)
@dataclass(slots=True)
class ResendRequest:
    """0x8003 re-request of missing split packets.

    original serial WORD (serial of the first packet), count BYTE (2019: WORD), packet index
    WORD list.
    """

    original_serial: int
    packet_ids: tuple[int, ...]

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> ResendRequest:
        cur = Cursor(data, "0x8003")
        serial = cur.u16("original serial")
        count = cur.u16("count") if v2019 else cur.u8("count")
        ids = tuple(cur.u16("packet id") for _ in range(count))
        cur.done()
        return cls(serial, ids)

    def encode(self, v2019: bool) -> bytes:
        count = len(self.packet_ids)
        if count > (0xFFFF if v2019 else 0xFF):
            raise EncodeError(f"0x8003: {count} packet ids do not fit the count field")
        head = self.original_serial.to_bytes(2, "big") + count.to_bytes(2 if v2019 else 1, "big")
        return head + struct.pack(f">{count}H", *self.packet_ids)
