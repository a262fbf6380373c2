"""``POST /api/v1/ingest/<kind>``: JSON batches; valid items are accepted, the others are
listed back with reasons. Accepted items go onto the ingest bus like the gateway's records, so
they are stored, deduplicated and judged exactly like terminal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from fleet.gateway.records import Fix, TerminalEvent
from fleet.ingest import serializers as inputs
from fleet.ingest.auth import ApiKeyAuthentication
from fleet.models import IngestSource, Vehicle
from fleet.telemetry.bus import BusUnavailable, StreamBus
from fleet.telemetry.wire import BusRecord, MeterTripRecord, OrderRecord

SOURCE_HTTP = 0


def _bus() -> StreamBus:
    return StreamBus.from_url(settings.REDIS_URL, shards=settings.PIPELINE_SHARDS,
                              prefix=settings.BUS_PREFIX)


def _vehicle_lookup(source: IngestSource, items: list[dict[str, Any]],
                    ) -> dict[tuple[str, int], int]:
    plates = {str(item.get("plate", "")).strip().upper() for item in items}
    vehicles = Vehicle.objects.filter(plate__in=plates)
    if source.enterprise_id is not None:
        vehicles = vehicles.filter(enterprise_id=source.enterprise_id)
    return {(plate, colour): pk for pk, plate, colour
            in vehicles.values_list("pk", "plate", "plate_colour")}


def _fix(source: IngestSource, vehicle_id: int, data: dict[str, Any], now: dt.datetime) -> Fix:
    return Fix(sim=f"api:{source.pk}", vehicle_id=vehicle_id, plate=data["plate"],
               time=data["time"], received_at=now, latitude=data.get("lat"),
               longitude=data.get("lon"), speed_kmh=data["speed_kmh"], heading=data["heading"],
               altitude=data["altitude"], alarm=data["alarm"], status=data["status"], items=(),
               safety_alarms=(), backfill=False, serial=0, source=SOURCE_HTTP)


def _event(source: IngestSource, vehicle_id: int, data: dict[str, Any],
           now: dt.datetime) -> TerminalEvent:
    return TerminalEvent(sim=f"api:{source.pk}", vehicle_id=vehicle_id, plate=data["plate"],
                         kind=data["kind"], time=data["time"], received_at=now,
                         code=data["code"], detail=data["detail"])


def _meter_trip(source: IngestSource, vehicle_id: int, data: dict[str, Any],
                now: dt.datetime) -> MeterTripRecord:
    board, alight = data.get("board") or (None, None), data.get("alight") or (None, None)
    return MeterTripRecord(source=f"api:{source.pk}", vehicle_id=vehicle_id,
                           trip_number=data["trip_number"], boarded_at=data["boarded_at"],
                           alighted_at=data["alighted_at"], board_lon=board[0],
                           board_lat=board[1], alight_lon=alight[0], alight_lat=alight[1],
                           distance_km=float(data["distance_km"]),
                           fare_yuan=float(data["fare_yuan"]), received_at=now)


def _order(source: IngestSource, vehicle_id: int, data: dict[str, Any],
           now: dt.datetime) -> OrderRecord:
    fare = data.get("fare_yuan")
    return OrderRecord(source=f"api:{source.pk}", vehicle_id=vehicle_id,
                       order_id=data["order_id"], status=data["status"], time=data["time"],
                       driver_id_number=data["driver_id_number"], lon=data.get("lon"),
                       lat=data.get("lat"), fare_yuan=None if fare is None else float(fare),
                       received_at=now)


KINDS: dict[str, tuple[type, Callable[..., BusRecord]]] = {
    "fixes": (inputs.FixIn, _fix),
    "events": (inputs.EventIn, _event),
    "meter-trips": (inputs.MeterTripIn, _meter_trip),
    "orders": (inputs.OrderIn, _order),
}


@extend_schema(request=inputs.BatchIn, responses={200: dict, 400: dict, 503: dict})
@api_view(["POST"])
@authentication_classes([ApiKeyAuthentication])
@permission_classes([IsAuthenticated])
@throttle_classes([])
def ingest(request: Request, kind: str) -> Response:
    if kind not in KINDS:
        return Response({"error": "unknown_kind", "kinds": sorted(KINDS)},
                        status=status.HTTP_404_NOT_FOUND)
    batch = inputs.BatchIn(data=request.data)
    if not batch.is_valid():
        return Response({"error": "bad_batch", "detail": batch.errors},
                        status=status.HTTP_400_BAD_REQUEST)
    serializer_class, build = KINDS[kind]
    source: IngestSource = request.user  # type: ignore[assignment]
    items = batch.validated_data["items"]
    vehicles = _vehicle_lookup(source, items)
    now = timezone.now()
    records: list[BusRecord] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        serializer = serializer_class(data=item)
        if not serializer.is_valid():
            rejected.append({"index": index, "errors": serializer.errors})
            continue
        data = serializer.validated_data
        vehicle_id = vehicles.get((data["plate"], data["plate_colour"]))
        if vehicle_id is None:
            rejected.append({"index": index, "errors": {
                "plate": ["unknown vehicle" if source.enterprise_id is None
                          else "unknown vehicle or not operated by this source's enterprise"]}})
            continue
        records.append(build(source, vehicle_id, data, now))
    try:
        _bus().publish(records)
    except BusUnavailable:
        # Nothing accepted: the caller retries the whole batch (idempotent by design).
        return Response({"error": "unavailable", "accepted": 0},
                        status=status.HTTP_503_SERVICE_UNAVAILABLE)
    return Response({"accepted": len(records), "rejected": rejected},
                    status=status.HTTP_200_OK)
