"""``manage.py ingest_source NAME [--enterprise CREDIT_CODE] [--key-file PATH]``

Creates the ingest API source NAME (or gives it a new key when it exists) and prints the key,
or writes it to --key-file (mode 0600) for a process such as the simulator to read. Keys are
stored hashed: a lost key cannot be shown again, only replaced.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet.ingest.keys import create_source, rotate_key
from fleet.models import Enterprise, IngestSource


class Command(BaseCommand):
    help = "Create an HTTP ingest source (API key) or rotate its key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--enterprise", help="limit the source to this enterprise's vehicles")
        parser.add_argument("--key-file", help="write the key here instead of printing it")

    def handle(self, *args: Any, **options: Any) -> None:
        enterprise = None
        if options["enterprise"]:
            enterprise = Enterprise.objects.filter(credit_code=options["enterprise"]).first()
            if enterprise is None:
                raise CommandError(f"no enterprise with credit code {options['enterprise']}")
        source = IngestSource.objects.filter(name=options["name"]).first()
        if source is None:
            source, key = create_source(name=options["name"], enterprise=enterprise, actor=None)
        else:
            key = rotate_key(source=source, actor=None)
        if options["key_file"]:
            path = Path(options["key_file"])
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(key + "\n")
            self.stdout.write(f"ingest source {source.name}: key written to {path}")
        else:
            self.stdout.write(key)
