"""Taxi meter (计价器) trip records and where they go.

A taxi's meter records each fare (boarding and alighting time and place, distance, fare, trip
number). The platform compares them with the loaded intervals of the terminal's fixes (RULES.md
§2 `no_meter`). JT/T 808 terminals do not carry them; JT/T 905 terminals and the meter vendors'
platforms deliver them separately, so the simulator hands each record to a `MeterTripSink`.
The default sink appends JSON lines to ``var/simulator/meter-trips.jsonl``; `HttpMeterSink`
posts them to the platform's ingest API (``POST /api/v1/ingest/meter-trips``, ``Authorization:
ApiKey …``, a key from ``manage.py ingest_source NAME --key-file PATH``) from a background
thread, in batches, retrying while the platform is unavailable.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from fleet.simulator.entities import TerminalInfo
from fleet.simulator.localtime import to_datetime
from fleet.simulator.plan import MeterTrip

DEFAULT_PATH = Path("var") / "simulator" / "meter-trips.jsonl"
log = logging.getLogger(__name__)


def record(terminal: TerminalInfo, trip: MeterTrip) -> dict[str, Any]:
    """The JSON shape of one meter trip (times ISO 8601 with the +08:00 offset)."""
    return {
        "source": "simulator",
        "plate": terminal.vehicle.plate,
        "plate_colour": terminal.vehicle.plate_colour,
        "sim_number": terminal.sim,
        "trip_no": trip.trip_no,
        "boarded_at": to_datetime(trip.boarded_at).isoformat(timespec="seconds"),
        "boarded_lon": trip.boarded_lon,
        "boarded_lat": trip.boarded_lat,
        "alighted_at": to_datetime(trip.alighted_at).isoformat(timespec="seconds"),
        "alighted_lon": trip.alighted_lon,
        "alighted_lat": trip.alighted_lat,
        "distance_km": trip.distance_km,
        "fare_yuan": trip.fare_yuan,
        "waiting_s": trip.waiting_s,
    }


class MeterTripSink(Protocol):
    def write(self, terminal: TerminalInfo, trip: MeterTrip) -> None: ...

    def close(self) -> None: ...


class JsonLinesSink:
    """Appends one JSON object per line; flushed every `flush_every` records and on close."""

    def __init__(self, path: str | Path = DEFAULT_PATH, flush_every: int = 50) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._flush_every = flush_every
        self._pending = 0
        self.written = 0

    def write(self, terminal: TerminalInfo, trip: MeterTrip) -> None:
        self._file.write(json.dumps(record(terminal, trip), ensure_ascii=False) + "\n")
        self.written += 1
        self._pending += 1
        if self._pending >= self._flush_every:
            self._file.flush()
            self._pending = 0

    def close(self) -> None:
        self._file.close()


class MemorySink:
    """Keeps the records (tests, benchmarks)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, terminal: TerminalInfo, trip: MeterTrip) -> None:
        self.records.append(record(terminal, trip))

    def close(self) -> None:
        pass


def ingest_item(terminal: TerminalInfo, trip: MeterTrip) -> dict[str, Any]:
    """One item of the ingest API's meter-trips batch."""
    r = record(terminal, trip)
    return {"plate": r["plate"], "plate_colour": r["plate_colour"],
            "trip_number": f"{terminal.sim}-{trip.trip_no}", "boarded_at": r["boarded_at"],
            "alighted_at": r["alighted_at"], "board": [r["boarded_lon"], r["boarded_lat"]],
            "alight": [r["alighted_lon"], r["alighted_lat"]],
            "distance_km": f"{trip.distance_km:.2f}", "fare_yuan": f"{trip.fare_yuan:.2f}"}


class HttpMeterSink:
    """Posts meter trips to the ingest API from a daemon thread (the event loop never waits
    on HTTP). Batches of up to `batch` items at least every `every` seconds; a 503 or a network
    error keeps the batch and retries with backoff (the API is idempotent per trip); a 4xx
    answer is logged and the batch dropped. At most `capacity` trips wait; beyond, the oldest
    are dropped and counted."""

    def __init__(self, url: str, key: str, *, batch: int = 500, every: float = 2.0,
                 capacity: int = 100_000, timeout: float = 10.0) -> None:
        self.url = url
        self.key = key
        self.batch = batch
        self.every = every
        self.timeout = timeout
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=capacity)
        self.accepted = self.rejected = self.dropped = self.failures = 0
        self._thread = threading.Thread(target=self._run, name="meter-sink", daemon=True)
        self._thread.start()

    def write(self, terminal: TerminalInfo, trip: MeterTrip) -> None:
        item = ingest_item(terminal, trip)
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def close(self, wait: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(wait)

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        closing = False
        while not (closing and not pending):
            deadline = time.monotonic() + self.every
            while not closing and len(pending) < self.batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                else:
                    pending.append(item)
            backoff = 1.0
            while pending:
                if self._post(pending[: self.batch]):
                    pending = pending[self.batch:]
                    backoff = 1.0
                elif closing:
                    return  # shutting down: what is left stays unsent
                else:
                    time.sleep(backoff)
                    backoff = min(30.0, backoff * 2)

    def _post(self, items: list[dict[str, Any]]) -> bool:
        """True when the batch is done with (accepted, or refused for good)."""
        body = json.dumps({"items": items}, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"ApiKey {self.key}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code == 503 or exc.code >= 500:
                self.failures += 1
                return False
            log.warning("meter trips refused by %s: HTTP %s", self.url, exc.code)
            self.rejected += len(items)
            return True
        except (OSError, ValueError):
            self.failures += 1
            return False
        self.accepted += int(answer.get("accepted", 0))
        self.rejected += len(answer.get("rejected", ()))
        return True
