"""The asyncio TCP server: accepts terminals, runs one read loop per connection, keeps the
registry of authenticated sessions by SIM, sends commands, and shuts down gracefully.

Background tasks: the sweep (idle and authentication timeouts, 0x8003 re-requests), the
registry reload, the /metrics endpoint, the Redis stats snapshot and the Redis control channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from fleet.gateway.config import GatewayConfig
from fleet.gateway.dbworker import DbWorker
from fleet.gateway.directory import TerminalDirectory
from fleet.gateway.downlink import (
    DownlinkError,
    DownlinkResponse,
    DownlinkTimeout,
    TerminalOffline,
)
from fleet.gateway.offline import OfflineEvents
from fleet.gateway.records import Record, TerminalEvent
from fleet.gateway.session import Session
from fleet.gateway.sink import RecordSink, SinkUnavailable
from fleet.gateway.stats import (
    GatewayStats,
    gateway_id,
    msg_label,
    snapshot_key,
    snapshot_loop,
    start_metrics_server,
)
from fleet.jt808 import Body, body_msg_id
from fleet.validators import canonical_sim

log = logging.getLogger(__name__)

READ_SIZE = 64 * 1024


class GatewayServer:
    def __init__(
        self,
        config: GatewayConfig,
        sink: RecordSink,
        *,
        directory: TerminalDirectory | None = None,
        stats: GatewayStats | None = None,
        db: DbWorker | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        # `is None`, not `or`: an empty directory is falsy (it has a length).
        if directory is None:
            directory = TerminalDirectory(miss_refresh_s=config.directory_miss_refresh_s)
        self.directory = directory
        self.stats = stats if stats is not None else GatewayStats()
        self.db = db if db is not None else DbWorker()
        self.gateway_id = gateway_id()
        self._sessions: set[Session] = set()
        self._by_sim: dict[str, Session] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self._background: list[asyncio.Task[Any]] = []
        self._server: asyncio.Server | None = None
        self._metrics: asyncio.Server | None = None
        self._redis: Any = None
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.offline_events = OfflineEvents(self.sink.publish, self.stats)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, *, load_directory: bool = True) -> None:
        cfg = self.config
        self._loop = asyncio.get_running_loop()
        if load_directory:
            await self.directory.refresh(self.db.run)
        self.stats.directory_size = len(self.directory)
        self._server = await asyncio.start_server(
            self._handle, cfg.host, cfg.port, reuse_port=cfg.reuse_port or None, backlog=4096,
            limit=READ_SIZE,
        )
        self._spawn(self._sweep())
        self._spawn(self.offline_events.run())
        if cfg.directory_refresh_s > 0:
            self._spawn(self._refresh_directory())
        if cfg.metrics_port is not None:
            self._metrics = await start_metrics_server(self.stats, cfg.metrics_host,
                                                       cfg.metrics_port)
        if cfg.redis_url:
            from redis import asyncio as aioredis

            from fleet.gateway.control import ControlChannel

            self._redis = aioredis.Redis.from_url(cfg.redis_url, decode_responses=True)
            if cfg.stats_interval_s > 0:
                key = snapshot_key(cfg.redis_prefix, self.gateway_id)
                self._spawn(snapshot_loop(self.stats, self._redis, key, cfg.stats_interval_s))
            channel = ControlChannel(self, self._redis)
            await channel.prepare()
            self._spawn(channel.run())
        log.info("JT/T 808 gateway listening on %s:%s (%d terminals in the registry)",
                 cfg.host, self.port, len(self.directory))

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def metrics_port(self) -> int | None:
        if self._metrics is None or not self._metrics.sockets:
            return None
        return int(self._metrics.sockets[0].getsockname()[1])

    async def serve_until(self, stop: asyncio.Event) -> None:
        await stop.wait()
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop accepting, let connections finish the chunk they are handling (acknowledging
        what the sink accepted), close them, stop the background tasks, release resources."""
        if self._closing:
            return
        self._closing = True
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.close("shutdown")
        if self._handlers:
            _, late = await asyncio.wait(set(self._handlers), timeout=self.config.shutdown_grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for task in self._background:
            task.cancel()
        await self.offline_events.flush(self.config.shutdown_grace_s)
        if self._background:
            # Bounded: a task that does not honour its cancellation must not keep the process
            # alive (SIGTERM would then never end the gateway).
            done, stuck = await asyncio.wait(self._background,
                                             timeout=self.config.shutdown_grace_s)
            for task in done:
                if not task.cancelled():
                    task.exception()  # retrieved: a task that failed earlier is not news now
            for task in stuck:
                log.warning("background task %s did not stop on shutdown", task.get_name())
        if self._metrics is not None:
            self._metrics.close()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.delete(snapshot_key(self.config.redis_prefix, self.gateway_id))
            with contextlib.suppress(Exception):
                await self._redis.aclose()
        await asyncio.get_running_loop().run_in_executor(None, self.db.close)
        log.info("JT/T 808 gateway stopped")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._background.append(asyncio.create_task(coro))

    # -- connections -----------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats = self.stats
        if self._closing or stats.connections_current >= self.config.max_connections:
            stats.connections_refused += 1
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None and self._loop is not None
        self._handlers.add(task)
        clock = self._loop.time
        session = Session(self, writer, clock())
        self._sessions.add(session)
        stats.connections_current += 1
        stats.connections_total += 1
        try:
            while session.close_reason is None:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                now = clock()
                frames = await session.feed(data, now)
                if session.close_reason is None:
                    await session.throttle(frames, now)
                    await writer.drain()  # a terminal that does not read stops being read
        except (ConnectionError, TimeoutError):
            stats.error("connection_reset")
        except SinkUnavailable:
            pass  # shutting down with the sink unavailable: nothing was acknowledged
        except Exception:
            # Whatever a terminal sends must never take the process down.
            log.exception("terminal %s: connection handler failed", session.terminal_ref)
            stats.error("internal")
        finally:
            self._handlers.discard(task)
            self._sessions.discard(session)
            stats.connections_current -= 1
            info = session.info
            self.unbind(session)
            session.closed()
            writer.close()
            if info is not None and not self._closing:
                now = datetime.now(UTC)
                self.offline_events.add(TerminalEvent(info.sim, info.vehicle_id, info.plate,
                                                      "offline", now, now,
                                                      session.close_reason or "eof"))

    def bind(self, session: Session) -> None:
        assert session.info is not None
        sim = session.info.sim
        old = self._by_sim.get(sim)
        if old is not None and old is not session:
            # The terminal reconnected; the old socket is a half-open leftover.
            old.close("replaced")
            self.stats.authenticated_current -= 1
        elif old is session:
            return
        self._by_sim[sim] = session
        self.stats.authenticated_current += 1

    def unbind(self, session: Session) -> None:
        if session.info is not None and self._by_sim.get(session.info.sim) is session:
            del self._by_sim[session.info.sim]
            self.stats.authenticated_current -= 1

    def session(self, sim: str) -> Session | None:
        return self._by_sim.get(canonical_sim(sim))

    def connected_sims(self) -> list[str]:
        return list(self._by_sim)

    # -- the sink --------------------------------------------------------------------------------
    async def publish(self, records: Sequence[Record]) -> None:
        """Hand records to the sink, retrying (with the caller's socket unread) until accepted.

        Gives up only when the gateway shuts down, raising SinkUnavailable: the records were
        not acknowledged, so the terminals still hold them.
        """
        cfg = self.config
        delay = cfg.sink_retry_initial_s
        while True:
            try:
                await self.sink.publish(records)
            except Exception as exc:
                if not isinstance(exc, SinkUnavailable):
                    self.stats.error("sink_error")
                    log.warning("sink failed: %s", type(exc).__name__)
                if self._closing:
                    raise SinkUnavailable("gateway shutting down") from exc
                self.stats.backpressure_waits += 1
                await asyncio.sleep(delay)
                self.stats.backpressure_seconds += delay
                delay = min(delay * 2, cfg.sink_retry_max_s)
                continue
            self.stats.published(records)
            return

    # -- commands --------------------------------------------------------------------------------
    async def send_downlink(self, sim: str, body: Body, *,
                            timeout: float | None = None) -> DownlinkResponse:
        """Send a command (0x8300, 0x8600, 0x8604, 0x8201, ...) to a connected terminal and wait
        for its answer. Raises TerminalOffline, DownlinkBusy or DownlinkTimeout."""
        msg_id = body_msg_id(body)
        if msg_id is None:
            raise ValueError("send_downlink needs a typed body")
        label = msg_label(msg_id)
        session = self.session(sim)
        try:
            if session is None:
                raise TerminalOffline("terminal not connected")
            try:
                response = await session.send(msg_id, body,
                                              timeout or self.config.downlink_timeout_s)
            except TimeoutError:
                raise DownlinkTimeout("no answer from the terminal") from None
        except DownlinkError as exc:
            self.stats.downlinks[(label, exc.outcome)] += 1
            raise
        self.stats.downlinks[(label, f"result_{response.result}")] += 1
        return response

    # -- background ------------------------------------------------------------------------------
    async def _sweep(self) -> None:
        cfg = self.config
        assert self._loop is not None
        while True:
            await asyncio.sleep(cfg.sweep_interval_s)
            now = self._loop.time()
            for session in list(self._sessions):
                if session.busy or session.close_reason is not None:
                    continue
                if now - session.last_rx > cfg.idle_timeout_s:
                    session.close("idle_timeout")
                elif session.info is None and now - session.opened_at > cfg.auth_timeout_s:
                    session.close("auth_timeout")
                elif session.reassembler is not None:
                    session.poll_reassembly(now)

    async def _refresh_directory(self) -> None:
        while True:
            await asyncio.sleep(self.config.directory_refresh_s)
            with contextlib.suppress(Exception):  # logged by the directory; keep the old table
                self.stats.directory_size = await self.directory.refresh(self.db.run)
