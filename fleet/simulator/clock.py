"""Simulated time: when a planned item is due on the wire.

* real time (`speedup=1`): simulated time runs with the wall clock from `start`;
* accelerated (`speedup=N`): N simulated seconds per real second;
* stepped: no waiting at all, every terminal sends as fast as its acknowledgements allow (tests,
  benchmarks, replaying a whole day in seconds).

The clock never shapes a plan, it only paces it; network timeouts (acks, reconnection backoff)
stay in real seconds.
"""

from __future__ import annotations

import asyncio
import time


class SimClock:
    def __init__(self, start: float | None = None, *, speedup: float = 1.0,
                 stepped: bool = False) -> None:
        if speedup <= 0:
            raise ValueError("speedup must be positive")
        self.start = time.time() if start is None else float(start)
        self.speedup = speedup
        self.stepped = stepped
        self._mono0 = time.monotonic()
        self._high = self.start  # stepped: the latest time any terminal reached

    def now(self) -> float:
        if self.stepped:
            return self._high
        return self.start + (time.monotonic() - self._mono0) * self.speedup

    async def sleep_until(self, t: float) -> None:
        if self.stepped:
            if t > self._high:
                self._high = t
            await asyncio.sleep(0)  # let the other terminals and the readers run
            return
        delay = (t - self.now()) / self.speedup
        if delay > 0:
            await asyncio.sleep(delay)
