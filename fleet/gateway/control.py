"""Redis command channel: the web process asks the gateway to send a command to a terminal and
reads the terminal's answer back.

    web:      request_id = submit_downlink(sim=..., kind="text", data={"text": "..."})
              status = wait_downlink(request_id, timeout=8)      # or downlink_status(...)
    gateway:  ControlChannel(server, redis).run()

Requests go on one stream, `<prefix>downlink` (trimmed to ~10,000 entries), which every gateway
process reads, since the web process cannot know which one holds the terminal's connection. The
gateway holding it sends the command and records the outcome in the hash
`<prefix>downlink:<request id>` (TTL); the others mark themselves `absent:<gateway id>` there,
so when every live gateway (the ones with a stats snapshot) is absent the web side can say
"offline" at once instead of waiting for the timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fleet.gateway.downlink import DownlinkError, build_downlink
from fleet.jt808 import Jt808Error, LocationQueryResponse

if TYPE_CHECKING:
    from fleet.gateway.server import GatewayServer

log = logging.getLogger(__name__)

STREAM_MAXLEN = 10_000
FINAL = frozenset(("answered", "timeout", "offline", "error", "busy", "expired"))


def stream_key(prefix: str) -> str:
    return f"{prefix}downlink"


def result_key(prefix: str, request_id: str) -> str:
    return f"{prefix}downlink:{request_id}"


# -- gateway side -------------------------------------------------------------------------------
class ControlChannel:
    def __init__(self, server: GatewayServer, redis: Any) -> None:
        self.server = server
        self.redis = redis
        self.prefix = server.config.redis_prefix
        self.ttl = int(server.config.downlink_result_ttl_s)
        self._tasks: set[asyncio.Task[None]] = set()
        self._last: str | None = None

    async def prepare(self) -> None:
        """Fix the starting point before the server reports itself started, so a request
        submitted right after start is never mistaken for one of an earlier run. With Redis
        unreachable now, ``run`` finds the starting point once it is back."""
        try:
            newest = await self.redis.xrevrange(stream_key(self.prefix), count=1)
        except Exception:
            self.server.stats.error("redis")
            return
        self._last = str(newest[0][0]) if newest else "0-0"

    async def run(self) -> None:
        stream = stream_key(self.prefix)
        last = self._last if self._last is not None else await self._start_id(stream)
        task = asyncio.current_task()
        try:
            while True:
                try:
                    reply = await self.redis.xread({stream: last}, block=1000, count=100)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.server.stats.error("redis")
                    log.warning("control channel read failed: %s", type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                if task is not None and task.cancelling():
                    # A cancellation that lands inside a redis-py command can be swallowed
                    # there; without this check shutdown waited for this loop forever.
                    raise asyncio.CancelledError
                for _, entries in reply or []:
                    for entry_id, fields in entries:
                        last = entry_id
                        task = asyncio.create_task(self._execute(fields))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
        finally:
            for task in list(self._tasks):
                task.cancel()

    async def _start_id(self, stream: str) -> str:
        """Newest entry id now: later requests are ours, older ones belonged to earlier runs."""
        while True:
            try:
                newest = await self.redis.xrevrange(stream, count=1)
                return str(newest[0][0]) if newest else "0-0"
            except asyncio.CancelledError:
                raise
            except Exception:
                self.server.stats.error("redis")
                await asyncio.sleep(1.0)

    async def _execute(self, fields: dict[str, str]) -> None:
        key = result_key(self.prefix, fields.get("id", ""))
        try:
            await self._run_command(key, fields)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("control command failed")
            self.server.stats.error("control")

    async def _run_command(self, key: str, fields: dict[str, str]) -> None:
        server = self.server
        session = server.session(fields.get("sim", ""))
        if session is None or not session.authenticated:
            await self._store(key, {f"absent:{server.gateway_id}": "1"})
            return
        if time.time() > float(fields.get("deadline", 0)):
            await self._store(key, {"status": "expired", "gateway": server.gateway_id})
            return
        try:
            msg_id, body = build_downlink(fields.get("kind", ""), json.loads(fields["data"]))
        except (ValueError, KeyError) as exc:
            await self._store(key, {"status": "error", "detail": str(exc)[:200]})
            return
        await self._store(key, {"status": "sent", "gateway": server.gateway_id,
                                "msg_id": f"0x{msg_id:04X}"})
        timeout = max(0.1, float(fields["deadline"]) - time.time())
        try:
            response = await server.send_downlink(fields["sim"], body, timeout=timeout)
        except DownlinkError as exc:
            await self._store(key, {"status": exc.outcome, "detail": str(exc)[:200]})
            return
        except (Jt808Error, ValueError) as exc:  # e.g. a value the wire format cannot carry
            await self._store(key, {"status": "error", "detail": str(exc)[:200]})
            return
        answer: dict[str, str] = {
            "status": "answered",
            "result": str(response.result),
            "reply_id": f"0x{response.reply_id:04X}",
        }
        if isinstance(response.body, LocationQueryResponse):
            loc = response.body.location
            position = loc.position
            answer["detail"] = json.dumps({
                "time": loc.time.isoformat(),
                "latitude": None if position is None else position[0],
                "longitude": None if position is None else position[1],
                "speed_kmh": loc.speed_kmh,
            })
        await self._store(key, answer)

    async def _store(self, key: str, mapping: dict[str, str]) -> None:
        mapping = {**mapping, "updated": f"{time.time():.3f}"}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, self.ttl)
            await pipe.execute()


# -- web side (synchronous) ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DownlinkStatus:
    request_id: str
    status: str  # queued, sent, answered, timeout, offline, busy, error, expired, unknown
    result: int | None = None  # the terminal's result when answered (0 ok, 1 fail, ...)
    reply_id: str = ""
    gateway: str = ""
    detail: str = ""

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def ok(self) -> bool:
        return self.status == "answered" and self.result == 0


def _client(client: Any) -> Any:
    if client is not None:
        return client
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def _prefix(prefix: str | None) -> str:
    if prefix is not None:
        return prefix
    from django.conf import settings

    return getattr(settings, "GATEWAY_REDIS_PREFIX", "gateway:")


def submit_downlink(*, sim: str, kind: str, data: dict[str, Any], timeout: float = 10.0,
                    client: Any = None, prefix: str | None = None) -> str:
    """Queue a command for the terminal with this SIM; returns the request id.

    `kind`/`data` as in `fleet.gateway.downlink.build_downlink` (validated here too, so a bad
    request fails in the web process, not silently in the gateway).
    """
    build_downlink(kind, data)
    r, p = _client(client), _prefix(prefix)
    request_id = uuid.uuid4().hex
    ttl = int(max(timeout * 3, 60))
    pipe = r.pipeline(transaction=True)
    pipe.hset(result_key(p, request_id), mapping={"status": "queued", "kind": kind,
                                                   "updated": f"{time.time():.3f}"})
    pipe.expire(result_key(p, request_id), ttl)
    pipe.xadd(stream_key(p), {"id": request_id, "sim": sim, "kind": kind,
                              "data": json.dumps(data, ensure_ascii=False),
                              "deadline": f"{time.time() + timeout:.3f}"},
              maxlen=STREAM_MAXLEN, approximate=True)
    pipe.execute()
    return request_id


def downlink_status(request_id: str, *, client: Any = None,
                    prefix: str | None = None) -> DownlinkStatus:
    r, p = _client(client), _prefix(prefix)
    raw: dict[str, str] = r.hgetall(result_key(p, request_id))
    if not raw:
        return DownlinkStatus(request_id, "unknown")
    status = raw.get("status", "queued")
    if status == "queued":
        absent = sum(1 for k in raw if k.startswith("absent:"))
        live = sum(1 for _ in r.scan_iter(match=f"{p}stats:*", count=100))
        if absent >= live:  # every live gateway said it does not hold it (or none is live)
            status = "offline"
    result = raw.get("result")
    return DownlinkStatus(
        request_id,
        status,
        int(result) if result is not None and result.isdigit() else None,
        raw.get("reply_id", ""),
        raw.get("gateway", ""),
        raw.get("detail", ""),
    )


def wait_downlink(request_id: str, *, timeout: float = 10.0, poll: float = 0.1,
                  client: Any = None, prefix: str | None = None) -> DownlinkStatus:
    """Poll until the outcome is final or `timeout` passes (then the last status seen)."""
    r = _client(client)
    deadline = time.monotonic() + timeout
    while True:
        status = downlink_status(request_id, client=r, prefix=prefix)
        if status.final or time.monotonic() >= deadline:
            return status
        time.sleep(poll)
