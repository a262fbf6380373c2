"""Stream framing: 0x7E delimiters, 0x7D escaping, the XOR check code, and `FrameReader`.

Wire form: ``7E escape(header + body + check) 7E`` where check = XOR of header + body.
"""

from __future__ import annotations

from .errors import (
    ChecksumError,
    EscapeError,
    GarbageError,
    Jt808Error,
    OversizeError,
    TruncatedError,
)

FLAG = 0x7E
ESC = 0x7D
_FLAG_B = b"\x7e"
_ESC_B = b"\x7d"

# Largest well-formed frame between delimiters: 21-byte split 2019 header + 1023-byte body +
# check code, every byte escaped to two.
DEFAULT_MAX_FRAME = 2 * (21 + 1023 + 1)
# Shortest unescaped frame: 12-byte 2013 header, empty body, check code.
MIN_FRAME = 13


def checksum(data: bytes) -> int:
    """XOR of all bytes.

    Folds the bytes as one big integer (halving each round) so the work stays in C; this is
    several times faster than a Python loop on typical frames.
    """
    n = len(data)
    v = int.from_bytes(data, "little")
    while n > 1:
        half = (n + 1) >> 1
        shift = half << 3
        v = (v & ((1 << shift) - 1)) ^ (v >> shift)
        n = half
    return v


def escape(data: bytes) -> bytes:
    # 7D first, otherwise the 7D introduced by escaping 7E would be escaped again.
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Undo escaping; a 7D not followed by 01/02 (or a bare 7E) raises `EscapeError`."""
    if _FLAG_B in data:
        raise EscapeError("unescaped 0x7E inside a frame")
    n_esc = data.count(_ESC_B)
    if not n_esc:
        return bytes(data)
    # Each valid escape is exactly one 7D01 or 7D02, and those patterns cannot overlap, so the
    # counts match iff every 7D is followed by 01 or 02.
    if n_esc != data.count(b"\x7d\x01") + data.count(b"\x7d\x02"):
        raise EscapeError("0x7D not followed by 0x01 or 0x02")
    # Replacing 7D02 first is safe: its output (7E) can never start or complete a 7D01.
    return bytes(data.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d"))


def wrap(payload: bytes) -> bytes:
    """Header + body → complete wire frame with check code, escaping and delimiters."""
    return b"\x7e" + escape(payload + bytes((checksum(payload),))) + b"\x7e"


def unwrap(escaped: bytes) -> bytes:
    """Escaped frame content (without delimiters) → verified header + body (check removed)."""
    data = unescape(escaped)
    if len(data) < MIN_FRAME:
        raise TruncatedError(f"frame of {len(data)} bytes is shorter than the minimal {MIN_FRAME}")
    payload = data[:-1]
    expected = checksum(payload)
    if expected != data[-1]:
        raise ChecksumError(
            f"check code 0x{data[-1]:02X}, computed 0x{expected:02X}", payload=payload
        )
    return payload


class FrameReader:
    """Incremental splitter for a TCP byte stream.

    Feed it whatever `recv()` returned; `feed()` returns, in stream order, one item per frame:
    the verified header + body bytes (check code removed), or a `Jt808Error` describing why that
    frame (or run of garbage) was dropped. A bad frame never affects the frames after it.

    Every non-empty run of bytes between two 0x7E is treated as a frame candidate, so garbage
    between frames is reported as a failed candidate and the next frame is still recovered.
    Memory is bounded by `max_frame`: a longer run without delimiter is discarded and reported
    once, and the reader resynchronises on the next 0x7E.
    """

    __slots__ = (
        "_buf",
        "_discarded",
        "_scan",
        "_skipping",
        "_synced",
        "errors",
        "frames",
        "max_frame",
    )

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        if max_frame < MIN_FRAME:
            raise ValueError(f"max_frame must be at least {MIN_FRAME}")
        self.max_frame = max_frame
        self._buf = bytearray()
        self._scan = 0  # bytes of _buf already searched for 0x7E
        self._synced = False  # a delimiter has been seen: _buf is a frame candidate
        self._skipping = False  # inside an oversize run: drop until the next delimiter
        self._discarded = 0  # garbage bytes dropped before the first delimiter, not yet reported
        self.frames = 0
        self.errors = 0

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for a closing delimiter."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | Jt808Error]:
        """Add received bytes; return the frames (and errors) they completed, in order."""
        out: list[bytes | Jt808Error] = []
        buf = self._buf
        buf += data
        start = 0
        idx = buf.find(FLAG, self._scan)
        while idx >= 0:
            if not self._synced:
                self._discarded += idx - start
                if self._discarded:
                    out.append(GarbageError(f"{self._discarded} bytes before the first 0x7E"))
                    self._discarded = 0
                self._synced = True
            elif self._skipping:
                self._skipping = False
            elif idx > start:
                out.append(self._candidate(bytes(buf[start:idx])))
            start = idx + 1
            idx = buf.find(FLAG, start)
        del buf[:start]
        self._scan = len(buf)
        if not self._synced or self._skipping:
            # Nothing here can become a frame: drop it now to keep memory bounded.
            if not self._synced:
                self._discarded += len(buf)
                if self._discarded > self.max_frame:
                    out.append(GarbageError(f"{self._discarded} bytes without any 0x7E"))
                    self._discarded = 0
            buf.clear()
            self._scan = 0
        elif len(buf) > self.max_frame:
            out.append(OversizeError(f"more than {self.max_frame} bytes without a closing 0x7E"))
            buf.clear()
            self._scan = 0
            self._skipping = True
        for item in out:
            if isinstance(item, Jt808Error):
                self.errors += 1
            else:
                self.frames += 1
        return out

    def _candidate(self, escaped: bytes) -> bytes | Jt808Error:
        if len(escaped) > self.max_frame:
            return OversizeError(f"frame of {len(escaped)} bytes exceeds {self.max_frame}")
        try:
            return unwrap(escaped)
        except Jt808Error as exc:
            return exc
