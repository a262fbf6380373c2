"""Terminal registration (0x0100 / 0x8100) and authentication (0x0102)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..cursor import Cursor
from ..errors import BodyError, EncodeError
from ..registry import body_codec
from ..text import decode_text, encode_fixed, encode_prefixed, encode_text, strip_padding

RegisterLayout = Literal["2011", "2013", "2019"]

# (maker, model, terminal id) widths of 0x0100 per edition.
_WIDTHS: dict[str, tuple[int, int, int]] = {
    "2011": (5, 8, 7),
    "2013": (5, 20, 7),
    "2019": (11, 30, 30),
}
# Bytes before the plate: province + city + maker + model + terminal id + plate colour.
_FIXED = {k: 4 + sum(w) + 1 for k, w in _WIDTHS.items()}


def _plausible_colour(byte: int) -> bool:
    # Plate colours are 0 (no plate: VIN follows), 1-5, 9 and 91-94 (JT/T 697.7). Text never
    # contains bytes below 0x20, so this tells a colour byte from a byte inside a plate or model.
    return byte < 0x20 or 91 <= byte <= 94


def _register_layout(data: bytes, v2019: bool) -> RegisterLayout:
    """2019 headers carry 2019 bodies; on a 2013 header the body length and the position of
    the plate-colour byte tell the 2013 layout from the 2011 one (model 20 vs 8 bytes)."""
    n = len(data)
    if v2019 and n >= _FIXED["2019"]:
        return "2019"
    if n >= _FIXED["2013"] and _plausible_colour(data[_FIXED["2013"] - 1]):
        return "2013"
    if n >= _FIXED["2011"] and _plausible_colour(data[_FIXED["2011"] - 1]):
        return "2011"
    if n >= _FIXED["2013"]:
        return "2013"
    raise BodyError(f"0x0100: {n} bytes is shorter than any register layout")


@body_codec(0x0100)
@dataclass(slots=True)
class Register:
    """0x0100 terminal registration.

    `layout` records which edition's field widths the body used (None when building a message:
    the header edition decides). Text fields are NUL/space-trimmed; use `*_key` properties to
    match identifiers that some devices left-pad with '0'.
    """

    province: int
    city: int
    maker: str
    model: str
    terminal_id: str
    plate_colour: int
    plate: str
    layout: RegisterLayout | None = None

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> Register:
        layout = _register_layout(data, v2019)
        maker_w, model_w, id_w = _WIDTHS[layout]
        cur = Cursor(data, "0x0100")
        return cls(
            province=cur.u16("province"),
            city=cur.u16("city"),
            maker=decode_text(cur.take(maker_w, "maker")),
            model=decode_text(cur.take(model_w, "model")),
            terminal_id=decode_text(cur.take(id_w, "terminal id")),
            plate_colour=cur.u8("plate colour"),
            plate=decode_text(cur.rest()),
            layout=layout,
        )

    def encode(self, v2019: bool) -> bytes:
        layout = self.layout or ("2019" if v2019 else "2013")
        maker_w, model_w, id_w = _WIDTHS[layout]
        return (
            self.province.to_bytes(2, "big")
            + self.city.to_bytes(2, "big")
            + encode_fixed(self.maker, maker_w, "maker")
            + encode_fixed(self.model, model_w, "model")
            + encode_fixed(self.terminal_id, id_w, "terminal id")
            + bytes((self.plate_colour,))
            + encode_text(self.plate, "plate")
        )

    @property
    def maker_key(self) -> str:
        return strip_padding(self.maker)

    @property
    def model_key(self) -> str:
        return strip_padding(self.model)

    @property
    def terminal_id_key(self) -> str:
        return strip_padding(self.terminal_id)


# 0x8100 results
REGISTER_OK = 0
REGISTER_VEHICLE_TAKEN = 1
REGISTER_NO_VEHICLE = 2
REGISTER_TERMINAL_TAKEN = 3
REGISTER_NO_TERMINAL = 4


@body_codec(0x8100)
@dataclass(slots=True)
class RegisterResponse:
    """0x8100: reply serial, result, auth code (sent only with result 0)."""

    reply_serial: int
    result: int
    auth_code: str = ""

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> RegisterResponse:
        cur = Cursor(data, "0x8100")
        return cls(cur.u16("reply serial"), cur.u8("result"), decode_text(cur.rest()))

    def encode(self, v2019: bool) -> bytes:
        return (
            self.reply_serial.to_bytes(2, "big")
            + bytes((self.result,))
            + encode_text(self.auth_code, "auth code")
        )


@body_codec(0x0102)
@dataclass(slots=True)
class Auth:
    """0x0102 authentication.

    2013: the whole body is the auth code. 2019: code length BYTE, code, IMEI BYTE[15],
    software version BYTE[20]; `imei`/`software_version` are None for the 2013 layout, which is
    also accepted under a 2019 header when the 2019 layout does not fit (device quirk).
    """

    code: str
    imei: str | None = None
    software_version: str | None = None

    @classmethod
    def decode(cls, data: bytes, v2019: bool) -> Auth:
        if v2019 and data and len(data) == 1 + data[0] + 15 + 20:
            cur = Cursor(data, "0x0102")
            code = decode_text(cur.take(cur.u8("code length"), "auth code"))
            return cls(
                code,
                decode_text(cur.take(15, "IMEI")),
                decode_text(cur.take(20, "software version")),
            )
        return cls(decode_text(data))

    def encode(self, v2019: bool) -> bytes:
        if self.imei is None and self.software_version is None:
            return encode_text(self.code, "auth code")
        if self.imei is None or self.software_version is None:
            raise EncodeError("0x0102: 2019 layout needs both imei and software_version")
        return (
            encode_prefixed(self.code, 1, "auth code")
            + encode_fixed(self.imei, 15, "IMEI")
            + encode_fixed(self.software_version, 20, "software version")
        )
