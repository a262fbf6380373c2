"""Gateway counters, their Prometheus text form, a tiny /metrics HTTP endpoint, and the JSON
snapshot written to Redis for the web portal.

Counters are plain ints and dicts mutated on the event loop (no locks: one loop per process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

PREFIX = "jt808_gateway"


def msg_label(msg_id: int) -> str:
    return f"0x{msg_id:04X}"


class GatewayStats:
    def __init__(self) -> None:
        self.started_at = time.time()
        self.connections_current = 0
        self.connections_total = 0
        self.connections_refused = 0
        self.authenticated_current = 0
        self.bytes_received = 0
        self.frames: Counter[int] = Counter()  # by message id
        self.errors: Counter[str] = Counter()  # by kind: codec error codes + gateway kinds
        self._published: Counter[type] = Counter()  # by record class (see `records`)
        self.publish_batches = 0
        self.backpressure_waits = 0  # publish attempts refused by the sink
        self.backpressure_seconds = 0.0
        self.downlinks: Counter[tuple[str, str]] = Counter()  # (message id, outcome)
        self.directory_size = 0
        self._last: tuple[float, dict[int, int]] | None = None

    # -- updates (hot path: keep them to a dict increment) -----------------------------------
    def error(self, kind: str, n: int = 1) -> None:
        self.errors[kind] += n

    def published(self, records: Sequence[Any]) -> None:
        self.publish_batches += 1
        self._published.update(map(type, records))  # counted in C, named when read

    @property
    def records(self) -> Counter[str]:
        """Records accepted by the sink, by record type name."""
        return Counter({cls.__name__: n for cls, n in self._published.items()})

    # -- Prometheus text format 0.0.4 ---------------------------------------------------------
    def render_prometheus(self) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_: str, samples: list[tuple[str, float]]) -> None:
            lines.append(f"# HELP {PREFIX}_{name} {help_}")
            lines.append(f"# TYPE {PREFIX}_{name} {kind}")
            for labels, value in samples:
                lines.append(f"{PREFIX}_{name}{labels} {_num(value)}")

        metric("connections", "gauge", "Open terminal connections.",
               [("", self.connections_current)])
        metric("authenticated_sessions", "gauge", "Connections that passed 0x0102.",
               [("", self.authenticated_current)])
        metric("connections_total", "counter", "Connections accepted.",
               [("", self.connections_total)])
        metric("connections_refused_total", "counter", "Connections refused (limit).",
               [("", self.connections_refused)])
        metric("bytes_received_total", "counter", "Bytes read from terminals.",
               [("", self.bytes_received)])
        metric("frames_total", "counter", "Decoded frames by message id.",
               [(f'{{msg_id="{msg_label(k)}"}}', v) for k, v in sorted(self.frames.items())])
        metric("errors_total", "counter", "Errors by kind.",
               [(f'{{kind="{_esc(k)}"}}', v) for k, v in sorted(self.errors.items())])
        metric("records_published_total", "counter", "Records accepted by the sink.",
               [(f'{{type="{k}"}}', v) for k, v in sorted(self.records.items())])
        metric("publish_batches_total", "counter", "Batches accepted by the sink.",
               [("", self.publish_batches)])
        metric("backpressure_waits_total", "counter",
               "Publish attempts refused by the sink (reading paused).",
               [("", self.backpressure_waits)])
        metric("backpressure_seconds_total", "counter", "Time spent waiting for the sink.",
               [("", self.backpressure_seconds)])
        metric("downlinks_total", "counter", "Platform commands by message id and outcome.",
               [(f'{{msg_id="{m}",outcome="{o}"}}', v)
                for (m, o), v in sorted(self.downlinks.items())])
        metric("directory_terminals", "gauge", "Terminals in the in-memory registry.",
               [("", self.directory_size)])
        return "\n".join(lines) + "\n"

    # -- snapshot for the portal --------------------------------------------------------------
    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """Counters plus frames/s by message id since the previous snapshot."""
        now = time.time() if now is None else now
        frames = dict(self.frames)
        rates: dict[str, float] = {}
        if self._last is not None:
            then, before = self._last
            span = max(now - then, 1e-6)
            rates = {
                msg_label(k): round((v - before.get(k, 0)) / span, 2)
                for k, v in sorted(frames.items())
            }
        self._last = (now, frames)
        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "at": now,
            "started_at": self.started_at,
            "connections": self.connections_current,
            "authenticated": self.authenticated_current,
            "connections_total": self.connections_total,
            "connections_refused": self.connections_refused,
            "bytes_received": self.bytes_received,
            "frames": {msg_label(k): v for k, v in sorted(frames.items())},
            "frames_per_s": rates,
            "errors": dict(sorted(self.errors.items())),
            "records": dict(sorted(self.records.items())),
            "backpressure_waits": self.backpressure_waits,
            "backpressure_seconds": round(self.backpressure_seconds, 3),
            "downlinks": {f"{m} {o}": v for (m, o), v in sorted(self.downlinks.items())},
            "directory_terminals": self.directory_size,
        }


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _esc(label: str) -> str:
    return label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def gateway_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def snapshot_key(prefix: str, gid: str | None = None) -> str:
    return f"{prefix}stats:{gid or gateway_id()}"


# -- /metrics endpoint ------------------------------------------------------------------------
async def _serve_http(stats: GatewayStats, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
    try:
        request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
        if path.split(b"?")[0] == b"/metrics":
            status, body = "200 OK", stats.render_prometheus().encode()
            ctype = "text/plain; version=0.0.4; charset=utf-8"
        elif path == b"/healthz":
            status, body, ctype = "200 OK", b"ok\n", "text/plain"
        else:
            status, body, ctype = "404 Not Found", b"not found\n", "text/plain"
        head = (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n")
        writer.write(head.encode() + body)
        await writer.drain()
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            ConnectionError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def start_metrics_server(stats: GatewayStats, host: str, port: int) -> asyncio.Server:
    return await asyncio.start_server(
        lambda r, w: _serve_http(stats, r, w), host, port, limit=8192
    )


# -- Redis snapshot ---------------------------------------------------------------------------
async def snapshot_loop(stats: GatewayStats, redis: Any, key: str, interval: float) -> None:
    """Write `stats.snapshot()` to `key` every `interval` s, expiring after 3 intervals so a
    dead gateway disappears from the portal."""
    ttl = max(int(interval * 3), 5)
    task = asyncio.current_task()
    while True:
        try:
            await redis.set(key, json.dumps(stats.snapshot()), ex=ttl)
        except Exception as exc:  # Redis down must not stop the gateway
            stats.error("redis")
            log.warning("gateway stats snapshot not written: %s", type(exc).__name__)
        if task is not None and task.cancelling():
            raise asyncio.CancelledError  # swallowed inside redis-py: honour it anyway
        await asyncio.sleep(interval)


def load_snapshots(redis: Any, prefix: str) -> list[dict[str, Any]]:
    """Every live gateway's snapshot (synchronous client; for the web process)."""
    keys = sorted(redis.scan_iter(match=f"{prefix}stats:*", count=100))
    out = []
    for raw in redis.mget(keys) if keys else []:
        if raw:
            with contextlib.suppress(ValueError):
                out.append(json.loads(raw))
    return out
