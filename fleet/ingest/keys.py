from __future__ import annotations

import hashlib
import secrets

from django.db import transaction

from accounts import audit
from accounts.models import User
from fleet.models import Enterprise, IngestSource


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def create_source(*, name: str, enterprise: Enterprise | None, actor: User | None,
                  ) -> tuple[IngestSource, str]:
    """Create a source and return it with its key; the key is shown once and never stored."""
    key = secrets.token_urlsafe(32)
    source = IngestSource.objects.create(name=name, key_hash=hash_key(key), enterprise=enterprise)
    audit.record(actor=actor, action="ingest_source_create", object_type="ingest_source",
                 object_id=source.pk, detail={"name": name})
    return source, key


@transaction.atomic
def rotate_key(*, source: IngestSource, actor: User | None) -> str:
    """Give ``source`` a new key (the old one stops working at once); return it."""
    key = secrets.token_urlsafe(32)
    source.key_hash = hash_key(key)
    source.save(update_fields=["key_hash"])
    audit.record(actor=actor, action="ingest_source_rotate", object_type="ingest_source",
                 object_id=source.pk, detail={"name": source.name})
    return key
