"""The alert feed's websocket: new violations of the user's scope, nothing outside it."""

from __future__ import annotations

from typing import Any

from accounts.roles import Capability
from compliance.live import groups_for_scope
from fleet.live.consumers import LiveVehiclesConsumer


class AlertsConsumer(LiveVehiclesConsumer):
    """The live map's connection rules (anonymous: 4401, without the capability: 4403, only
    the groups of the user's scope) with the alert feed's groups and messages."""

    @staticmethod
    def _groups(user: Any) -> tuple[bool, list[str]]:
        return user.can(Capability.VIEW_VIOLATIONS), groups_for_scope(user.scope)

    async def alerts_violation(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "violation", "violation": event["violation"]})

    async def alerts_reviewed(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "reviewed", "violation": event["violation"]})
