from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.roles import Capability
from fleet.live.groups import groups_for_scope


class LiveVehiclesConsumer(AsyncJsonWebsocketConsumer):
    """Streams vehicle updates for the user's scope; nothing outside it is ever sent."""

    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        allowed, groups = await database_sync_to_async(self._groups)(user)
        if not allowed:
            await self.close(code=4403)
            return
        self.groups_joined = groups
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    @staticmethod
    def _groups(user: Any) -> tuple[bool, list[str]]:
        return user.can(Capability.VIEW_REGISTRY), groups_for_scope(user.scope)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def vehicles_update(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "vehicles", "vehicles": event["vehicles"]})
