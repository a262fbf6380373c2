"""Top-level decode/encode of whole frames, and a stream reader that yields messages."""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from functools import lru_cache

from . import messages as _messages  # noqa: F401  (registers the typed body codecs)
from .errors import BodyError, ChecksumError, EncodeError, Jt808Error
from .framing import DEFAULT_MAX_FRAME, FrameReader, checksum, escape, unwrap, wrap
from .header import MAX_BODY, Header, encode_header, parse_header
from .registry import Body, Fragment, UnknownMessage, body_msg_id, decode_body, encode_body


@dataclass(slots=True)
class Message:
    """A decoded frame. `body` is a typed dataclass, `UnknownMessage` (unknown id or encrypted
    body, raw bytes kept) or `Fragment` (one packet of a split message)."""

    header: Header
    body: Body

    @property
    def msg_id(self) -> int:
        return self.header.msg_id


def decode_payload(payload: bytes) -> Message:
    """Decode unescaped header + body (check code already verified and removed)."""
    header, offset = parse_header(payload)
    data = bytes(payload[offset:])
    if header.packet_count is not None:
        return Message(header, Fragment(header.msg_id, data))
    if header.encryption:
        # Encrypted bodies cannot be read without the key exchange; keep them verbatim.
        return Message(header, UnknownMessage(header.msg_id, data))
    return Message(header, _decode_body(header, data))


def _decode_body(header: Header, data: bytes) -> Body:
    try:
        return decode_body(header.msg_id, data, header.protocol_version is not None)
    except Jt808Error as exc:
        if exc.header is None:
            exc.header = header
        raise
    except (IndexError, KeyError, struct.error, UnicodeError, OverflowError, ValueError) as exc:
        # Safety net: decoders check bounds themselves, but a malformed body must never escape
        # as anything other than a Jt808Error.
        raise BodyError(f"message 0x{header.msg_id:04X}: {exc!r}", header=header) from exc


def _with_header(exc: Jt808Error) -> Jt808Error:
    """Best effort: read the header of a frame that failed its check code."""
    if isinstance(exc, ChecksumError) and exc.header is None and exc.payload:
        try:
            exc.header = parse_header(exc.payload)[0]
        except Jt808Error as inner:
            exc.header = inner.header
    return exc


def decode_frame(frame: bytes) -> Message:
    """Decode one wire frame, with or without its 0x7E delimiters."""
    data = bytes(frame)
    if data[:1] == b"\x7e":
        data = data[1:]
    if data[-1:] == b"\x7e":
        data = data[:-1]
    try:
        payload = unwrap(data)
    except Jt808Error as exc:
        raise _with_header(exc) from None
    return decode_payload(payload)


def decode_body_bytes(header: Header, data: bytes) -> Body:
    """Decode a body obtained separately (e.g. reassembled from split packets)."""
    return _decode_body(header, data)


def encode_message(header: Header, body: Body | bytes) -> bytes:
    """Encode a complete frame (delimiters, escaping, check code included).

    The body length goes into the header attributes; header.msg_id must match a typed body.
    """
    msg_id = None if isinstance(body, bytes | bytearray) else body_msg_id(body)
    if msg_id is not None and msg_id != header.msg_id:
        raise EncodeError(f"header id 0x{header.msg_id:04X} but body is for 0x{msg_id:04X}")
    raw = encode_body(body, header.protocol_version is not None)
    return wrap(encode_header(header, len(raw)) + raw)


def encode_split(header: Header, body: Body | bytes, max_packet: int = MAX_BODY) -> list[bytes]:
    """Encode a body of any length as split packets of at most `max_packet` bytes.

    Packet i (from 1) gets serial header.serial + i - 1. A body that fits one frame is sent
    unsplit.
    """
    if not 1 <= max_packet <= MAX_BODY:
        raise EncodeError(f"max_packet must be within 1..{MAX_BODY}")
    msg_id = None if isinstance(body, bytes | bytearray) else body_msg_id(body)
    if msg_id is not None and msg_id != header.msg_id:
        raise EncodeError(f"header id 0x{header.msg_id:04X} but body is for 0x{msg_id:04X}")
    raw = encode_body(body, header.protocol_version is not None)
    if len(raw) <= max_packet:
        whole = replace(header, packet_count=None, packet_index=None)
        return [wrap(encode_header(whole, len(raw)) + raw)]
    chunks = [raw[i : i + max_packet] for i in range(0, len(raw), max_packet)]
    if len(chunks) > 0xFFFF:
        raise EncodeError(f"body of {len(raw)} bytes needs more than 65535 packets")
    frames = []
    for index, chunk in enumerate(chunks, 1):
        packet = replace(
            header,
            serial=(header.serial + index - 1) & 0xFFFF,
            packet_count=len(chunks),
            packet_index=index,
        )
        frames.append(wrap(encode_header(packet, len(chunk)) + chunk))
    return frames


def reply_header(request: Header, msg_id: int, serial: int) -> Header:
    """Header for a platform message to the terminal that sent `request` (same phone and
    header layout, including the 2013-with-bit-14 quirk, which such devices expect back)."""
    return Header(
        msg_id,
        request.phone,
        serial,
        request.protocol_version,
        forced_2013=request.forced_2013,
    )


# 0x8001 after its header's fixed part: our serial, then the body (reply serial, reply id, result).
_ANSWER_TAIL = struct.Struct(">HHHB")
_ANSWER_BODY_SIZE = 5


@lru_cache(maxsize=1 << 16)
def _answer_head(phone: str, protocol_version: int | None, forced_2013: bool,
                 ) -> tuple[bytes, int]:
    """The start of every 0x8001 to one terminal: the opening delimiter and the escaped header
    up to its serial, and the check code of those header bytes."""
    header = Header(0x8001, phone, 0, protocol_version, forced_2013=forced_2013)
    fixed = encode_header(header, _ANSWER_BODY_SIZE)[:-2]  # without the serial WORD
    return b"\x7e" + escape(fixed), checksum(fixed)


def general_response(request: Header, serial: int, result: int = 0) -> bytes:
    """0x8001 answer to `request` (result 0 ok, 1 fail, 2 bad message, 3 unsupported).

    The gateway answers every report, so this is on its hot path: the header bytes that only
    depend on the terminal are encoded once per terminal; escaping and the XOR check code are
    bytewise, so the frame is those bytes plus the escaped serial, body and check code. Same
    bytes as ``encode_message(reply_header(request, 0x8001, serial), PlatformResponse(...))``.
    """
    head, check = _answer_head(request.phone, request.protocol_version, request.forced_2013)
    try:
        tail = _ANSWER_TAIL.pack(serial, request.serial, request.msg_id, result)
    except struct.error as exc:
        raise EncodeError(f"0x8001 field out of range: {exc}") from None
    return head + escape(tail + bytes((check ^ checksum(tail),))) + b"\x7e"


class MessageReader:
    """`FrameReader` + `decode_payload`: feed raw TCP bytes, get messages and errors in order.

    A frame that fails (framing, check code, length or body) yields its `Jt808Error` in place;
    `error.header` is set when the header could be read, so the gateway can answer 0x8001
    result 2 with the right serial.
    """

    __slots__ = ("frames",)

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.frames = FrameReader(max_frame)

    def feed(self, data: bytes) -> list[Message | Jt808Error]:
        out: list[Message | Jt808Error] = []
        for item in self.frames.feed(data):
            if isinstance(item, Jt808Error):
                out.append(_with_header(item))
                continue
            try:
                out.append(decode_payload(item))
            except Jt808Error as exc:
                out.append(exc)
        return out
