"""Disconnection events ("offline"), published in batches by one background task.

Publishing each one from its connection handler with a short timeout lost thousands when a
whole fleet disconnected at once (a gateway restart, a network blip: the soak bench saw 6,167 of
11,971 dropped). Here handlers only queue the event; the task publishes what has gathered as one
batch, and keeps it to try again when the sink refuses. Only a queue already holding
`max_pending` events drops (counted as `event_dropped`). Order against the same terminal's later
events does not matter: the pipeline logs these events with their own times, and online/offline
state is derived from fixes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from fleet.gateway.records import Record, TerminalEvent
from fleet.gateway.stats import GatewayStats

log = logging.getLogger(__name__)
BATCH = 5000
RETRY_S = 1.0


class OfflineEvents:
    def __init__(self, publish: Callable[[Sequence[Record]], Awaitable[None]],
                 stats: GatewayStats, *, max_pending: int = 100_000,
                 linger_s: float = 0.1) -> None:
        self._publish = publish
        self._stats = stats
        self._pending: deque[TerminalEvent] = deque()
        self._max_pending = max_pending
        self._linger_s = linger_s
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, event: TerminalEvent) -> None:
        if len(self._pending) >= self._max_pending:
            self._stats.error("event_dropped")
            return
        self._pending.append(event)
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._linger_s)  # let a burst gather into one batch
            self._wake.clear()
            while self._pending:
                if not await self.publish_some():
                    await asyncio.sleep(RETRY_S)

    async def publish_some(self) -> bool:
        """Publish up to BATCH queued events; False (events kept) when the sink refused."""
        batch = [self._pending[i] for i in range(min(BATCH, len(self._pending)))]
        try:
            await self._publish(batch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._stats.error("event_publish_failed")
            log.warning("%d offline events not published yet: %s", len(batch),
                        type(exc).__name__)
            return False
        for _ in batch:
            self._pending.popleft()
        self._stats.published(batch)
        return True

    async def flush(self, timeout: float) -> None:
        """On shutdown: one more attempt for what is queued, bounded in time."""
        try:
            async with asyncio.timeout(timeout):
                while self._pending and await self.publish_some():
                    pass
        except TimeoutError:
            pass
        if self._pending:
            log.warning("%d offline events not published at shutdown", len(self._pending))
