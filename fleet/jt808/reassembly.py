"""Reassembly of split messages, keyed by (phone, message id).

Packets are numbered from 1; terminals give packet i the serial first_serial + i - 1, so the
serial of the first packet (what 0x8003 must quote) is known from any packet. The caller owns
the clock: every method takes `now` (any monotonic float, e.g. time.monotonic()).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from .codec import Message, decode_body_bytes, encode_message, reply_header
from .errors import PacketError
from .header import Header, phone_key
from .messages.general import ResendRequest
from .registry import Fragment


@dataclass(frozen=True, slots=True)
class MissingPackets:
    """An assembly that has waited `timeout` without completing.

    `abandoned` is True when the request budget is spent and the assembly was dropped; otherwise
    the gateway should send 0x8003 (see `resend_request_frame`) and keep waiting.
    """

    phone: str
    msg_id: int
    original_serial: int
    packet_count: int
    missing: tuple[int, ...]
    abandoned: bool
    header: Header


@dataclass(slots=True)
class _Assembly:
    header: Header
    count: int
    first_serial: int
    deadline: float
    parts: dict[int, bytes] = field(default_factory=dict)
    size: int = 0
    requests: int = 0

    def missing(self) -> tuple[int, ...]:
        return tuple(i for i in range(1, self.count + 1) if i not in self.parts)


class Reassembler:
    """Collects split packets until every index of a message has arrived.

    Bounded: at most `max_pending` assemblies (the least recently active is evicted), at most
    `max_packets` packets per message, at most `max_bytes` per message.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        max_pending: int = 1024,
        max_packets: int = 2048,
        max_bytes: int = 2 * 1024 * 1024,
        max_requests: int = 3,
    ) -> None:
        self.timeout = timeout
        self.max_pending = max_pending
        self.max_packets = max_packets
        self.max_bytes = max_bytes
        self.max_requests = max_requests
        # Insertion order doubles as recency order: touched assemblies are moved to the end.
        self._pending: dict[tuple[str, int], _Assembly] = {}
        self.evicted = 0
        self.replaced = 0

    def __len__(self) -> int:
        return len(self._pending)

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(list(self._pending))

    def add(self, header: Header, fragment: bytes, now: float) -> bytes | None:
        """Store one packet; returns the whole body once the last missing packet arrives.

        An unsplit header passes its body straight through. Duplicates are ignored.
        """
        done = self._add(header, fragment, now)
        return None if done is None else done[1]

    def add_message(self, message: Message, now: float) -> Message | None:
        """`add` for a decoded message: a `Fragment` is stored and the decoded whole message is
        returned once complete (other messages pass through).

        The whole message gets the first packet's header with the packet fields cleared and the
        serial of the first packet.
        """
        if not isinstance(message.body, Fragment):
            return message
        done = self._add(message.header, message.body.raw, now)
        if done is None:
            return None
        asm, data = done
        header = replace(asm.header, serial=asm.first_serial, packet_count=None, packet_index=None)
        return Message(header, decode_body_bytes(header, data))

    def _add(self, header: Header, fragment: bytes, now: float) -> tuple[_Assembly, bytes] | None:
        count, index = header.packet_count, header.packet_index
        if count is None or index is None:
            return _Assembly(header, 1, header.serial, now), bytes(fragment)
        if not 1 <= index <= count:
            raise PacketError(f"packet index {index} outside 1..{count}", header=header)
        if count > self.max_packets:
            raise PacketError(
                f"{count} packets exceed the limit of {self.max_packets}", header=header
            )
        key = (phone_key(header.phone), header.msg_id)
        first_serial = (header.serial - (index - 1)) & 0xFFFF
        asm = self._pending.pop(key, None)
        if asm is not None and (asm.count != count or asm.first_serial != first_serial):
            # A different message with the same id started: the old one cannot complete.
            self.replaced += 1
            asm = None
        if asm is None:
            while len(self._pending) >= self.max_pending:
                del self._pending[next(iter(self._pending))]
                self.evicted += 1
            asm = _Assembly(header, count, first_serial, now + self.timeout)
        if index not in asm.parts:
            if asm.size + len(fragment) > self.max_bytes:
                # The assembly was taken out of _pending above and is not put back: dropped.
                raise PacketError(f"message exceeds {self.max_bytes} bytes", header=header)
            asm.parts[index] = bytes(fragment)
            asm.size += len(fragment)
            if index == 1:
                asm.header = header  # the whole message is described by its first packet
        asm.deadline = now + self.timeout
        if len(asm.parts) == count:
            return asm, b"".join(asm.parts[i] for i in range(1, count + 1))
        self._pending[key] = asm
        return None

    def poll(self, now: float) -> list[MissingPackets]:
        """Report assemblies idle for `timeout`: ask again (up to `max_requests`) or drop."""
        out = []
        for key, asm in list(self._pending.items()):
            if asm.deadline > now:
                continue
            abandoned = asm.requests >= self.max_requests
            if abandoned:
                del self._pending[key]
            else:
                asm.requests += 1
                asm.deadline = now + self.timeout
            out.append(
                MissingPackets(
                    asm.header.phone,
                    asm.header.msg_id,
                    asm.first_serial,
                    asm.count,
                    asm.missing(),
                    abandoned,
                    asm.header,
                )
            )
        return out


def resend_request_frame(missing: MissingPackets, serial: int) -> bytes:
    """0x8003 frame asking the terminal for the missing packets."""
    header = reply_header(missing.header, 0x8003, serial)
    return encode_message(header, ResendRequest(missing.original_serial, missing.missing))
