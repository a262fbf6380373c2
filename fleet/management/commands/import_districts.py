"""``manage.py import_districts FILE.geojson [--parent-code 211100 --parent-name 盘锦市]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet.geo.boundaries import BoundaryError, import_districts, load_geojson, read_features


class Command(BaseCommand):
    help = ("Import district boundaries from GeoJSON (properties adcode, name): validate, repair "
            "invalid geometries, report what changed, upsert by code. All or nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="GeoJSON FeatureCollection of districts")
        parser.add_argument("--parent-code", help="code of the city the districts belong to")
        parser.add_argument("--parent-name", help="name of that city (created when missing)")
        parser.add_argument("--dry-run", action="store_true",
                            help="validate and report the repairs without writing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            features = read_features(load_geojson(options["file"]))
        except (BoundaryError, OSError) as exc:
            raise CommandError(f"nothing imported: {exc}") from exc
        for feature in features:
            self.stdout.write(feature.report.line())
        if options["dry_run"]:
            self.stdout.write("dry run: nothing written")
            return
        try:
            result = import_districts(features, parent_code=options["parent_code"],
                                      parent_name=options["parent_name"])
        except BoundaryError as exc:
            raise CommandError(f"nothing imported: {exc}") from exc
        repaired = sum(1 for f in features if f.report.changed)
        self.stdout.write(self.style.SUCCESS(
            f"{len(result.created)} created, {len(result.updated)} updated, "
            f"{repaired} repaired" + (f", under {result.parent_code}" if result.parent_code
                                      else "")))
