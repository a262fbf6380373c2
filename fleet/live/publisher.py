"""Pushes committed vehicle states from the pipeline worker to the channel layer.

One message per group per batch (not per fix), so a busy district gets a few messages a second
rather than thousands.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from channels.layers import get_channel_layer

from fleet.gateway.records import Fix
from fleet.live.groups import groups_for_vehicle
from fleet.live.sender import sender
from fleet.models import Vehicle

log = logging.getLogger(__name__)
ALARM_BITS_SHOWN = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True)
class VehicleInfo:
    plate: str
    kind: str
    district_id: int
    enterprise_id: int


class VehicleDirectory:
    """vehicle id → the few facts live updates need; loaded once, topped up on a miss."""

    def __init__(self) -> None:
        self._info: dict[int, VehicleInfo] = {}

    def _load(self, ids: Iterable[int] | None) -> None:
        rows = Vehicle.objects.all() if ids is None else Vehicle.objects.filter(pk__in=ids)
        for pk, plate, kind, district_id, enterprise_id in rows.values_list(
                "pk", "plate", "kind", "registered_district_id", "enterprise_id"):
            self._info[pk] = VehicleInfo(plate, kind, district_id, enterprise_id)

    def get_many(self, ids: Iterable[int]) -> dict[int, VehicleInfo]:
        ids = set(ids)
        if not self._info:
            self._load(None)
        missing = ids - self._info.keys()
        if missing:
            self._load(missing)
        return {pk: self._info[pk] for pk in ids if pk in self._info}


def vehicle_update(vehicle_id: int, info: VehicleInfo, fix: Fix) -> dict[str, object]:
    return {"id": vehicle_id, "plate": info.plate, "kind": info.kind,
            "lon": fix.longitude, "lat": fix.latitude, "speed": round(fix.speed_kmh, 1),
            "heading": fix.heading, "time": fix.time.isoformat(),
            "alarm": bool(fix.alarm & ALARM_BITS_SHOWN) or bool(fix.safety_alarms),
            "loaded": bool((fix.status >> 8) & 3), "online": True}


class LivePublisher:
    def __init__(self) -> None:
        self.directory = VehicleDirectory()
        self.layer = get_channel_layer()

    def publish(self, states: dict[int, Fix]) -> None:
        if not states or self.layer is None:
            return
        info = self.directory.get_many(states)
        by_group: dict[str, list[dict[str, object]]] = defaultdict(list)
        for vehicle_id, fix in states.items():
            if vehicle_id not in info or fix.latitude is None:
                continue
            update = vehicle_update(vehicle_id, info[vehicle_id], fix)
            for group in groups_for_vehicle(info[vehicle_id].district_id,
                                            info[vehicle_id].enterprise_id):
                by_group[group].append(update)
        sender.send_many(self.layer, [(group, {"type": "vehicles.update", "vehicles": updates})
                                      for group, updates in by_group.items()])
