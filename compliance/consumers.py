"""The alert feed's websocket (new violations of the user's scope, nothing outside it) and the
notification bell's (the user's own notifications)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.models import Scope
from accounts.roles import Capability
from compliance.live import ALERTS, in_scope
from compliance.models import Notification
from compliance.services.cases.notify import user_group
from fleet.live.consumers import LiveVehiclesConsumer


class AlertsConsumer(LiveVehiclesConsumer):
    """The live map's connection rules (anonymous: 4401, without the capability: 4403) on the
    alert feed's one group; of each published message the socket sends on only the violations
    its user's scope covers, one browser message per violation."""

    alert_scope: Scope = Scope(everything=False)  # nothing, until connect() reads the user's

    def _groups(self, user: Any) -> tuple[bool, list[str]]:
        self.alert_scope = user.scope  # read once, here, where the database may be used
        return user.can(Capability.VIEW_VIOLATIONS), [ALERTS]

    def _covers(self, district_id: int, enterprise_id: int) -> bool:
        return in_scope(self.alert_scope, district_id, enterprise_id)

    async def alerts_violations(self, event: dict[str, Any]) -> None:
        for violation in event["violations"]:
            if self._covers(violation["district"]["id"], violation["enterprise_id"]):
                await self.send_json({"type": "violation", "violation": violation})

    async def alerts_reviews(self, event: dict[str, Any]) -> None:
        for review in event["violations"]:
            if self._covers(review["district_id"], review["enterprise_id"]):
                await self.send_json({"type": "reviewed", "violation": {
                    "id": review["id"], "review_status": review["review_status"]}})


class NotificationsConsumer(AsyncJsonWebsocketConsumer):
    """The header bell's connection (``ws/notify/``): the signed-in user's own group
    ``notify-user-<id>`` and nothing else, so a user can never hear another's notifications.
    Anonymous: 4401. Each push carries the user's unread count, so every open tab shows the
    same figure."""

    group: str = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def notify_message(self, event: dict[str, Any]) -> None:
        unread = await database_sync_to_async(self._unread)(self.scope["user"].pk)
        await self.send_json({"type": "notification", "notification": event["notification"],
                              "unread": unread})

    @staticmethod
    def _unread(user_id: int) -> int:
        return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()
