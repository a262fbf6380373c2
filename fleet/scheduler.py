"""The scheduler process: one place that lists every periodic job and its cadence."""

from __future__ import annotations

import functools

from apscheduler.schedulers.blocking import BlockingScheduler
from django.db import close_old_connections
from django.utils import timezone

from compliance import case_jobs, daily_quality, replay_runs
from compliance.assessment import rollup as assessment
from compliance.bulletins import jobs as bulletins
from compliance.runtime import silence, warnings
from compliance.services import checkposts
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
    # Quality figures: yesterday's final ones after midnight (late fixes are in by then), and
    # today's so far every hour.
    scheduler.add_job(_job(daily_quality.yesterday_job), "cron", hour=0, minute=20,
                      id="day_quality_yesterday")
    scheduler.add_job(_job(daily_quality.today_job), "cron", minute=5, id="day_quality_today")
    # Detection: vehicles silent > 24 h by the server clock (the one server-clock rule), the
    # terminals' answers to spoken warnings, and replays queued from the portal.
    scheduler.add_job(_job(silence.silence_job), "interval", minutes=5, id="silence_24h")
    scheduler.add_job(_job(warnings.refresh_results), "interval", seconds=30,
                      id="tts_results")
    scheduler.add_job(_job(replay_runs.run_queued), "interval", seconds=5, id="replay_runs")
    # Cases: confirmed violations without a case (auto-confirmed ones, or any the screening hook
    # missed) become cases; missed district deadlines raise 督办 (SLA clocks).
    scheduler.add_job(_job(case_jobs.open_violation_cases_job), "interval", seconds=30,
                      id="violation_cases")
    scheduler.add_job(_job(case_jobs.overdue_supervision_job), "interval", minutes=1,
                      id="overdue_supervision")
    # 查岗: tell the sender of each check-post whose answer window closed unanswered.
    scheduler.add_job(_job(checkposts.notify_missed_checkposts), "interval", minutes=1,
                      id="missed_checkposts")
    # Assessments (考评): the current month so far every night, after yesterday's quality
    # figures (00:20); the month just over for the last time on the 1st at 01:00.
    scheduler.add_job(_job(assessment.current_month_job), "cron", hour=0, minute=50,
                      id="assessment_current_month")
    scheduler.add_job(_job(assessment.previous_month_job), "cron", day=1, hour=1, minute=0,
                      id="assessment_previous_month")
    # Bulletins: last week's every Monday at 02:00, last month's review on the 2nd at 02:00
    # (a day after the month's final assessment, which the review prints).
    scheduler.add_job(_job(bulletins.weekly_job), "cron", day_of_week="mon", hour=2, minute=0,
                      id="bulletin_weekly")
    scheduler.add_job(_job(bulletins.monthly_job), "cron", day=2, hour=2, minute=0,
                      id="bulletin_monthly")
    return scheduler

