"""Publish a weekly bulletin or a monthly review (what the scheduler does on Mondays and on the
2nd), or print one to a folder:

    manage.py publish_bulletin --weekly 2026-11-09        # the week starting that Monday
    manage.py publish_bulletin --monthly 2026-10 --replace
    manage.py publish_bulletin --weekly 2026-11-09 --out /tmp/bulletins   # files only
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from compliance.bulletins import excel, pdf
from compliance.bulletins.build import build_bulletin
from compliance.bulletins.periods import Period, PeriodError, parse_month, parse_week
from compliance.bulletins.services import BulletinError, publish_bulletin


class Command(BaseCommand):
    help = "Publish (or with --out only print) a weekly bulletin or a monthly review."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--weekly", metavar="YYYY-MM-DD", help="the week's Monday")
        which.add_argument("--monthly", metavar="YYYY-MM", help="the month")
        parser.add_argument("--replace", action="store_true",
                            help="regenerate a bulletin that is already published")
        parser.add_argument("--out", type=Path, metavar="DIR",
                            help="write the PDF and the workbook here instead of publishing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = (parse_week(options["weekly"]) if options["weekly"]
                      else parse_month(options["monthly"]))
        except PeriodError as error:
            raise CommandError(str(error)) from None
        if not period.is_over(timezone.now()):
            raise CommandError(f"the period {period.start} – {period.end} is not over yet")
        if options["out"] is not None:
            self._write(period, options["out"])
            return
        try:
            bulletin = publish_bulletin(kind=period.kind, period_start=period.start,
                                        replace=options["replace"])
        except BulletinError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"published {period.slug} (revision {bulletin.revision}): "
                          f"{bulletin.pdf.name}, {bulletin.xlsx.name}")

    def _write(self, period: Period, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        data = build_bulletin(period.kind, period.start)
        for suffix, content in (("pdf", pdf.document(data)), ("xlsx", excel.workbook(data))):
            path = folder / f"{period.slug}.{suffix}"
            path.write_bytes(content)
            self.stdout.write(f"wrote {path}")
