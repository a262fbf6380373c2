"""One terminal connection's protocol state: registration, authentication, limits, split-message
reassembly, the records a chunk of bytes produced and the answers they need, pending commands.

The server's read loop calls `feed(data, now)` for every chunk read from the socket. Messages are
handled in order; their records are published in one batch and only then are the answers of the
whole chunk written, so a report is acknowledged only after the sink accepted it. While the sink
refuses, `feed` does not return, the read loop does not read, and TCP pushes back on the terminal.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, cast

from fleet.gateway.downlink import DownlinkResponse, PendingCommands, TerminalOffline
from fleet.gateway.records import (
    SOURCE_BATCH,
    SOURCE_QUERY,
    CardReport,
    Fix,
    Record,
    TerminalEvent,
    WaybillUpload,
    make_fix,
    safety_events,
)
from fleet.jt808 import (
    Auth,
    BatchLocation,
    Body,
    DriverIdentity,
    Fragment,
    Header,
    Jt808Error,
    Location,
    LocationQueryResponse,
    Message,
    MessageReader,
    ParamsResponse,
    Reassembler,
    Register,
    RegisterResponse,
    TerminalResponse,
    Waybill,
    encode_message,
    encode_split,
    general_response,
    reply_header,
    resend_request_frame,
)
from fleet.validators import canonical_sim

if TYPE_CHECKING:
    from fleet.gateway.config import GatewayConfig
    from fleet.gateway.dbworker import DbWorker
    from fleet.gateway.directory import TerminalDirectory, TerminalInfo
    from fleet.gateway.stats import GatewayStats

log = logging.getLogger(__name__)

OK, FAIL, BAD_MESSAGE, UNSUPPORTED = 0, 1, 2, 3
REG_OK, REG_NO_VEHICLE, REG_NO_TERMINAL = 0, 2, 4
PRE_AUTH = frozenset((0x0100, 0x0102))  # all a terminal may send before authenticating
RESPONSES = frozenset((0x0001, 0x0201, 0x0104))  # answers to our commands: never acknowledged


class SessionHost(Protocol):
    """What a session needs from its server."""

    config: GatewayConfig
    directory: TerminalDirectory
    stats: GatewayStats
    db: DbWorker

    async def publish(self, records: list[Record]) -> None: ...
    def bind(self, session: Session) -> None: ...
    def unbind(self, session: Session) -> None: ...


class Writer(Protocol):
    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...


Handler = Callable[["Session", Message, Header], Awaitable[None] | None]


class Session:
    # Slots: tens of thousands of these live at once, mostly idle.
    __slots__ = (
        "_now", "_out", "_records", "auth_failures", "bucket_at", "busy", "close_reason",
        "consecutive_errors", "generation", "host", "info", "last_rx", "opened_at", "pending",
        "phone", "reader", "reassembler", "received_at", "serial", "template", "tokens", "writer",
    )

    def __init__(self, host: SessionHost, writer: Writer, now: float) -> None:
        self.host = host
        self.writer = writer
        self.reader = MessageReader()
        self.reassembler: Reassembler | None = None  # created on the first split packet
        self.info: TerminalInfo | None = None  # set once authenticated
        self.phone = ""  # header phone of the authenticated terminal, as sent
        self.template: Header | None = None  # latest header: layout for our commands
        self.generation = 0
        self.auth_failures = 0
        self.consecutive_errors = 0
        self.serial = 0
        self.opened_at = self.last_rx = self.bucket_at = now
        self.tokens = host.config.max_frames_per_s
        self.pending = PendingCommands(host.config.max_pending_downlinks)
        self.close_reason: str | None = None
        self.busy = False  # inside `feed`: the idle sweep leaves it alone, close() waits
        self.received_at = datetime.now(UTC)
        self._now = now
        self._out: list[bytes] = []
        self._records: list[Record] = []

    @property
    def authenticated(self) -> bool:
        return self.info is not None

    # -- reading ---------------------------------------------------------------------------------
    async def feed(self, data: bytes, now: float) -> int:
        """Handle one chunk; returns the number of frames it held."""
        host = self.host
        stats = host.stats
        stats.bytes_received += len(data)
        self.last_rx = self._now = now
        self.received_at = datetime.now(UTC)
        frames = 0
        self.busy = True
        try:
            if self.info is not None and self.generation != host.directory.generation:
                self._reload_terminal()
            for item in self.reader.feed(data):
                if self.close_reason is not None:
                    break
                if isinstance(item, Jt808Error):
                    self._on_error(item)
                    continue
                frames += 1
                stats.frames[item.header.msg_id] += 1
                try:
                    pending = self._on_message(item)
                    if pending is not None:
                        await pending
                except Exception:
                    # A bug met by one odd frame costs that frame, not the connection.
                    log.exception("terminal %s: frame 0x%04X not handled", self.terminal_ref,
                                  item.header.msg_id)
                    stats.error("internal")
                    self._answer(item.header, FAIL)
            await self._flush()
        finally:
            self.busy = False
        if self.close_reason is not None:
            self.writer.close()  # after the answers: the transport flushes them first
        return frames

    async def throttle(self, frames: int, now: float) -> None:
        """Token bucket: above `max_frames_per_s` the read loop sleeps off the excess."""
        rate = self.host.config.max_frames_per_s
        self.tokens = min(rate, self.tokens + (now - self.bucket_at) * rate) - frames
        self.bucket_at = now
        if self.tokens < 0:
            self.host.stats.error("rate_limited")
            await asyncio.sleep(-self.tokens / rate)

    async def _flush(self) -> None:
        if self._records:
            records, self._records = self._records, []
            await self.host.publish(records)
        if self._out:
            out, self._out = self._out, []
            self.writer.write(b"".join(out))

    # -- dispatch --------------------------------------------------------------------------------
    def _on_message(self, msg: Message) -> Awaitable[None] | None:
        ack = msg.header
        if isinstance(msg.body, Fragment):
            if self.info is None:
                return self._refuse(ack, "unauthenticated")
            whole = self._reassemble(msg)
            if whole is None:
                return None
            msg = whole
        msg_id = msg.header.msg_id
        if self.info is None:
            if msg_id not in PRE_AUTH:
                return self._refuse(ack, "unauthenticated")
        elif ack.phone != self.phone and canonical_sim(ack.phone) != self.info.sim:
            return self._refuse(ack, "phone_mismatch")
        self.consecutive_errors = 0
        if msg_id not in RESPONSES:
            self.template = msg.header
        handler = HANDLERS.get(msg_id)
        if handler is None:
            self.host.stats.error("unsupported")
            self._answer(ack, UNSUPPORTED)
            return None
        return handler(self, msg, ack)

    def _answer(self, request: Header, result: int) -> None:
        self._out.append(general_response(request, self._next_serial(), result))

    def _refuse(self, request: Header, kind: str) -> None:
        self.host.stats.error(kind)
        self._answer(request, FAIL)
        self._count_error()

    def _on_error(self, exc: Jt808Error) -> None:
        """A malformed frame: counted; answered with result 2 when its header could be read."""
        self.host.stats.error(exc.code)
        if exc.header is not None:
            self._answer(exc.header, BAD_MESSAGE)
        self._count_error()

    def _count_error(self) -> None:
        self.consecutive_errors += 1
        if self.consecutive_errors >= self.host.config.max_consecutive_errors:
            self.close("too_many_errors")

    def _next_serial(self, n: int = 1) -> int:
        serial = self.serial
        self.serial = (serial + n) & 0xFFFF
        return serial

    def _reassemble(self, msg: Message) -> Message | None:
        cfg = self.host.config
        if self.reassembler is None:
            self.reassembler = Reassembler(
                timeout=cfg.reassembly_timeout_s, max_pending=4, max_bytes=cfg.reassembly_max_bytes
            )
        try:
            whole = self.reassembler.add_message(msg, self._now)
        except Jt808Error as exc:
            self._on_error(exc)
            return None
        if whole is None:
            self._answer(msg.header, OK)  # packet stored; the last one is answered after use
        return whole

    def poll_reassembly(self, now: float) -> None:
        """Ask again (0x8003) for packets that did not arrive; drop hopeless assemblies."""
        if self.reassembler is None:
            return
        for missing in self.reassembler.poll(now):
            if missing.abandoned:
                self.host.stats.error("reassembly_abandoned")
            else:
                self.host.stats.downlinks[("0x8003", "sent")] += 1
                self.writer.write(resend_request_frame(missing, self._next_serial()))

    # -- registration and authentication -------------------------------------------------------
    async def _register(self, msg: Message, ack: Header) -> None:
        host = self.host
        info = await host.directory.lookup(ack.phone, host.db.run)
        body = cast(Register, msg.body)
        code = ""
        if info is None:
            result = REG_NO_TERMINAL
        elif not info.matches_vehicle(body.plate, body.plate_colour):
            result = REG_NO_VEHICLE
        else:
            result, code = REG_OK, info.auth_code
        if result != REG_OK:
            host.stats.error("register_refused")
        reply = RegisterResponse(ack.serial, result, code)
        self._out.append(encode_message(reply_header(ack, 0x8100, self._next_serial()), reply))

    async def _authenticate(self, msg: Message, ack: Header) -> None:
        host = self.host
        info = await host.directory.lookup(ack.phone, host.db.run)
        code = str(cast(Auth, msg.body).code).strip()
        if info is not None and hmac.compare_digest(code.encode(), info.auth_code.encode()):
            if self.info is not None and self.info.sim != info.sim:
                host.unbind(self)
            self.info, self.phone, self.generation = info, ack.phone, host.directory.generation
            self.auth_failures = 0
            host.bind(self)
            self._records.append(self._event("online", {"edition": ack.edition}))
            self._answer(ack, OK)
            return
        self.auth_failures += 1
        host.stats.error("auth_failed")
        self._answer(ack, FAIL)
        if self.auth_failures >= host.config.max_auth_failures:
            self.close("auth_failures")

    def _reload_terminal(self) -> None:
        """The registry was reloaded: pick up a re-assigned vehicle; a terminal removed or
        deactivated meanwhile loses its session."""
        assert self.info is not None
        info = self.host.directory.get(self.info.sim)
        self.generation = self.host.directory.generation
        if info is None:
            self.close("deregistered")
        else:
            self.info = info

    # -- reports ---------------------------------------------------------------------------------
    def _heartbeat(self, msg: Message, ack: Header) -> None:
        self._answer(ack, OK)

    def _logout(self, msg: Message, ack: Header) -> None:
        self._records.append(self._event("logout"))
        self._answer(ack, OK)
        self.host.unbind(self)
        self.info = None

    def _fix(self, loc: Location, serial: int, backfill: bool = False,
             source: int = 0x0200) -> Fix:
        info = self.info
        assert info is not None
        fix = make_fix(loc, sim=info.sim, vehicle_id=info.vehicle_id, plate=info.plate,
                       received_at=self.received_at, serial=serial, table=info.alarm_table,
                       backfill=backfill, source=source)
        self._records.append(fix)
        if fix.safety_alarms:
            self._records.extend(safety_events(fix))
        return fix

    def _location(self, msg: Message, ack: Header) -> None:
        self._fix(cast(Location, msg.body), msg.header.serial)
        self._answer(ack, OK)

    def _batch(self, msg: Message, ack: Header) -> None:
        body = cast(BatchLocation, msg.body)
        for loc in body.locations:
            self._fix(loc, msg.header.serial, body.backfill, SOURCE_BATCH)
        self._answer(ack, OK)

    def _query_answer(self, msg: Message, ack: Header) -> None:
        body = cast(LocationQueryResponse, msg.body)
        self._fix(body.location, msg.header.serial, source=SOURCE_QUERY)
        self.pending.resolve(body.reply_serial, msg.header.msg_id, OK, body)

    def _terminal_response(self, msg: Message, ack: Header) -> None:
        body = cast(TerminalResponse, msg.body)
        self.pending.resolve(body.reply_serial, msg.header.msg_id, body.result, body)

    def _params_answer(self, msg: Message, ack: Header) -> None:
        body = cast(ParamsResponse, msg.body)
        self.pending.resolve(body.reply_serial, msg.header.msg_id, OK, body)

    def _driver_identity(self, msg: Message, ack: Header) -> None:
        # Published as reported, answered like a location report: the worker owning the vehicle
        # matches the driver and opens/closes the card binding (fleet.telemetry.cards).
        identity = cast(DriverIdentity, msg.body)
        status = identity.status
        if status not in (1, 2):
            self.host.stats.error("bad_card_status")
            self._answer(ack, BAD_MESSAGE)
            return
        info = self.info
        assert info is not None
        self._records.append(CardReport(
            info.sim, info.vehicle_id, info.plate, identity.time, self.received_at, status == 1,
            identity.certificate.strip(), (identity.id_card or "").strip(), identity.name.strip(),
            identity.issuer.strip(), identity.valid_until, identity.read_result, ack.serial))
        self._answer(ack, OK)

    def _waybill(self, msg: Message, ack: Header) -> None:
        # Linked to the registry waybill by the pipeline worker, like a card report.
        body = cast(Waybill, msg.body)
        info = self.info
        assert info is not None
        self._records.append(WaybillUpload(info.sim, info.vehicle_id, info.plate,
                                           self.received_at, bytes(body.content), body.text,
                                           ack.serial))
        self._answer(ack, OK)

    def _event(self, kind: str, detail: dict[str, object] | None = None) -> TerminalEvent:
        info = self.info
        assert info is not None
        now = self.received_at
        return TerminalEvent(info.sim, info.vehicle_id, info.plate, kind, now, now, "",
                             detail or {})

    # -- commands (downlink) ---------------------------------------------------------------------
    async def send(self, msg_id: int, body: Body, timeout: float) -> DownlinkResponse:
        """Send a command and wait for the terminal's answer to it."""
        if self.info is None or self.template is None or self.close_reason is not None:
            raise TerminalOffline("terminal not connected")
        header = reply_header(self.template, msg_id, self.serial)
        frames = encode_split(header, body)
        first = self.serial
        future = self.pending.add(msg_id, ((first + i) & 0xFFFF for i in range(len(frames))))
        self._next_serial(len(frames))
        self.writer.write(b"".join(frames))
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        finally:
            self.pending.forget(future)

    # -- closing ---------------------------------------------------------------------------------
    def close(self, reason: str) -> None:
        """Close the connection; inside `feed` only once the chunk's answers are written."""
        if self.close_reason is None:
            self.close_reason = reason
            if reason != "shutdown":
                self.host.stats.error(reason)
            if not self.busy:
                self.writer.close()

    def closed(self) -> None:
        self.pending.fail_all(TerminalOffline("connection closed"))

    @property
    def terminal_ref(self) -> str:
        """How logs name the terminal: the registry id, never the SIM (a phone number)."""
        return f"#{self.info.terminal_id}" if self.info is not None else "(unauthenticated)"


HANDLERS: dict[int, Handler] = {
    0x0001: Session._terminal_response,
    0x0002: Session._heartbeat,
    0x0003: Session._logout,
    0x0100: Session._register,
    0x0102: Session._authenticate,
    0x0104: Session._params_answer,
    0x0200: Session._location,
    0x0201: Session._query_answer,
    0x0701: Session._waybill,
    0x0702: Session._driver_identity,
    0x0704: Session._batch,
}
