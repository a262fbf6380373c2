"""The case workflow's scheduler jobs (listed in fleet/scheduler.py)."""

from __future__ import annotations

import logging

from compliance.services import cases

log = logging.getLogger(__name__)


def open_violation_cases_job() -> None:
    """Every 30 s: confirmed violations without a case (the pipeline's auto-confirmed ones, and
    any the screening hook missed) become cases."""
    opened = cases.open_missing_violation_cases()
    if opened:
        log.info("opened %d case(s) for confirmed violations", opened)


def overdue_supervision_job() -> None:
    """Every minute: 督办 for every district deadline missed since the last run."""
    raised = cases.raise_overdue_supervision()
    if raised:
        log.info("raised %d automatic supervision notice(s)", len(raised))
