from __future__ import annotations

from typing import Any

from accounts.models import AuditEvent, User


def record(*, actor: User | None, action: str, object_type: str, object_id: object = "",
           detail: dict[str, Any] | None = None) -> AuditEvent:
    """Write one audit row; call inside the service's transaction so both land or neither."""
    return AuditEvent.objects.create(actor=actor if actor and actor.pk else None, action=action,
                                     object_type=object_type, object_id=str(object_id),
                                     detail=detail or {})
