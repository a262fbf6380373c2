"""The one interface between the gateway and the ingest pipeline.

The gateway acknowledges a terminal's report only after `publish` returned, so a sink must
either accept a whole batch durably or raise `SinkUnavailable` having accepted none of it; the
gateway then stops reading from that socket and retries the same batch (backpressure), and the
terminal, seeing no acknowledgement, keeps its data. The pipeline issue provides the Redis
Streams sink; `InProcessSink` is for tests and for running the gateway without a pipeline.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

from fleet.gateway.records import Record


class SinkUnavailable(Exception):
    """The sink cannot accept records now; nothing of the batch was accepted."""


@runtime_checkable
class RecordSink(Protocol):
    async def publish(self, records: Sequence[Record]) -> None:
        """Accept every record of the batch (in order) or raise `SinkUnavailable`."""
        ...


class InProcessSink:
    """A bounded in-memory sink.

    Thread-safe, because tests drive the gateway's event loop in a background thread and read
    the records from the test thread. `set_available(False)` makes `publish` raise
    `SinkUnavailable`, which is how tests exercise backpressure. When full, `overflow="refuse"`
    (tests) refuses like an unavailable pipeline; `overflow="drop_oldest"` (running the gateway
    without a pipeline) keeps the newest `capacity` records.
    """

    def __init__(
        self, capacity: int = 100_000, overflow: Literal["refuse", "drop_oldest"] = "refuse"
    ) -> None:
        self.capacity = capacity
        self.overflow = overflow
        self._records: deque[Record] = deque(
            maxlen=capacity if overflow == "drop_oldest" else None
        )
        self._cond = threading.Condition()
        self._available = True
        self.batches = 0
        self.refused = 0

    @property
    def available(self) -> bool:
        return self._available

    def set_available(self, available: bool) -> None:
        with self._cond:
            self._available = available

    async def publish(self, records: Sequence[Record]) -> None:
        with self._cond:
            if not self._available:
                self.refused += 1
                raise SinkUnavailable("in-process sink switched off")
            if self.overflow == "refuse" and len(self._records) + len(records) > self.capacity:
                self.refused += 1
                raise SinkUnavailable(f"in-process sink full ({self.capacity} records)")
            self._records.extend(records)
            self.batches += 1
            self._cond.notify_all()

    def records(self) -> list[Record]:
        """A copy of everything accepted so far."""
        with self._cond:
            return list(self._records)

    def drain(self) -> list[Record]:
        """Take (and forget) everything accepted so far: the consumer side of the store."""
        with self._cond:
            out = list(self._records)
            self._records.clear()
            return out

    def wait_for(
        self,
        predicate: Callable[[list[Record]], bool] = bool,
        timeout: float = 5.0,
    ) -> list[Record]:
        """Block (not on the gateway's loop!) until `predicate(records)` holds; return a copy.

        Raises TimeoutError with what was received when the predicate is still false.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self._records)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"sink holds {len(self._records)} records")
                self._cond.wait(left)
            return list(self._records)
