"""The one exception hierarchy of the codec.

Every failure to decode untrusted bytes surfaces as a `Jt808Error` subclass carrying a stable,
machine-readable `code` (for counters and 0x8001 answers) and a human `reason` (for logs). The
gateway can therefore catch a single type and keep the connection alive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .header import Header


class Jt808Error(ValueError):
    """Base of all codec errors.

    `code` is one of the strings below; `header` is set when the frame header could be read before
    the failure, so the gateway can still answer the terminal (0x8001 result 2) with its serial.
    """

    default_code: ClassVar[str] = "error"

    def __init__(self, reason: str, *, code: str | None = None, header: Header | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code or self.default_code
        self.header = header

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class FramingError(Jt808Error):
    """The byte stream itself is malformed (delimiters, escaping, check code, size)."""

    default_code = "bad_frame"


class EscapeError(FramingError):
    """0x7D followed by something other than 0x01/0x02."""

    default_code = "bad_escape"


class ChecksumError(FramingError):
    """The XOR check code does not match header + body.

    `payload` keeps the unescaped header + body so the gateway may still read the header
    (best effort) to answer the terminal.
    """

    default_code = "bad_checksum"

    def __init__(self, reason: str, *, payload: bytes = b"", header: Header | None = None):
        super().__init__(reason, header=header)
        self.payload = payload


class OversizeError(FramingError):
    """More bytes than the configured maximum frame size without a delimiter."""

    default_code = "oversize"


class GarbageError(FramingError):
    """Bytes discarded before the first delimiter of a stream."""

    default_code = "garbage"


class TruncatedError(Jt808Error):
    """The data ends before a field it declares."""

    default_code = "truncated"


class LengthError(Jt808Error):
    """The body length in the header attributes disagrees with the bytes received."""

    default_code = "bad_length"


class BcdError(Jt808Error):
    """A BCD field holds non-decimal nibbles (often binary sent instead of BCD) or an
    impossible calendar value."""

    default_code = "bad_bcd"


class BodyError(Jt808Error):
    """The body does not follow the layout of its message id."""

    default_code = "bad_body"


class PacketError(Jt808Error):
    """Inconsistent split-packet numbering (index 0, index beyond count, too many packets)."""

    default_code = "bad_packet"


class EncodeError(Jt808Error):
    """A value cannot be put on the wire (out of range, too long, not GBK-encodable)."""

    default_code = "bad_value"
