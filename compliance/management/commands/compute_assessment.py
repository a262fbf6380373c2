"""Compute (or recompute) the monthly assessments (考评) of one or more months."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.assessment.rollup import compute_month, previous_month
from compliance.daily_quality import bureau_today

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(value: str) -> dt.date:
    match = _MONTH.match(value)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise CommandError(f"--month must be YYYY-MM, not {value!r}")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


class Command(BaseCommand):
    help = ("Compute the monthly KPIs, scores, ranks and enterprise risk grades of districts and "
            "enterprises (两客一危 vehicles) for a month, by default the previous one "
            "(Asia/Shanghai). Replaces that month's stored assessment.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", default=None,
                            help="the (last) month, YYYY-MM; default the previous month")
        parser.add_argument("--months", type=int, default=1,
                            help="this many months ending with --month (default 1)")

    def handle(self, *args: Any, **options: Any) -> None:
        last = (_month(options["month"]) if options["month"]
                else previous_month(bureau_today()))
        count: int = options["months"]
        if count < 1:
            raise CommandError("--months must be at least 1")
        if last > bureau_today().replace(day=1):
            raise CommandError(f"{last:%Y-%m} has not begun yet")
        months = [last]
        for _i in range(count - 1):
            months.append(previous_month(months[-1]))
        for month in reversed(months):  # oldest first
            started = time.perf_counter()
            rows = compute_month(month)
            self.stdout.write(f"{month:%Y-%m}: {rows} units in "
                              f"{time.perf_counter() - started:.1f} s")
