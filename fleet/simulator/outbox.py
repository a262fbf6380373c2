"""What goes on the wire, and when: a terminal's items → messages in time order.

The outbox is the terminal's protocol logic without a socket: it registers (0x0100) the first
time and authenticates (0x0102) on every connection, reports fixes (0x0200), card swipes
(0x0702) and waybills (0x0701), sends heartbeats (0x0002) when it has been quiet, drops the link
in blind areas and when powered off, and on the way back sends what it kept as 0x0704 type-1
(backfill) batches. Now and then it slips in a malformed copy of a report. `Framer` numbers and
encodes the messages; `render()` turns a whole stream into bytes (what the tests decode); the
TCP client (terminal.py) plays the same stream over a socket.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fleet.jt808 import (
    Auth,
    BatchLocation,
    DriverIdentity,
    Header,
    Heartbeat,
    Location,
    Register,
    Waybill,
    encode_message,
)
from fleet.simulator.entities import TerminalInfo
from fleet.simulator.localtime import to_datetime
from fleet.simulator.malformed import KINDS, corrupt
from fleet.simulator.plan import CardIn, CardOut, Fix, Item, MeterTrip, PowerCut, WaybillDoc

PROVINCE = 21  # 辽宁 (GB/T 2260 211100 → province 21, city 1100)
CITY = 1100
BATCH_BODY_BYTES = 1000  # a 0x0704 body must fit one frame (1023 bytes)
_REGISTER_WIDTHS = {"2011": (5, 8, 7), "2013": (5, 20, 7), "2019": (11, 30, 30)}


@dataclass(slots=True)
class Send:
    at: float
    msg_id: int
    body: Any
    kind: str  # register, auth, report, backfill, heartbeat, card, waybill, malformed
    ack: bool = True
    corrupt: str = ""


@dataclass(slots=True)
class Link:
    at: float
    up: bool


Outgoing = Send | Link | MeterTrip


def location(fix: Fix) -> Location:
    return Location.at(latitude=fix.lat, longitude=fix.lon, time=to_datetime(fix.t),
                       speed_kmh=fix.speed, altitude=fix.altitude, direction=fix.heading,
                       alarm=fix.alarm, status=fix.status, items=tuple(fix.items))


def register_body(terminal: TerminalInfo) -> Register:
    maker_w, model_w, id_w = _REGISTER_WIDTHS.get(terminal.edition, _REGISTER_WIDTHS["2013"])
    return Register(PROVINCE, CITY, terminal.maker[:maker_w], terminal.model[:model_w],
                    terminal.device_id[:id_w], terminal.vehicle.plate_colour,
                    terminal.vehicle.plate,
                    layout=terminal.edition if terminal.edition in _REGISTER_WIDTHS else None)


def auth_body(terminal: TerminalInfo, code: str | None = None) -> Auth:
    code = terminal.auth_code if code is None else code
    if not terminal.v2019:
        return Auth(code)
    imei = ("86" + terminal.sim.zfill(13))[-15:]
    return Auth(code, imei, "FW-SIM-1.0")


def card_body(item: CardIn | CardOut, terminal: TerminalInfo) -> DriverIdentity:
    when = to_datetime(item.t)
    if isinstance(item, CardOut):
        return DriverIdentity(2, when)
    return DriverIdentity(1, when, 0, item.name, item.certificate[:20], item.issuer,
                          item.valid_until, item.id_card[:20] if terminal.v2019 else None)


class Outbox:
    def __init__(self, terminal: TerminalInfo, *, seed: int, heartbeat_s: float = 120.0,
                 malformed_rate: float = 0.0) -> None:
        self.terminal = terminal
        self.heartbeat_s = heartbeat_s
        self.malformed_rate = malformed_rate
        self.rng = random.Random(f"{seed}/{terminal.sim}/wire")
        self.connected = False
        self.registered = False
        self.last_sent = 0.0
        self.kept: list[Location] = []  # fixes taken while the link was down
        self.held: list[Item] = []  # card swipes and waybills from that time

    def stream(self, items: Iterable[Item]) -> Iterator[Outgoing]:
        for item in items:
            if isinstance(item, MeterTrip):
                yield item
            elif isinstance(item, PowerCut):
                if self.connected:
                    self.connected = False
                    yield Link(item.t, False)
            elif isinstance(item, Fix) and item.blind:
                if self.connected:
                    self.connected = False
                    yield Link(item.t, False)
                self.kept.append(location(item))
            elif not self.connected and self.registered and not isinstance(item, Fix):
                self.held.append(item)  # still no network: sent on reconnection
            else:
                if not self.connected:
                    yield from self._connect(item.t)
                yield from self._heartbeats(item.t)
                yield from self._send(item)

    def _connect(self, t: float) -> Iterator[Outgoing]:
        self.connected = True
        yield Link(t, True)
        if not self.registered:
            self.registered = True
            yield Send(t, 0x0100, register_body(self.terminal), "register")
        yield Send(t, 0x0102, auth_body(self.terminal), "auth")
        self.last_sent = t
        yield from self._backfill(t)
        held, self.held = self.held, []
        for item in held:
            yield from self._send(item, at=t)

    def _backfill(self, t: float) -> Iterator[Send]:
        kept, self.kept = self.kept, []
        v2019 = self.terminal.v2019
        batch: list[Location] = []
        size = 3
        for loc in kept:
            n = 2 + len(loc.encode(v2019))
            if batch and size + n > BATCH_BODY_BYTES:
                yield Send(t, 0x0704, BatchLocation(1, tuple(batch)), "backfill")
                batch, size = [], 3
            batch.append(loc)
            size += n
        if batch:
            yield Send(t, 0x0704, BatchLocation(1, tuple(batch)), "backfill")

    def _heartbeats(self, t: float) -> Iterator[Send]:
        while t - self.last_sent > self.heartbeat_s:
            self.last_sent += self.heartbeat_s
            yield Send(self.last_sent, 0x0002, Heartbeat(), "heartbeat")

    def _send(self, item: Item, at: float | None = None) -> Iterator[Send]:
        when = item.t if at is None else at
        self.last_sent = max(self.last_sent, when)
        if isinstance(item, Fix):
            body = location(item)
            if self.malformed_rate and self.rng.random() < self.malformed_rate:
                yield Send(when, 0x0200, body, "malformed", ack=False,
                           corrupt=self.rng.choice(KINDS))
            yield Send(when, 0x0200, body, "report")
        elif isinstance(item, CardIn | CardOut):
            yield Send(when, 0x0702, card_body(item, self.terminal), "card")
        elif isinstance(item, WaybillDoc):
            yield Send(when, 0x0701, Waybill(item.text.encode("gbk", "replace")), "waybill")


class Framer:
    """Serial numbers and encoding for one terminal (2013 or 2019 header)."""

    def __init__(self, terminal: TerminalInfo) -> None:
        self.phone = terminal.sim
        self.version = 1 if terminal.v2019 else None
        self.serial = 0

    def header(self, msg_id: int) -> Header:
        serial = self.serial
        self.serial = (serial + 1) & 0xFFFF
        return Header(msg_id, self.phone, serial, self.version)

    def encode(self, msg_id: int, body: Any, corrupt_kind: str = "") -> tuple[int, bytes]:
        header = self.header(msg_id)
        frame = encode_message(header, body)
        if corrupt_kind:
            frame = corrupt(corrupt_kind, header, body, frame)
        return header.serial, frame


def render(stream: Iterable[Outgoing], terminal: TerminalInfo,
           ) -> Iterator[tuple[float, str, bytes]]:
    """(time, kind, frame) of every message a terminal sends, with no server: the exact bytes
    a well-behaved server would receive from it."""
    framer = Framer(terminal)
    for out in stream:
        if isinstance(out, Send):
            yield out.at, out.kind, framer.encode(out.msg_id, out.body, out.corrupt)[1]
