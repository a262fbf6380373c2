"""Message header (2011/2013 and 2019 layouts) and terminal phone numbers.

2013: id WORD, attributes WORD, phone BCD[6], serial WORD [, packet count WORD, index WORD]
2019: id WORD, attributes WORD (bit 14 set), version BYTE, phone BCD[10], serial WORD [, ...]

The layout is decided from bit 14 *and* the frame length, because some devices set bit 14 on a
2013-sized header (SmallChi calls this 'JTT2013Force'); such headers decode as 2013 with
`forced_2013=True` and re-encode with bit 14 set again.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .bcd import bcd_digits, digits_bcd
from .errors import BcdError, EncodeError, LengthError, TruncatedError

ATTR_LENGTH = 0x03FF
ATTR_ENCRYPTION_SHIFT = 10
ATTR_SPLIT = 0x2000
ATTR_V2019 = 0x4000
ATTR_RESERVED = 0x8000
MAX_BODY = ATTR_LENGTH  # body bytes one frame can carry

PHONE_DIGITS_2013 = 12
PHONE_DIGITS_2019 = 20

_ID_ATTRS = struct.Struct(">HH")
_WORD2 = struct.Struct(">HH")


@dataclass(slots=True)
class Header:
    """Decoded frame header.

    `phone` is the exact BCD digit string (12 digits in 2013 layout, 20 in 2019); compare
    terminals with `phone_key`, which is the same for both layouts. `protocol_version` is None
    for the 2011/2013 layout. `packet_count`/`packet_index` are set only on split packets.
    """

    msg_id: int
    phone: str
    serial: int = 0
    protocol_version: int | None = None
    encryption: int = 0
    packet_count: int | None = None
    packet_index: int | None = None
    forced_2013: bool = False
    reserved_bit: bool = False

    @property
    def v2019(self) -> bool:
        return self.protocol_version is not None

    @property
    def edition(self) -> str:
        return "2019" if self.protocol_version is not None else "2013"

    @property
    def is_split(self) -> bool:
        return self.packet_count is not None

    @property
    def phone_key(self) -> str:
        return phone_key(self.phone)


def normalize_phone(number: str, digits: int = PHONE_DIGITS_2019) -> str:
    """Canonical fixed-width form of a terminal phone / SIM number.

    Left-pads with zeros to `digits` (12 for 2013 headers, 20 for 2019). Extra leading zeros are
    dropped; any other excess digit is an error. '13912344329', '013912344329' and
    '00000000013912344329' all give the same 20-digit form, so a registry keyed on
    `normalize_phone(sim)` matches a terminal whatever header edition it speaks.
    """
    n = number.strip()
    if not (n.isascii() and n.isdigit()):
        raise EncodeError(f"phone {number!r} must be decimal digits")
    if len(n) > digits:
        cut = len(n) - digits
        if n[:cut].strip("0"):
            raise EncodeError(f"phone {number!r} has more than {digits} significant digits")
        n = n[cut:]
    return n.rjust(digits, "0")


def phone_key(number: str) -> str:
    """Edition-independent 20-digit key for matching a terminal against the registry."""
    return normalize_phone(number, PHONE_DIGITS_2019)


def parse_header(payload: bytes) -> tuple[Header, int]:
    """Decode the header of an unescaped, checked frame (header + body, no check code).

    Returns the header and the offset where the body starts. The declared body length must
    match the bytes present exactly; otherwise `LengthError` (carrying the header, read in the
    most plausible layout, so the terminal can still be answered) or `TruncatedError` when the
    data cannot even hold the header.
    """
    n = len(payload)
    if n < 12:
        raise TruncatedError(f"{n} bytes cannot hold a message header")
    msg_id, attrs = _ID_ATTRS.unpack_from(payload, 0)
    body_len = attrs & ATTR_LENGTH
    split = 4 if attrs & ATTR_SPLIT else 0
    if attrs & ATTR_V2019:
        # Bit 14 normally means the 2019 layout, but some devices set it on a 2013 header: the
        # length tells them apart (the two header sizes differ by 5 bytes).
        v2019 = n != 12 + split + body_len and n >= 17 + split
        forced = not v2019
    else:
        v2019 = forced = False
    head_len = (17 if v2019 else 12) + split
    if n < head_len:
        raise TruncatedError(f"message 0x{msg_id:04X}: {n} bytes cannot hold the header")
    if n != head_len + body_len:
        try:
            header: Header | None = _read_header(payload, msg_id, attrs, v2019, forced)
        except BcdError:
            header = None  # the length is the first thing wrong; report that
        raise LengthError(
            f"message 0x{msg_id:04X}: attributes declare a {body_len}-byte body, "
            f"{n - head_len} bytes follow the {head_len}-byte header",
            header=header,
        )
    return _read_header(payload, msg_id, attrs, v2019, forced), head_len


def _read_header(payload: bytes, msg_id: int, attrs: int, v2019: bool, forced: bool) -> Header:
    if v2019:
        version: int | None = payload[4]
        phone = bcd_digits(payload[5:15], "terminal phone")
        pos = 15
    else:
        version = None
        phone = bcd_digits(payload[4:10], "terminal phone")
        pos = 10
    serial = (payload[pos] << 8) | payload[pos + 1]
    count: int | None = None
    index: int | None = None
    if attrs & ATTR_SPLIT:
        count, index = _WORD2.unpack_from(payload, pos + 2)
    return Header(
        msg_id,
        phone,
        serial,
        version,
        (attrs >> ATTR_ENCRYPTION_SHIFT) & 0x7,
        count,
        index,
        forced,
        bool(attrs & ATTR_RESERVED),
    )


def _check_range(value: int, bits: int, what: str) -> int:
    if not 0 <= value < 1 << bits:
        raise EncodeError(f"{what} {value} is outside 0..{(1 << bits) - 1}")
    return value


def encode_header(header: Header, body_length: int) -> bytes:
    """Encode `header` for a body (or packet) of `body_length` bytes."""
    if not 0 <= body_length <= MAX_BODY:
        raise EncodeError(
            f"body of {body_length} bytes exceeds {MAX_BODY}; split it with encode_split()"
        )
    v2019 = header.protocol_version is not None
    if v2019 and header.forced_2013:
        raise EncodeError("forced_2013 describes a 2013 layout; protocol_version must be None")
    split = header.packet_count is not None or header.packet_index is not None
    attrs = (
        body_length
        | _check_range(header.encryption, 3, "encryption") << ATTR_ENCRYPTION_SHIFT
        | (ATTR_SPLIT if split else 0)
        | (ATTR_V2019 if v2019 or header.forced_2013 else 0)
        | (ATTR_RESERVED if header.reserved_bit else 0)
    )
    out = _ID_ATTRS.pack(_check_range(header.msg_id, 16, "message id"), attrs)
    if header.protocol_version is not None:
        out += bytes((_check_range(header.protocol_version, 8, "protocol version"),))
        out += digits_bcd(normalize_phone(header.phone, PHONE_DIGITS_2019), 10, "phone")
    else:
        out += digits_bcd(normalize_phone(header.phone, PHONE_DIGITS_2013), 6, "phone")
    out += _check_range(header.serial, 16, "serial").to_bytes(2, "big")
    if split:
        if header.packet_count is None or header.packet_index is None:
            raise EncodeError("split header needs both packet_count and packet_index")
        out += _WORD2.pack(
            _check_range(header.packet_count, 16, "packet count"),
            _check_range(header.packet_index, 16, "packet index"),
        )
    return out
