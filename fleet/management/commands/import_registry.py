"""manage.py import_registry KIND FILE [--dry-run] [--user USERNAME]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet.importing.columns import SPECS
from fleet.importing.service import import_registry


def resolve_user(username: str | None) -> Any:
    """The named user (their scope and capabilities apply), or ``None`` for the system."""
    if not username:
        return None
    try:
        return get_user_model().objects.get(username=username, is_active=True)
    except get_user_model().DoesNotExist:
        raise CommandError(f"no active user {username!r}") from None


class Command(BaseCommand):
    help = ("Import enterprises, vehicles, drivers, certificates or terminals from an .xlsx or "
            ".csv sheet with the bureau's Chinese headings. All-or-nothing: if any row is bad "
            "nothing is written. Exit status 1 when the file or any row is refused.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(SPECS))
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--user", help="import as this user (scope and capability "
                                           "checks apply); default: system, full scope")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        actor = resolve_user(options["user"])
        with path.open("rb") as stream:
            try:
                report = import_registry(kind=options["kind"], file=File(stream, name=path.name),
                                         actor=actor, dry_run=options["dry_run"])
            except PermissionDenied as exc:
                raise CommandError(str(exc) or "permission denied") from None
        self.stdout.write(report.as_text())
        if not report.ok:
            raise CommandError(f"{len(report.bad_rows)} bad row(s), "
                               f"{len(report.file_errors)} file error(s); nothing written")
