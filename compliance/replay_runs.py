"""Replay runs requested from the portal or the command line: queue, run, record progress.

A run is a ReplayRun row; the scheduler picks queued runs one at a time (a replay reads a lot of
history, and two at once would only halve each other's speed) and writes progress as it goes,
which the portal's progress bar polls.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from compliance.catalogue import RULES, validate_params
from compliance.models import ReplayRun
from compliance.models.replay import ReplayState
from compliance.runtime.replay import replay, select_vehicles

log = logging.getLogger(__name__)
MAX_PERIOD = dt.timedelta(days=31)


class ReplayRequestError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def request_replay(*, actor: User | None, start: dt.datetime, end: dt.datetime,
                   selection: dict[str, Any], overrides: dict[str, dict[str, Any]],
                   rules: list[str], rebuild: bool) -> ReplayRun:
    """Validate and queue a run (one transaction, one audit row)."""
    if end <= start:
        raise ReplayRequestError("bad_period", "the period must end after it starts")
    if end - start > MAX_PERIOD:
        raise ReplayRequestError("period_too_long", "a replay covers at most 31 days")
    unknown = [r for r in [*rules, *overrides] if r not in RULES]
    if unknown:
        raise ReplayRequestError("unknown_rule", f"unknown rules: {', '.join(unknown)}")
    if rebuild and overrides:
        raise ReplayRequestError("rebuild_with_overrides",
                                 "a rebuild uses the settings in force, not what-if thresholds")
    cleaned: dict[str, dict[str, Any]] = {}
    for rule, values in overrides.items():
        params = {k: v for k, v in values.items() if k != "enabled"}
        try:
            full = validate_params(rule, params)
        except ValueError as exc:
            raise ReplayRequestError("bad_threshold", str(exc)) from exc
        cleaned[rule] = {k: full[k] for k in params}
        if "enabled" in values:
            cleaned[rule]["enabled"] = str(values["enabled"]).lower() in ("1", "true", "yes")
    with transaction.atomic():
        run = ReplayRun.objects.create(created_by=actor, period_start=start, period_end=end,
                                       selection=selection, overrides=cleaned, rules=rules,
                                       rebuild=rebuild)
        audit.record(actor=actor, action="replay.request", object_type="replay_run",
                     object_id=run.pk, detail={"start": start.isoformat(),
                                               "end": end.isoformat(), "rebuild": rebuild,
                                               "rules": rules, "overrides": cleaned})
    return run


def execute(run: ReplayRun) -> ReplayRun:
    """Run a queued replay to the end, recording progress; failures are recorded, not raised."""
    claimed = ReplayRun.objects.filter(pk=run.pk, state=ReplayState.QUEUED).update(
        state=ReplayState.RUNNING, started_at=timezone.now())
    if not claimed:
        run.refresh_from_db()
        return run  # another scheduler took it
    vehicle_ids = select_vehicles(run.selection)
    ReplayRun.objects.filter(pk=run.pk).update(total_vehicles=len(vehicle_ids))

    def progress(done: int, total: int, fixes: int) -> None:
        ReplayRun.objects.filter(pk=run.pk).update(done_vehicles=done, fixes=fixes)

    try:
        result = replay(start=run.period_start, end=run.period_end, vehicle_ids=vehicle_ids,
                        overrides=run.overrides, rules=run.rules or None, rebuild=run.rebuild,
                        progress=progress)
    except Exception as exc:
        log.exception("replay run %s failed", run.pk)
        ReplayRun.objects.filter(pk=run.pk).update(state=ReplayState.FAILED, error=str(exc),
                                                   finished_at=timezone.now())
    else:
        ReplayRun.objects.filter(pk=run.pk).update(
            state=ReplayState.DONE, results=result.as_json(), fixes=result.fixes,
            done_vehicles=len(vehicle_ids), finished_at=timezone.now())
    run.refresh_from_db()
    return run


def run_queued() -> int:
    """Scheduler job: run every queued replay, oldest first."""
    done = 0
    while run := ReplayRun.objects.filter(state=ReplayState.QUEUED).order_by("created_at").first():
        execute(run)
        done += 1
    return done
