"""``manage.py load_demo_city [--scale S] [--seed N] [--as-of YYYY-MM-DD] [--replace]``.

Identical output needs identical scale, seed *and* as-of date: certificate validity, waybill
times and bindings are laid out relative to the as-of date (today by default), so that some
certificates are expired or void on the day the demo runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from fleet.demo import DemoSpec, format_summary, load_demo_city, summary
from fleet.demo.writer import DemoConflict
from fleet.geo.boundaries import BoundaryError


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of must be YYYY-MM-DD, not {value!r}") from None


class Command(BaseCommand):
    help = ("Load the deterministic Panjin-sized demo city (districts, roads, zones, bus lines, "
            "enterprises, vehicles, drivers, certificates, terminals, waybills).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=float, default=1.0,
                            help="fleet size factor (1 = Panjin; 0.02 for tests; 10 for benches)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--as-of", type=_date, default=None,
                            help="date the data is laid out around (default: today, local time)")
        parser.add_argument("--replace", action="store_true",
                            help="delete the existing registry first (else a loaded DB is kept)")
        parser.add_argument("--geojson", default=None,
                            help="district boundaries (default: the shared Panjin file)")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = options["as_of"] or timezone.localdate()
        try:
            spec = DemoSpec(scale=options["scale"], seed=options["seed"], as_of=as_of)
            report = load_demo_city(spec, replace=options["replace"], geojson=options["geojson"])
        except (ValueError, BoundaryError, DemoConflict, ValidationError, OSError) as exc:
            raise CommandError(f"demo city not loaded: {exc}") from exc
        if not report.loaded:
            self.stdout.write(self.style.WARNING(report.message))
            return
        for boundary in report.boundaries:
            self.stdout.write(boundary.line())
        if report.deleted:
            self.stdout.write(f"replaced: deleted {sum(report.deleted.values()):,} rows")
        self.stdout.write(format_summary(summary(on=as_of)))
        self.stdout.write(f"validated {report.validated} sampled rows with full_clean()")
        self.stdout.write(self.style.SUCCESS(report.message))
