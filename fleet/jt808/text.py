"""GBK STRING fields.

Terminals pad text with 0x00 (either side), spaces or ASCII '0', and some send bytes that are not
valid GBK. Decoding therefore trims NUL/space padding and never fails (bad bytes become U+FFFD),
while `WireText` remembers the exact bytes so that re-encoding a decoded message reproduces the
frame byte for byte (padding and undecodable bytes included).
"""

from __future__ import annotations

from typing import Any

from .errors import EncodeError

# What decoding trims from both ends. '0' is not trimmed here: it is a real character in
# identifiers; use strip_padding() where a field is known to be '0'-padded.
_PAD = "\x00 "


class WireText(str):
    """A `str` decoded from the wire that keeps its original bytes in `raw`.

    It compares, hashes and prints as the trimmed text. Any new string (including the result of
    string methods) is a plain `str` and is encoded afresh.
    """

    raw: bytes

    def __new__(cls, text: str, raw: bytes) -> WireText:
        obj = super().__new__(cls, text)
        obj.raw = raw
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (WireText, (str(self), self.raw))


def decode_text(raw: bytes) -> WireText:
    """Decode a GBK field, trimming NUL and space padding; never raises."""
    # gb18030 is a strict superset of GBK, so it accepts everything a GBK terminal may send;
    # plain ASCII (most identifiers) takes the much cheaper codec.
    text = raw.decode("ascii") if raw.isascii() else raw.decode("gb18030", "replace")
    return WireText(text.strip(_PAD), bytes(raw))


def encode_text(value: str, what: str = "text") -> bytes:
    """Encode text as GBK (a WireText gives back its original bytes)."""
    if isinstance(value, WireText):
        return value.raw
    try:
        return value.encode("gbk")
    except UnicodeEncodeError as exc:
        raise EncodeError(f"{what} {value!r} cannot be encoded as GBK") from exc


def encode_fixed(value: str, width: int, what: str = "text") -> bytes:
    """Encode text into a fixed-width field, right-padded with 0x00."""
    raw = encode_text(value, what)
    if len(raw) > width:
        raise EncodeError(f"{what} {value!r} is {len(raw)} bytes, the field holds {width}")
    return raw.ljust(width, b"\x00")


def encode_prefixed(value: str, prefix: int, what: str = "text") -> bytes:
    """Encode text preceded by its byte length as a BYTE (prefix=1) or WORD (prefix=2)."""
    raw = encode_text(value, what)
    if len(raw) >= 1 << (8 * prefix):
        raise EncodeError(f"{what} is {len(raw)} bytes, too long for a {prefix}-byte length")
    return len(raw).to_bytes(prefix, "big") + raw


def strip_padding(text: str) -> str:
    """Identifier with NUL/space padding and leading '0' padding removed.

    Some terminals left-pad maker, model and terminal id with ASCII '0' (e.g. '000Koike002').
    Use this for matching identifiers, never for display or re-encoding.
    """
    return text.strip(_PAD).lstrip("0")
