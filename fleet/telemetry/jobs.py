"""Periodic jobs of the telemetry side; the scheduler process runs them (fleet/scheduler.py)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from fleet.models import VehicleState
from fleet.telemetry.partitions import maintain_partitions

log = logging.getLogger(__name__)


def partitions_job(now: dt.datetime | None = None) -> None:
    report = maintain_partitions(now=now or timezone.now(),
                                 ahead_days=settings.POSITION_PARTITIONS_AHEAD_DAYS,
                                 retention_days=settings.POSITION_RETENTION_DAYS)
    if report.created or report.dropped:
        log.info("position partitions: created %s, dropped %s", report.created, report.dropped)


def offline_sweep(now: dt.datetime | None = None) -> int:
    """Mark vehicles offline whose last report is older than the configured silence.

    One conditional UPDATE: a fix arriving meanwhile sets ``online`` again in the pipeline.
    """
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=settings.VEHICLE_OFFLINE_AFTER_S)
    return VehicleState.objects.filter(online=True, received_at__lt=cutoff).update(online=False)
