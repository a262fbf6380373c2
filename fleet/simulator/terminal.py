"""One terminal over TCP: plays its outbox stream against the gateway.

Connects, registers once (0x0100 → 0x8100; the code it returns is used to authenticate) and
authenticates (0x0102 → 0x8001) on every connection, then sends each message when the clock says
it is due, keeping at most `window` messages unacknowledged. It answers platform commands
(0x8300 text, 0x8600/0x8604 areas, 0x8103 parameters → 0x0001; 0x8201 → 0x0201; 0x8104 →
0x0104). A planned link loss (blind area, power cut) closes the socket; an unplanned one (the
gateway went away) is retried with exponential backoff while the terminal goes on recording:
every location not acknowledged or not sent is resent as a 0x0704 type-1 backfill once it is
back, other messages as they were.

Fix accounting (`stats`): every fix written to the socket (in a 0x0200 or a 0x0704) stays
*unconfirmed* until its message is answered; an answer 0 (or 4) makes it `fixes_accepted`,
another result `fixes_nacked`, an ack timeout `fixes_timed_out`; a fix whose link went before
the answer is re-sent, and counts once it is answered. Fixes still unconfirmed when the terminal
stops are `fixes_unconfirmed`. A terminal's fixes have distinct times (the sampler's whole,
increasing seconds), so `fixes_accepted` counts distinct (terminal, fix time) keys: what the
platform promised to keep. Malformed frames carry no fix. The fixes of the other outcomes may
or may not be stored: each is logged (vehicle id and POSIX fix times) so a soak can look them up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from fleet.jt808 import (
    BatchLocation,
    Jt808Error,
    Location,
    LocationQueryResponse,
    Message,
    MessageReader,
    ParamsResponse,
    PlatformResponse,
    RegisterResponse,
    TerminalResponse,
)
from fleet.simulator.clock import SimClock
from fleet.simulator.entities import TerminalInfo
from fleet.simulator.localtime import to_datetime
from fleet.simulator.meter import MeterTripSink
from fleet.simulator.outbox import (
    BATCH_BODY_BYTES,
    Framer,
    Link,
    Outgoing,
    Send,
    auth_body,
    register_body,
)
from fleet.simulator.plan import MeterTrip

log = logging.getLogger(__name__)

_ACKNOWLEDGED_COMMANDS = frozenset({0x8300, 0x8600, 0x8601, 0x8602, 0x8603, 0x8604, 0x8605,
                                    0x8606, 0x8607, 0x8103, 0x8105, 0x8202, 0x8500})


@dataclass(frozen=True)
class ClientConfig:
    host: str = "127.0.0.1"
    port: int = 6808
    window: int = 8  # unacknowledged messages in flight
    ack_timeout: float = 30.0  # real seconds
    handshake_timeout: float = 15.0
    connect_timeout: float = 10.0
    backoff_min: float = 1.0
    backoff_max: float = 60.0
    heartbeat_s: int = 120
    report_interval_s: int = 20
    parked_interval_s: int = 300
    max_kept: int = 5000  # locations a terminal stores while it cannot send (oldest go first)


class TerminalClient:
    def __init__(self, terminal: TerminalInfo, stream: Iterable[Outgoing], clock: SimClock,
                 config: ClientConfig, stats: Counter[str], *,
                 sink: MeterTripSink | None = None, stop_at: float | None = None) -> None:
        self.terminal = terminal
        self.stream = stream
        self.clock = clock
        self.config = config
        self.stats = stats
        self.sink = sink
        self.stop_at = stop_at
        self.framer = Framer(terminal)
        self.auth_code = terminal.auth_code
        self.registered = False
        self.connected = False
        self.planned_down = False
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._outstanding: dict[int, tuple[Send, float]] = {}
        self._waiters: dict[tuple[int, int], asyncio.Future[Message]] = {}
        self._acked = asyncio.Event()
        self._retry_locations: list[Location] = []
        self._retry_other: list[Send] = []
        self._unconfirmed: set[datetime] = set()  # times of fixes written, not yet answered
        self._next_attempt = 0.0
        self._backoff = config.backoff_min
        self._jitter = random.Random(terminal.sim)  # network timing only, never the plan
        self.last_location: Location | None = None

    # -- main loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            for out in self.stream:
                at = out.t if isinstance(out, MeterTrip) else out.at
                if self.stop_at is not None and at > self.stop_at:
                    await self.clock.sleep_until(self.stop_at)  # stay online until the end
                    break
                await self.clock.sleep_until(at)
                if isinstance(out, MeterTrip):
                    if self.sink is not None:
                        self.sink.write(self.terminal, out)
                    self.stats["meter_trips"] += 1
                elif isinstance(out, Link):
                    if out.up:
                        self.planned_down = False
                        await self._ensure_connected()
                    else:
                        self.planned_down = True
                        self.stats["link_down_planned"] += 1
                        await self._close()
                elif out.kind not in ("register", "auth"):  # the handshake is done live
                    await self._deliver(out)
            await self._drain()
        finally:
            await self._close()
            self.stats["fixes_unconfirmed"] += len(self._unconfirmed)
            self._log_doubt("fixes_unconfirmed", self._unconfirmed)

    async def _drain(self) -> None:
        """Give the last acknowledgements a moment before closing."""
        deadline = time.monotonic() + min(5.0, self.config.ack_timeout)
        while self._outstanding and self.connected and time.monotonic() < deadline:
            self._acked.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acked.wait(), deadline - time.monotonic())

    # -- sending ---------------------------------------------------------------------------------
    async def _deliver(self, out: Send) -> None:
        if not self.connected and not await self._ensure_connected():
            self._keep(out)
            return
        if out.ack:
            await self._wait_window()
            if not self.connected:
                self._keep(out)
                return
        self._write(out)

    def _write(self, out: Send) -> None:
        serial, frame = self.framer.encode(out.msg_id, out.body, out.corrupt)
        assert self._writer is not None
        self._writer.write(frame)
        self.stats[f"sent_{out.kind}"] += 1
        self.stats["bytes"] += len(frame)
        if out.ack:
            self._outstanding[serial] = (out, time.monotonic())
            self._unconfirmed.update(fix_times(out.body))
        if isinstance(out.body, Location):
            self.last_location = out.body
        elif isinstance(out.body, BatchLocation):
            self.stats["backfill_fixes"] += len(out.body.locations)

    def _keep(self, out: Send) -> None:
        """Not sent: locations wait for a backfill, other messages for the reconnection."""
        if isinstance(out.body, Location):
            self._retry_locations.append(out.body)
        elif isinstance(out.body, BatchLocation):
            self._retry_locations.extend(out.body.locations)
        elif out.kind in ("card", "waybill"):
            self._retry_other.append(out)
        excess = len(self._retry_locations) - self.config.max_kept
        if excess > 0:  # a terminal's memory is finite: a long outage loses the oldest fixes
            del self._retry_locations[:excess]
            self.stats["kept_dropped"] += excess

    async def _wait_window(self) -> None:
        while self.connected and len(self._outstanding) >= self.config.window:
            self._acked.clear()
            oldest = min(sent for _, sent in self._outstanding.values())
            wait = oldest + self.config.ack_timeout - time.monotonic()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._acked.wait(), wait)
                continue
            expired = [s for s, (_, sent) in self._outstanding.items()
                       if sent + self.config.ack_timeout <= time.monotonic()]
            for serial in expired:
                out, _ = self._outstanding.pop(serial)
                self._settle(out, "fixes_timed_out")
            self.stats["ack_timeouts"] += len(expired)

    # -- connection ------------------------------------------------------------------------------
    async def _ensure_connected(self) -> bool:
        if self.connected:
            return True
        if self.planned_down or time.monotonic() < self._next_attempt:
            return False
        if await self._connect():
            self._backoff = self.config.backoff_min
            await self._flush_kept()
            return True
        self.stats["connect_failures"] += 1
        self._next_attempt = time.monotonic() + self._backoff * self._jitter.uniform(0.8, 1.2)
        self._backoff = min(self.config.backoff_max, self._backoff * 2)
        return False

    async def _connect(self) -> bool:
        cfg = self.config
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(cfg.host, cfg.port), cfg.connect_timeout)
        except (OSError, TimeoutError):
            return False
        self.connected = True
        self._reader_task = asyncio.create_task(self._read_loop(self._reader))
        try:
            if not self.registered and not await self._register():
                await self._close()
                return False
            reply = await self._request(0x0102, auth_body(self.terminal, self.auth_code), 0x8001)
        except (TimeoutError, ConnectionError):
            await self._close()
            return False
        body = reply.body
        if not isinstance(body, PlatformResponse) or body.result != 0:
            self.stats["auth_refused"] += 1
            self.registered = False  # register again next time: the code may have changed
            await self._close()
            return False
        self.stats["connects"] += 1
        return True

    async def _register(self) -> bool:
        reply = await self._request(0x0100, register_body(self.terminal), 0x8100)
        body = reply.body
        if not isinstance(body, RegisterResponse):
            return False
        if body.result == 0:
            self.auth_code = str(body.auth_code) or self.terminal.auth_code
        elif body.result in (1, 3):  # registered already: the code on record still holds
            self.auth_code = self.terminal.auth_code
        else:
            self.stats["register_refused"] += 1
            return False
        self.registered = True
        self.stats["registered"] += 1
        return True

    async def _request(self, msg_id: int, body: object, answer_id: int) -> Message:
        serial, frame = self.framer.encode(msg_id, body)
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiters[(answer_id, serial)] = future
        assert self._writer is not None
        self._writer.write(frame)
        self.stats["sent_register" if msg_id == 0x0100 else "sent_auth"] += 1
        try:
            return await asyncio.wait_for(future, self.config.handshake_timeout)
        finally:
            self._waiters.pop((answer_id, serial), None)

    async def _flush_kept(self) -> None:
        """After a reconnection: what never got through, oldest first."""
        kept, self._retry_locations = self._retry_locations, []
        kept.sort(key=lambda loc: loc.time)
        batch: list[Location] = []
        size = 3
        v2019 = self.terminal.v2019
        for loc in kept:
            n = 2 + len(loc.encode(v2019))
            if batch and size + n > BATCH_BODY_BYTES:
                await self._deliver(Send(0, 0x0704, BatchLocation(1, tuple(batch)), "backfill"))
                batch, size = [], 3
            batch.append(loc)
            size += n
        if batch:
            await self._deliver(Send(0, 0x0704, BatchLocation(1, tuple(batch)), "backfill"))
        other, self._retry_other = self._retry_other, []
        for out in other:
            await self._deliver(out)

    async def _close(self) -> None:
        was = self.connected
        self.connected = False
        writer, self._writer = self._writer, None
        task, self._reader_task = self._reader_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        # Before waiting for the socket: meanwhile the terminal may connect again, and what
        # it then sends is the new connection's, not in flight on this one.
        self._lost()
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2.0)
        if was:
            self.stats["disconnects"] += 1

    def _lost(self) -> None:
        """Whatever was in flight when the link went: kept for after the reconnection."""
        for out, _ in self._outstanding.values():
            self._keep(out)
        self._outstanding.clear()
        for future in self._waiters.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
        self._acked.set()

    # -- receiving -------------------------------------------------------------------------------
    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        messages = MessageReader()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for item in messages.feed(data):
                    if isinstance(item, Jt808Error):
                        self.stats["bad_downlinks"] += 1
                    else:
                        self._handle(item)
        except (ConnectionError, OSError):
            pass
        if self.connected and self._reader_task is asyncio.current_task():
            self.stats["drops"] += 1  # the gateway went away: reconnect later
            self._reader_task = None
            await self._close()

    def _handle(self, message: Message) -> None:
        msg_id, body = message.msg_id, message.body
        if isinstance(body, PlatformResponse | RegisterResponse):
            future = self._waiters.get((msg_id, body.reply_serial))
            if future is not None and not future.done():
                future.set_result(message)
                return
            answered = self._outstanding.pop(body.reply_serial, None) \
                if isinstance(body, PlatformResponse) else None
            if answered is not None:
                self.stats["acked"] += 1
                accepted = body.result in (0, 4)
                if not accepted:
                    self.stats[f"nack_{body.result}"] += 1
                self._settle(answered[0], "fixes_accepted" if accepted else "fixes_nacked")
                self._acked.set()
            return
        self.stats[f"downlink_{msg_id:04X}"] += 1
        self._answer(message)

    def _settle(self, out: Send, outcome: str) -> None:
        """The fate of the fixes of an answered (or given up) message, each counted once."""
        settled = self._unconfirmed.intersection(fix_times(out.body))
        self._unconfirmed.difference_update(settled)
        self.stats[outcome] += len(settled)
        if outcome != "fixes_accepted":
            self._log_doubt(outcome, settled)

    def _log_doubt(self, outcome: str, times: Iterable[datetime]) -> None:
        if times:
            log.warning("fixes in doubt: %s vehicle %s at %s", outcome, self.terminal.vehicle.id,
                        ",".join(str(int(at.timestamp())) for at in sorted(times)))

    def _answer(self, message: Message) -> None:
        header, msg_id = message.header, message.msg_id
        if msg_id == 0x8201:
            now = to_datetime(round(self.clock.now()))
            loc = self.last_location
            if loc is None:
                return
            here = Location(loc.alarm, loc.status, loc.lat_raw, loc.lon_raw, loc.altitude,
                            loc.speed_raw, loc.direction, now, loc.items)
            self._reply(0x0201, LocationQueryResponse(header.serial, here))
        elif msg_id == 0x8104:
            cfg = self.config
            params = ((0x0001, cfg.heartbeat_s.to_bytes(4, "big")),
                      (0x0027, cfg.parked_interval_s.to_bytes(4, "big")),
                      (0x0029, cfg.report_interval_s.to_bytes(4, "big")))
            self._reply(0x0104, ParamsResponse(header.serial, params))
        elif msg_id in _ACKNOWLEDGED_COMMANDS:
            self._reply(0x0001, TerminalResponse(header.serial, msg_id, 0))
        elif msg_id & 0x8000:
            self._reply(0x0001, TerminalResponse(header.serial, msg_id, 3))  # unsupported

    def _reply(self, msg_id: int, body: object) -> None:
        if self._writer is None:
            return
        _, frame = self.framer.encode(msg_id, body)
        self._writer.write(frame)
        self.stats[f"answered_{msg_id:04X}"] += 1


def fix_times(body: object) -> tuple[datetime, ...]:
    """The fix times a message carries: one for a 0x0200, each of a 0x0704's, else none."""
    if isinstance(body, Location):
        return (body.time,)
    if isinstance(body, BatchLocation):
        return tuple(loc.time for loc in body.locations)
    return ()
