"""Bounds-checked sequential reader used by the body decoders.

Every read checks the remaining length first, so a short body raises `TruncatedError` instead of
leaking IndexError or struct.error to the gateway.
"""

from __future__ import annotations

from .errors import BodyError, TruncatedError


class Cursor:
    __slots__ = ("data", "pos", "what")

    def __init__(self, data: bytes, what: str, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.what = what

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int, field: str = "field") -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise TruncatedError(
                f"{self.what}: {field} needs {n} bytes at offset {self.pos}, {self.remaining} left"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u8(self, field: str = "BYTE") -> int:
        return self.take(1, field)[0]

    def u16(self, field: str = "WORD") -> int:
        return int.from_bytes(self.take(2, field), "big")

    def u32(self, field: str = "DWORD") -> int:
        return int.from_bytes(self.take(4, field), "big")

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def done(self) -> None:
        """Reject trailing bytes: a body longer than its layout is not what we think it is."""
        if self.pos != len(self.data):
            raise BodyError(f"{self.what}: {self.remaining} unexpected trailing bytes")
