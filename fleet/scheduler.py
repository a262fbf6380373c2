"""The scheduler process: one place that lists every periodic job and its cadence."""

from __future__ import annotations

import functools

from apscheduler.schedulers.blocking import BlockingScheduler
from django.db import close_old_connections
from django.utils import timezone

from fleet.telemetry import jobs


def _job(function):  # type: ignore[no-untyped-def]
    """Each run gets a healthy database connection (the process lives for weeks)."""

    @functools.wraps(function)
    def run() -> None:
        close_old_connections()
        try:
            function()
        finally:
            close_old_connections()

    return run


def build_scheduler() -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="Asia/Shanghai",
                                  job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(_job(jobs.partitions_job), "interval", hours=1, id="partitions",
                      next_run_time=timezone.now())
    scheduler.add_job(_job(jobs.offline_sweep), "interval", seconds=30, id="offline_sweep")
    return scheduler

