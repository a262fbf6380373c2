"""The pipeline worker: owns some shards, applies their records, acknowledges after commit.

A batch's bus entries are acknowledged once it has committed and the rule stage holds no
finding unwritten (it writes them a little later, for several batches at once): until then
they stay pending, and a worker taking the shard over after a crash processes them again."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import psycopg
from django.db import DatabaseError, connection, transaction

from fleet.telemetry import cards, wire
from fleet.telemetry.bus import BusEntry, StreamBus
from fleet.telemetry.leases import ShardLeases
from fleet.telemetry.processing import BatchResult, VehicleMemory, apply_batch

log = logging.getLogger(__name__)

BatchHook = Callable[[BatchResult], None]


class RuleStage(Protocol):
    """What the worker needs of the rule stage (compliance.runtime.detector.Detector)."""

    def process(self, conn: psycopg.Connection, records: Sequence[wire.BusRecord],
                fix_flags: Sequence[int | None] | None = None) -> object: ...

    @property
    def holding(self) -> bool:
        """Whether findings are held, not yet written."""
        ...

    def flush(self, conn: psycopg.Connection) -> object:
        """Write the findings held, inside the caller's transaction."""
        ...

    def committed(self) -> None:
        """The transaction of the last process or flush committed."""
        ...

    def forget_all(self) -> None: ...


@dataclass
class WorkerStats:
    batches: int = 0
    records: int = 0
    new_fixes: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    started: float = field(default_factory=time.monotonic)
    # Seconds from the gateway reading a fix to its row being committed (recent fixes only).
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=200_000))

    def latency_percentile(self, fraction: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class PipelineWorker:
    def __init__(self, bus: StreamBus, leases: ShardLeases, *, batch_size: int = 500,
                 idle_sleep_s: float = 0.05, on_commit: BatchHook | None = None,
                 rules: RuleStage | None = None) -> None:
        self.bus = bus
        self.leases = leases
        self.batch_size = batch_size
        self.idle_sleep_s = idle_sleep_s
        self.on_commit = on_commit
        self.rules = rules
        self.memory = VehicleMemory()
        self.stats = WorkerStats()
        self._recovered: set[int] = set()  # shards whose pending entries we re-processed
        # By shard: entries of committed batches whose findings the rule stage still holds.
        self._unacked: dict[int, list[str]] = {}
        self._last_heartbeat = 0.0

    def heartbeat_if_due(self) -> None:
        interval = self.leases.ttl_ms / 3000
        if time.monotonic() - self._last_heartbeat >= interval:
            owned = self.leases.heartbeat()
            if self.rules is not None and self._recovered - owned:
                # Another worker may hold those vehicles' state now: write what is held and
                # start afresh (the states come back from the checkpoints).
                self.flush_rules()
                if self._unacked:  # the write failed: process those entries again
                    self._recovered -= set(self._unacked)
                    self._unacked.clear()
                self.rules.forget_all()
            self._recovered &= owned  # a shard lost and regained must be recovered again
            self._last_heartbeat = time.monotonic()

    @staticmethod
    def tune_gc() -> None:
        """Fewer, cheaper collections: a worker allocates many short-lived objects per batch,
        and full collections over its long-lived state stalled it for up to a second."""
        gc.collect()
        gc.freeze()
        gc.set_threshold(100_000, 50, 1000)

    def step(self) -> int:
        """One pass over the owned shards; returns how many entries were processed."""
        self.heartbeat_if_due()
        processed = 0
        for shard in sorted(self.leases.owned):
            if shard not in self._recovered:
                # Take-over or start: first the entries a previous owner read but never acked.
                while entries := self.bus.read(shard, count=self.batch_size, block_ms=None,
                                               pending=True):
                    processed += self.process(shard, entries)
                    # Acknowledged only once written: the next read of the pending entries
                    # must not meet these again.
                    self.flush_rules()
                    if self._unacked:
                        break  # not written (the database refused): tried again next step
                else:
                    self._recovered.add(shard)
            entries = self.bus.read(shard, count=self.batch_size, block_ms=None, pending=False)
            if entries:
                processed += self.process(shard, entries)
        if not processed:
            self.flush_rules()  # nothing else to do: write the held findings now
        return processed

    def flush_rules(self) -> None:
        """Write the findings the rule stage holds, then acknowledge the entries behind them.
        A database error leaves both for the next try."""
        if self.rules is not None and self.rules.holding:
            try:
                with transaction.atomic():
                    self.rules.flush(connection.connection)
            except (DatabaseError, psycopg.Error) as exc:
                log.warning("the held findings could not be written (%s); retrying", exc)
                return
            self.rules.committed()
        if self.rules is None or not self.rules.holding:
            self._ack_kept_back()

    def process(self, shard: int, entries: list[BusEntry]) -> int:
        decoded: list[tuple[BusEntry, wire.BusRecord]] = []
        for entry in entries:
            try:
                decoded.append((entry, wire.decode(entry.payload)))
            except wire.WireError as exc:
                self.bus.dead_letter(entry, str(exc))
                self.stats.dead_letters += 1
                log.warning("dead-lettered bus entry %s of shard %s: %s", entry.entry_id, shard,
                            exc)
        records = [record for _, record in decoded]
        try:
            result = self._apply(records)
        except (DatabaseError, psycopg.Error) as exc:
            # A record the database refuses (e.g. a vehicle deleted since the gateway read the
            # registry) must not block the shard: retry one by one, dead-letter the refused.
            log.warning("batch of shard %s refused (%s); retrying record by record", shard, exc)
            result = self._apply_one_by_one(decoded)
        committed = dt.datetime.now(dt.UTC)
        self.stats.latencies.extend((committed - fix.received_at).total_seconds()
                                    for fix in result.new_fixes)
        self._acknowledge(shard, [entry.entry_id for entry in entries])
        self.stats.batches += 1
        self.stats.records += len(records)
        self.stats.new_fixes += len(result.new_fixes)
        self.stats.duplicates += result.duplicate_fixes
        if self.on_commit is not None:
            self.on_commit(result)
        return len(entries)

    def _acknowledge(self, shard: int, entry_ids: list[str]) -> None:
        """A committed batch's entries: acknowledged with every one kept back before, unless
        the rule stage still holds findings (then kept back too)."""
        if self.rules is not None and self.rules.holding:
            self._unacked.setdefault(shard, []).extend(entry_ids)
            return
        self._ack_kept_back()
        self.bus.ack(shard, entry_ids)

    def _ack_kept_back(self) -> None:
        for shard, entry_ids in self._unacked.items():
            self.bus.ack(shard, entry_ids)
        self._unacked.clear()

    def _apply(self, records: list[wire.BusRecord]) -> BatchResult:
        with transaction.atomic():
            connection.ensure_connection()
            with connection.cursor() as cursor:
                # Django's foreign keys are deferred to COMMIT; check them per statement so a
                # refused record is found inside this batch, not after it.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # Card reports and waybill uploads first: the event log, the latest state and the
            # rules see them resolved (driver, binding, waybill).
            records = cards.apply_reports(connection.connection, records)
            result = apply_batch(connection.connection, records, self.memory)
            if self.rules is not None:
                # Same transaction: the rules' checkpoints and the findings they write commit
                # with the positions or not at all.
                self.rules.process(connection.connection, records, result.fix_flags)
        if self.rules is not None:
            self.rules.committed()
        return result

    def _apply_one_by_one(self, decoded: list[tuple[BusEntry, wire.BusRecord]]) -> BatchResult:
        total = BatchResult()
        for entry, record in decoded:
            try:
                result = self._apply([record])
            except (DatabaseError, psycopg.Error) as exc:
                self.bus.dead_letter(entry, f"refused by the database: {exc}")
                self.stats.dead_letters += 1
                continue
            total.new_fixes.extend(result.new_fixes)
            total.duplicate_fixes += result.duplicate_fixes
            total.events += result.events
            total.meter_trips += result.meter_trips
            total.states.update(result.states)
        return total

    def run(self, stop: threading.Event) -> None:
        self.bus.ensure_groups()
        self.tune_gc()
        try:
            while not stop.is_set():
                if not self.step():
                    stop.wait(self.idle_sleep_s)
        finally:
            self.flush_rules()
            self.leases.release_all()
