"""Compute (or recompute) the per vehicle and day quality figures of one or more days."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.daily_quality import bureau_today, compute_day


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--day must be YYYY-MM-DD, not {value!r}") from error


class Command(BaseCommand):
    help = ("Compute the per vehicle and day data-quality figures (mileage, completeness, "
            "validity, drift, online time, overspeed, fatigue) of a day, by default yesterday "
            "(Asia/Shanghai). Safe to re-run.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", type=_day, default=None,
                            help="the (last) day, YYYY-MM-DD; default yesterday")
        parser.add_argument("--days", type=int, default=1,
                            help="this many days ending with --day (default 1)")

    def handle(self, *args: Any, **options: Any) -> None:
        last: dt.date = options["day"] or bureau_today() - dt.timedelta(days=1)
        days: int = options["days"]
        if days < 1:
            raise CommandError("--days must be at least 1")
        # Oldest first, so a long backfill shows progress in calendar order.
        for offset in range(days - 1, -1, -1):
            day = last - dt.timedelta(days=offset)
            started = time.perf_counter()
            rows = compute_day(day)
            self.stdout.write(f"{day}: {rows} vehicles in {time.perf_counter() - started:.1f} s")
