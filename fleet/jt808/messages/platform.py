"""Platform commands: 0x8300 text to the driver, 0x8103 set parameters, 0x0104 their query
answer."""

from __future__ import annotations

from dataclasses import dataclass

from ..cursor import Cursor
from ..errors import EncodeError
from ..registry import body_codec
from ..text import decode_text, encode_text

TEXT_URGENT = 0x01
TEXT_DISPLAY = 0x04
TEXT_TTS = 0x08


@body_codec(0x8300)
@dataclass(slots=True)
class TextMessage:
    """0x8300 text to the driver: flag BYTE, (2019: text type BYTE, 1 notice 2 service), GBK text.

    The header edition decides the layout: encoding for a 2019 terminal sends `text_type`
    (1 when None); encoding for a 2013 terminal leaves it out.
    """

    flag: int
    text: str
    text_type: int | None = None

    @property
    def urgent(self) -> bool:
        return bool(self.flag & TEXT_URGENT)

    @property
    def display(self) -> bool:
        return bool(self.flag & TEXT_DISPLAY)

    @property
    def tts(self) -> bool:
        return bool(self.flag & TEXT_TTS)

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> TextMessage:
        cur = Cursor(data, "0x8300")
        flag = cur.u8("flag")
        text_type = cur.u8("text type") if v2019 else None
        return cls(flag, decode_text(cur.rest()), text_type)

    def encode(self, v2019: bool) -> bytes:
        head = bytes((self.flag,))
        if v2019:
            head += bytes((1 if self.text_type is None else self.text_type,))
        return head + encode_text(self.text, "text")


def _decode_params(cur: Cursor) -> tuple[tuple[int, bytes], ...]:
    count = cur.u8("parameter count")
    params = []
    for _ in range(count):
        param_id = cur.u32("parameter id")
        params.append((param_id, cur.take(cur.u8("parameter length"), "parameter value")))
    cur.done()
    return tuple(params)


def _encode_params(params: tuple[tuple[int, bytes], ...]) -> bytes:
    if len(params) > 0xFF:
        raise EncodeError(f"{len(params)} parameters do not fit one message")
    parts = [bytes((len(params),))]
    for param_id, value in params:
        if len(value) > 0xFF:
            raise EncodeError(f"parameter 0x{param_id:04X} value is {len(value)} bytes")
        parts.append(param_id.to_bytes(4, "big") + bytes((len(value),)) + value)
    return b"".join(parts)


@body_codec(0x8103)
@dataclass(slots=True)
class SetParams:
    """0x8103 set terminal parameters: (parameter id DWORD, raw value) pairs in wire order."""

    params: tuple[tuple[int, bytes], ...]

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> SetParams:
        return cls(_decode_params(Cursor(data, "0x8103")))

    def encode(self, v2019: bool) -> bytes:
        return _encode_params(self.params)


@body_codec(0x0104)
@dataclass(slots=True)
class ParamsResponse:
    """0x0104 answer to a parameter query: reply serial WORD + parameter list."""

    reply_serial: int
    params: tuple[tuple[int, bytes], ...]

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> ParamsResponse:
        cur = Cursor(data, "0x0104")
        serial = cur.u16("reply serial")
        return cls(serial, _decode_params(cur))

    def encode(self, v2019: bool) -> bytes:
        return self.reply_serial.to_bytes(2, "big") + _encode_params(self.params)
