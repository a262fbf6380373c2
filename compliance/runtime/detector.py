"""The pipeline's rule stage: called by the worker inside each batch's transaction.

Per batch: inputs grouped by vehicle and sorted by data time, fed to each vehicle's rules.
Findings are held and upserted as violations at most RULES_WRITE_EVERY_S after they were made
(at once when the worker is idle), all held ones in one set of statements, inside the batch
transaction then running: a busy worker sends those statements a few times a second, not with
each of its batches. The worker acknowledges the bus entries of a batch only once nothing is
held (fleet.telemetry.worker), so a crash loses no finding: the entries are delivered again and
the rules, restored from the checkpoint (which keeps the findings held when it was taken), make
them again; a re-delivered batch rewrites the same rows. After commit: the new violations go
to the live alert feed and, where the setting asks, a spoken warning goes to the driver.
Each vehicle's state is checkpointed about RULES_CHECKPOINT_EVERY_S after it first changed
since its last checkpoint, inside the batch transaction then running; a worker meeting a
vehicle for the first time restores its checkpoint and replays the stored data after it.
"""

from __future__ import annotations

import datetime as dt
import logging
import pickle
import time
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from time import thread_time

import psycopg
from django.conf import settings
from django.db import DatabaseError, transaction

from compliance.rule_settings import LiveSettings, Snapshot
from compliance.runtime import alerts, batch, warnings
from compliance.runtime.config import ConfigCache
from compliance.runtime.facts import Facts, load_facts
from compliance.runtime.history import load_inputs
from compliance.runtime.inputs import RuleInput
from compliance.runtime.vehicle import VehicleRules
from compliance.runtime.writer import VehicleFindings, ViolationWriter, Written
from config import native
from fleet.geo.jurisdiction import DistrictResolver
from fleet.telemetry.wire import BusRecord

log = logging.getLogger(__name__)
FindingKey = tuple[str, dt.datetime, str]  # VehicleRules.dirty's: (rule, start, episode key)
# Bump when VehicleRules (or an engine state inside it) changes shape: older checkpoints are
# then ignored (the vehicle starts afresh) instead of unpickling into a half-built object.
# Compiled and interpreted states pickle differently (slots), hence the build in the tag.
STATE_VERSION = (5, "compiled" if native.in_use() else "interpreted")

_LOAD_CHECKPOINTS = """
SELECT vehicle_id, through, state FROM compliance_rulecheckpoint WHERE vehicle_id = ANY(%s)
"""
_SAVE_CHECKPOINTS = """
INSERT INTO compliance_rulecheckpoint (vehicle_id, through, state, saved_at)
SELECT v, t, s, now() FROM unnest(%s::bigint[], %s::timestamptz[], %s::bytea[]) AS x(v, t, s)
ON CONFLICT (vehicle_id) DO UPDATE SET through = EXCLUDED.through, state = EXCLUDED.state,
    saved_at = EXCLUDED.saved_at
WHERE compliance_rulecheckpoint.through <= EXCLUDED.through
"""


class Detector:
    def __init__(self, *, live_settings: LiveSettings | None = None,
                 send_warnings: bool = True, restore: bool = True,
                 write_every_s: float | None = None) -> None:
        self.live_settings = live_settings or LiveSettings()
        self.snapshot: Snapshot = self.live_settings.snapshot
        self.configs = ConfigCache(self.snapshot)
        self.facts: Facts = Facts()
        self.writer = ViolationWriter(None)
        self.reload_facts()
        self.states: dict[int, VehicleRules] = {}
        self.send_warnings = send_warnings
        # False only for benches on synthetic days: live checkpoints must not be resumed there.
        self.restore = restore
        # Vehicles whose state changed since their last checkpoint, with the (monotonic) time
        # of that first change, oldest first: each is saved RULES_CHECKPOINT_EVERY_S after it,
        # so the saves spread over the batches. All at once every interval was 12k pickles
        # (~1 s) in one batch, a latency spike, and in a short bench run a cost that fell in
        # the measured window or not.
        self._pending: dict[int, float] = {}
        # Vehicles with findings not written yet, with the (monotonic) time the first of them
        # was held, oldest first: all are written once the oldest is write_every_s old.
        self._held: dict[int, float] = {}
        self.write_every_s = (settings.RULES_WRITE_EVERY_S if write_every_s is None
                              else write_every_s)
        self._clock = time.monotonic()
        self.findings_written = 0
        # Findings written in the transaction running, by state: forgotten once it commits.
        self._written: list[tuple[VehicleRules, list[FindingKey]]] = []
        # CPU seconds of this thread by step of the batch (StageClock), and the records they
        # are for: what the ingest bench reports of the rule stage, steadier than throughput.
        self.stage_cpu: Counter[str] = Counter()
        self.stage_records = 0
        self.rule_faults = 0  # vehicles whose rules raised (logged; their state started afresh)
        self.unwritable = 0  # findings the database refused (logged, dropped: a bug)
        from compliance.live import prepare  # imported where used, as in _after_commit

        prepare()

    # -- freshness ----------------------------------------------------------------------------
    def refresh(self) -> None:
        snapshot = self.live_settings.refresh()
        changed = snapshot is not self.snapshot
        if changed:
            self.snapshot = snapshot
            self.configs = ConfigCache(snapshot)
        if changed or time.monotonic() - self._facts_loaded >= settings.RULES_FACTS_REFRESH_S:
            self.reload_facts()

    def reload_facts(self) -> None:
        self.facts = load_facts(self.snapshot, geometry=self.facts.geometry)
        self.alert_names = alerts.AlertNames.load()
        # District boundaries too: an edited boundary reaches the pipeline with the facts.
        self.writer = ViolationWriter(DistrictResolver.from_db())
        self._facts_loaded = time.monotonic()

    def forget_all(self) -> None:
        """A shard was lost: another worker owns some of these vehicles now. Whatever comes
        back later restores from the checkpoints."""
        self.states.clear()
        self._pending.clear()
        self._held.clear()

    # -- the batch ----------------------------------------------------------------------------
    def process(self, conn: psycopg.Connection, records: Sequence[BusRecord],
                fix_flags: Sequence[int | None] | None = None) -> list[Written]:
        """Inside the batch transaction. ``fix_flags``, by record, are the quality flags the
        store gave each fix (the worker's batch): drift is then what is stored, as in a
        replay; without them the rules judge the ranges and implied speed themselves.
        Returns the rows written (the live alerts are sent on commit; the caller says
        ``committed()`` once the transaction has)."""
        self._written = []  # any before are of a transaction that did not commit
        lap = StageClock(self.stage_cpu)
        self.refresh()
        self._clock = time.monotonic()
        per_vehicle, unreadable = batch.group_inputs(records, fix_flags)
        self.rule_faults += unreadable
        lap("group")
        unknown, unseen = batch.new_vehicles(per_vehicle, self.facts, self.states)
        if unknown:
            self.reload_facts()  # a vehicle registered since the last load
        if unseen and self.restore:
            firsts = {v: min(i.time for i in per_vehicle[v]) for v in unseen}
            self._restore(conn, firsts)
        lap("restore")
        self.facts.geometry.warm(*batch.places(per_vehicle, self.facts))
        lap("warm")
        faults, with_findings = batch.feed_all(self.states, per_vehicle, self.facts,
                                               self.configs, self._pending, self._clock)
        self.rule_faults += faults
        for vehicle_id in with_findings:
            self._held.setdefault(vehicle_id, self._clock)
        lap("rules")
        written_for: list[int] = []
        written: list[Written] = []
        if self._held and self._clock - next(iter(self._held.values())) >= self.write_every_s:
            written_for, written = self._write_held(conn)
        lap("write")
        self.checkpoint(conn, changed_before=self._clock - settings.RULES_CHECKPOINT_EVERY_S,
                        written_for=written_for)
        lap("checkpoint")
        self.stage_records += len(records)
        return written

    @property
    def holding(self) -> bool:
        """Whether findings are held, not yet written (their bus entries must stay unacked)."""
        return bool(self._held)

    def flush(self, conn: psycopg.Connection) -> list[Written]:
        """Write every finding held, now (inside the caller's transaction): the worker calls
        this when it has nothing else to do, or before it stops or gives up shards."""
        self._written = []
        return self._write_held(conn)[1]

    def committed(self) -> None:
        """The transaction of the last ``process`` or ``flush`` committed: what it wrote is
        forgotten, and a vehicle with nothing left to write is no longer held. Said by the
        worker, not left to an on-commit hook: it asks ``holding`` right after the commit to
        decide what to acknowledge. Not said, nothing is lost: the findings are written
        again (the same rows)."""
        for state, keys in self._written:
            self._forget(state, keys)
        self._written = []

    def _forget(self, state: VehicleRules, keys: list[FindingKey]) -> None:
        for key in keys:
            state.dirty.pop(key, None)
        if not state.dirty:
            self._held.pop(state.vehicle_id, None)

    def feed(self, vehicle_id: int, items: Iterable[RuleInput]) -> None:
        """One vehicle's inputs, in time order (a restore's backlog, a bench, a test)."""
        outcome = batch.feed_vehicle(self.states, vehicle_id, items, self.facts, self.configs)
        if outcome == batch.FAULT:
            self.rule_faults += 1
        elif outcome == batch.FED:
            if vehicle_id not in self._pending:
                self._pending[vehicle_id] = self._clock
            if self.states[vehicle_id].dirty:
                self._held.setdefault(vehicle_id, self._clock)

    def _write_held(self, conn: psycopg.Connection) -> tuple[list[int], list[Written]]:
        """Every held finding, in one set of statements. Returns (the vehicles written, the
        rows)."""
        findings: list[VehicleFindings] = []
        pending: list[tuple[VehicleRules, list[FindingKey]]] = []
        for vehicle_id in list(self._held):
            state = self.states.get(vehicle_id)
            vehicle = self.facts.vehicles.get(vehicle_id)
            if state is None or not state.dirty:  # its rules faulted and started afresh
                del self._held[vehicle_id]
            elif vehicle is None:
                log.warning("vehicle %s left the registry with %d findings unwritten; "
                            "they cannot be written", vehicle_id, len(state.dirty))
                state.dirty.clear()
                del self._held[vehicle_id]
            else:
                config = self.configs.get(vehicle.district_id, vehicle.kind)
                findings.append(VehicleFindings(vehicle_id, list(state.dirty.values()),
                                                config.effective, state.last_report))
                pending.append((state, list(state.dirty)))
        if not findings:
            return [], []
        try:
            with transaction.atomic():  # a savepoint: a refused write leaves the batch whole
                written = self.writer.write_many(conn, findings, self.facts)
        except (DatabaseError, psycopg.Error):
            written = self._write_one_by_one(conn, findings, pending)
        else:
            # Written in this transaction; forgotten only once it commits (committed(): a
            # rolled-back batch is retried and must write them again).
            self._written.extend(pending)
        self.findings_written += len(written)
        if written:
            transaction.on_commit(lambda: self._after_commit(written))
        return [item.vehicle_id for item in findings], written

    def _write_one_by_one(self, conn: psycopg.Connection, findings: list[VehicleFindings],
                          pending: list[tuple[VehicleRules, list[FindingKey]]],
                          ) -> list[Written]:
        """After a refused write: each vehicle's findings on their own. A finding the database
        refuses is a bug (a value it cannot store); held, it would be tried again and again
        and hold back every other and the stream's acknowledgements with it. So a vehicle
        whose findings are refused has them logged and dropped (``unwritable``)."""
        written: list[Written] = []
        for item, (state, keys) in zip(findings, pending, strict=True):
            try:
                with transaction.atomic():
                    written += self.writer.write_many(conn, [item], self.facts)
            except (DatabaseError, psycopg.Error):
                log.exception("the findings of vehicle %s cannot be written and are dropped: %s",
                              item.vehicle_id, keys)
                self.unwritable += len(keys)
                self._forget(state, keys)
                continue
            self._written.append((state, keys))
        return written

    # -- checkpoints --------------------------------------------------------------------------
    def checkpoint(self, conn: psycopg.Connection, changed_before: float | None = None,
                   written_for: Collection[int] = ()) -> int:
        """Save the states changed since their last checkpoint (only those whose first change
        came before ``changed_before``, if given). A state keeps its findings not yet written,
        so that a worker resuming from it writes them; those of ``written_for`` were written in
        this same transaction. Returns how many were saved."""
        due = []
        for vehicle_id, changed in self._pending.items():  # oldest first: stop at the first new
            if changed_before is not None and changed > changed_before:
                break
            due.append(vehicle_id)
        if not due:
            return 0
        ids, throughs, blobs = [], [], []
        for vehicle_id in due:
            del self._pending[vehicle_id]
            state = self.states.get(vehicle_id)
            if state is None or state.through is None:
                continue
            dirty = state.dirty
            if vehicle_id in written_for:
                state.dirty = {}  # written in this same transaction
            try:
                blobs.append(pickle.dumps((STATE_VERSION, state),
                                          protocol=pickle.HIGHEST_PROTOCOL))
            finally:
                state.dirty = dirty
            ids.append(vehicle_id)
            throughs.append(state.through)
        if ids:
            with psycopg.Cursor(conn) as cursor:
                cursor.execute(_SAVE_CHECKPOINTS, (ids, throughs, blobs), binary=True)
        return len(ids)

    def _restore(self, conn: psycopg.Connection, firsts: dict[int, dt.datetime]) -> None:
        with conn.cursor() as cursor:
            cursor.execute(_LOAD_CHECKPOINTS, (list(firsts),))
            rows = cursor.fetchall()
        horizon = dt.timedelta(hours=settings.RULES_CATCH_UP_HOURS)
        for vehicle_id, through, blob in rows:
            try:
                version, state = pickle.loads(blob)  # our own table, written by us
            except Exception:  # an unreadable checkpoint starts afresh
                version = None
            if version != STATE_VERSION:
                log.warning("checkpoint of vehicle %s from another version or build (%s); "
                            "starting afresh", vehicle_id, version)
                continue
            self.states[vehicle_id] = state
            first = firsts[vehicle_id]
            if through < first:
                # What the previous owner processed after its checkpoint (or never did).
                start = max(through, first - horizon)
                # Its findings are written with the batch's (the same states' dirty sets).
                backlog = load_inputs(conn, [vehicle_id], start, first).get(vehicle_id, [])
                self.feed(vehicle_id, backlog)

    # -- after commit -------------------------------------------------------------------------
    def _after_commit(self, written: list[Written]) -> None:
        new = [w for w in written if w.inserted]
        if not new:
            return
        alerts.publish(new, self.alert_names)  # best effort, never raises: rows are committed
        if self.send_warnings:
            for item in new:
                if item.tts:
                    warnings.warn_driver(item, self.facts, self.states.get(item.vehicle_id))


class StageClock:
    """Adds the CPU time of this thread since the previous lap to ``totals[step]``: a system
    call per step of a batch, not per record."""

    def __init__(self, totals: Counter[str]) -> None:
        self.totals = totals
        self.last = thread_time()

    def __call__(self, step: str) -> None:
        now = thread_time()
        self.totals[step] += now - self.last
        self.last = now
