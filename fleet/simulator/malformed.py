"""Malformed frames, as real terminals send them now and then (PROTOCOL.md): a wrong check code,
a broken escape, a frame cut short, a location time in binary instead of BCD.

Each is made from a good frame and is guaranteed to be rejected by the codec (a `Jt808Error`);
the good frame is still sent, so no data is lost to a malformed one.
"""

from __future__ import annotations

from fleet.jt808 import (
    Header,
    Jt808Error,
    Location,
    checksum,
    decode_frame,
    encode_message,
    escape,
    unescape,
)
from fleet.jt808.framing import wrap

KINDS = ("bad_checksum", "bad_escape", "truncated", "binary_time")


def _payload(frame: bytes) -> bytes:
    """Header + body of a good frame (delimiters, escaping and check code removed)."""
    return unescape(frame[1:-1])[:-1]


def corrupt(kind: str, header: Header, body: object, frame: bytes) -> bytes:
    """A malformed variant of `frame` (header + body already encoded in it)."""
    out = _make(kind, header, body, frame)
    try:
        decode_frame(out)
    except Jt808Error:
        return out
    return _make("bad_checksum", header, body, frame)  # e.g. a binary time that reads as BCD


def _make(kind: str, header: Header, body: object, frame: bytes) -> bytes:
    payload = _payload(frame)
    if kind == "bad_escape":
        inner = frame[1:-1]
        cut = max(1, len(inner) // 2)
        return b"\x7e" + inner[:cut] + b"\x7d\x03" + inner[cut:] + b"\x7e"
    if kind == "truncated":
        # The header still declares the full body: the length check rejects it.
        return wrap(payload[:-3])
    if kind == "binary_time" and isinstance(body, Location):
        raw = bytearray(body.encode(header.protocol_version is not None))
        t = body.time
        raw[22:28] = bytes((t.year % 100, t.month, t.day, t.hour, t.minute, t.second))
        return encode_message(header, bytes(raw))
    bad = checksum(payload) ^ 0x5A
    return b"\x7e" + escape(payload + bytes((bad,))) + b"\x7e"
