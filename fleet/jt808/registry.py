"""Dispatch of message bodies by message id.

Each typed body class registers itself with `@body_codec(msg_id)` and provides
``decode(cls, data, v2019) -> instance`` and ``encode(self, v2019) -> bytes``. `v2019` is the
header layout; bodies whose layout can differ from the header (device quirks) record what they
found in their own fields so they re-encode to the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol, TypeVar

from .errors import EncodeError


class Body(Protocol):
    """Anything that can be a message body."""

    def encode(self, v2019: bool) -> bytes: ...


Decoder = Callable[[bytes, bool], Body]

_DECODERS: dict[int, Decoder] = {}
_IDS: dict[type, int] = {}

T = TypeVar("T", bound=type)


def body_codec(msg_id: int) -> Callable[[T], T]:
    """Class decorator registering a body type for `msg_id`."""

    def register(cls: T) -> T:
        if msg_id in _DECODERS:
            raise RuntimeError(f"message 0x{msg_id:04X} registered twice")
        _DECODERS[msg_id] = cls.decode  # type: ignore[attr-defined]
        _IDS[cls] = msg_id
        cls.MSG_ID = msg_id  # type: ignore[attr-defined]
        return cls

    return register


@dataclass(slots=True)
class UnknownMessage:
    """Body of a message id without a typed codec (or an encrypted body): kept verbatim."""

    msg_id: int
    raw: bytes

    def encode(self, v2019: bool) -> bytes:
        return self.raw


@dataclass(slots=True)
class Fragment:
    """One packet of a split message; feed it to a `Reassembler`."""

    msg_id: int
    raw: bytes

    def encode(self, v2019: bool) -> bytes:
        return self.raw


@dataclass(slots=True)
class Empty:
    """Base for bodies with no content (heartbeat, logout, queries)."""

    MSG_ID: ClassVar[int]

    def encode(self, v2019: bool) -> bytes:
        return b""


def decoder_for(msg_id: int) -> Decoder | None:
    return _DECODERS.get(msg_id)


def known_ids() -> frozenset[int]:
    return frozenset(_DECODERS)


def decode_body(msg_id: int, data: bytes, v2019: bool) -> Body:
    decoder = _DECODERS.get(msg_id)
    if decoder is None:
        return UnknownMessage(msg_id, bytes(data))
    return decoder(data, v2019)


def body_msg_id(body: Body) -> int | None:
    """Message id a body belongs to (None for raw bytes)."""
    if isinstance(body, UnknownMessage | Fragment):
        return body.msg_id
    return _IDS.get(type(body))


def encode_body(body: Body | bytes, v2019: bool) -> bytes:
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    try:
        return body.encode(v2019)
    except (OverflowError, struct.error) as exc:
        # Integer fields out of range surface as OverflowError/struct.error from packing.
        raise EncodeError(f"{type(body).__name__}: {exc}") from exc
