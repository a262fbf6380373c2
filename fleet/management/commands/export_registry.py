"""manage.py export_registry KIND OUT.xlsx [--user USERNAME]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet.importing.columns import SPECS
from fleet.importing.service import export_registry
from fleet.management.commands.import_registry import resolve_user


class Command(BaseCommand):
    help = ("Export a registry list to .xlsx with the import headings (re-imports unchanged). "
            "With --user, that user's scope applies and personal data is masked unless they "
            "may view it; without, everything is exported unmasked.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(SPECS))
        parser.add_argument("out", type=Path)
        parser.add_argument("--user", help="export as this user (scope, masking)")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        if out.suffix.lower() != ".xlsx":
            raise CommandError("the output file must end in .xlsx")
        actor = resolve_user(options["user"])
        spec = SPECS[options["kind"]]
        try:
            content = export_registry(kind=spec.kind, queryset=spec.model.objects.all(),
                                      actor=actor)
        except PermissionDenied as exc:
            raise CommandError(str(exc) or "permission denied") from None
        out.write_bytes(content)
        self.stdout.write(f"{out}: {len(content)} bytes")
