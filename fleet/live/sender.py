"""Channel-layer sends from synchronous code (pipeline worker, scheduler, sync views) through one
long-lived event loop per process.

async_to_sync per message ran each send in a fresh loop, and channels_redis keeps its Redis
connections per loop, so every send paid for new connections (~7 ms): most of a busy pipeline
worker's time went there. Here every send of the process goes through one loop in a daemon
thread, in parallel (gather), and the caller waits for the batch.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0
# Sends in flight at once: redis-py's pool refuses a 101st connection ("Too many connections"),
# and a burst of alerts (three groups each) easily asks for more.
MAX_IN_FLIGHT = 32


class LayerSender:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked child inherits the attribute but not the thread: start its own.
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="channel-layer-sender",
                                 daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def send_many(self, layer: Any, messages: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """(group, message) pairs; failures are logged, never raised (the data is committed
        before anything is sent, and a live view is best effort)."""
        if layer is None or not messages:
            return
        try:
            future = asyncio.run_coroutine_threadsafe(self._send(layer, messages),
                                                      self._running_loop())
            future.result(TIMEOUT_S)
        except Exception:
            log.exception("channel-layer send of %d message(s) failed", len(messages))

    @staticmethod
    async def _send(layer: Any, messages: Sequence[tuple[str, dict[str, Any]]]) -> None:
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)

        async def one(group: str, message: dict[str, Any]) -> None:
            async with gate:
                await layer.group_send(group, message)

        results = await asyncio.gather(*(one(group, message) for group, message in messages),
                                       return_exceptions=True)
        for (group, _), result in zip(messages, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("send to %s failed: %s", group, result)


sender = LayerSender()
