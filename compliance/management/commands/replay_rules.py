"""manage.py replay_rules: the rules over stored history, beside the stored violations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from compliance.replay_runs import ReplayRequestError, execute, request_replay
from compliance.runtime.replay import ReplayResult
from fleet.models import District, Enterprise, Vehicle

CST = dt.timezone(dt.timedelta(hours=8))


def _moment(text: str) -> dt.datetime:
    value = parse_datetime(text) or (parse_datetime(f"{text}T00:00:00"))
    if value is None:
        raise CommandError(f"not a date or time: {text}")
    return value if value.tzinfo else value.replace(tzinfo=CST)


class Command(BaseCommand):
    help = ("Run the rules over stored positions and events for a period (what-if by default: "
            "live violations untouched). --rebuild rewrites the period's unscreened violations.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="start", required=True,
                            help="start (YYYY-MM-DD or ISO time, Asia/Shanghai by default)")
        parser.add_argument("--to", dest="end", required=True, help="end (exclusive)")
        parser.add_argument("--plate", action="append", default=[], help="one vehicle (repeat)")
        parser.add_argument("--kind", action="append", default=[], help="vehicle kind (repeat)")
        parser.add_argument("--district", action="append", default=[],
                            help="registered district code (repeat)")
        parser.add_argument("--rule", action="append", default=[], help="only this rule")
        parser.add_argument("--set", action="append", default=[], metavar="RULE.PARAM=VALUE",
                            help="what-if threshold, e.g. overspeed.min_duration_s=60")
        parser.add_argument("--rebuild", action="store_true",
                            help="rewrite violations for the period (after a rule fix)")

    def handle(self, *args: Any, **options: Any) -> None:
        overrides: dict[str, dict[str, Any]] = {}
        for item in options["set"]:
            try:
                name, value = item.split("=", 1)
                rule, param = name.split(".", 1)
            except ValueError as exc:
                raise CommandError(f"--set wants RULE.PARAM=VALUE, got {item}") from exc
            overrides.setdefault(rule, {})[param] = value
        selection: dict[str, Any] = {}
        if options["plate"]:
            ids = list(Vehicle.objects.filter(plate__in=options["plate"])
                       .values_list("pk", flat=True))
            if len(ids) < len(options["plate"]):
                raise CommandError("unknown plate among " + ", ".join(options["plate"]))
            selection["vehicle_ids"] = ids
        if options["kind"]:
            selection["kinds"] = options["kind"]
        if options["district"]:
            selection["district_ids"] = list(District.objects.filter(
                code__in=options["district"]).values_list("pk", flat=True))
        try:
            run = request_replay(actor=None, start=_moment(options["start"]),
                                 end=_moment(options["end"]), selection=selection,
                                 overrides=overrides, rules=options["rule"],
                                 rebuild=options["rebuild"])
        except ReplayRequestError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"replay #{run.pk} started")
        run = execute(run)
        if run.state != "done":
            raise CommandError(f"replay #{run.pk} failed: {run.error}")
        self._report(run.results)

    def _report(self, results: dict[str, Any]) -> None:
        result = ReplayResult(vehicles=results["vehicles"], fixes=results["fixes"])
        for key, target in (("replayed", result.replayed), ("stored", result.stored)):
            for rule, district, enterprise, n in results[key]:
                target[(rule, district, enterprise)] = n
        self.stdout.write(f"{result.vehicles} vehicles, {result.fixes} fixes; "
                          f"written {results['written']}, removed {results['removed']}")
        self.stdout.write(f"{'rule':<26}{'replayed':>10}{'stored':>10}")
        for rule, (replayed, stored) in result.by_rule().items():
            self.stdout.write(f"{rule:<26}{replayed:>10}{stored:>10}")
        by_district: dict[int, list[int]] = {}
        for (_, district, _), n in result.replayed.items():
            by_district.setdefault(district, [0, 0])[0] += n
        for (_, district, _), n in result.stored.items():
            by_district.setdefault(district, [0, 0])[1] += n
        self._table("district", by_district, dict(District.objects.values_list("pk", "name")))
        by_enterprise: dict[int, list[int]] = {}
        for (_, _, enterprise), n in result.replayed.items():
            by_enterprise.setdefault(enterprise, [0, 0])[0] += n
        for (_, _, enterprise), n in result.stored.items():
            by_enterprise.setdefault(enterprise, [0, 0])[1] += n
        self._table("enterprise", by_enterprise,
                    dict(Enterprise.objects.filter(pk__in=by_enterprise)
                         .values_list("pk", "name")))

    def _table(self, title: str, rows: dict[int, list[int]], names: dict[int, str]) -> None:
        self.stdout.write(f"{title:<26}{'replayed':>10}{'stored':>10}")
        for pk, (replayed, stored) in sorted(rows.items(), key=lambda r: -max(r[1])):
            self.stdout.write(f"{names.get(pk, str(pk)):<26}{replayed:>10}{stored:>10}")
