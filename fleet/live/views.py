"""The live map page and its initial snapshot (updates then arrive over the websocket)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from fleet import selectors
from fleet.models import Enterprise, Vehicle, VehicleState
from fleet.models.registry import VehicleKind
from fleet.telemetry.tracks import track
from fleet.views import registry_view


@registry_view
def live_map(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(request, "fleet/live_map.html", {
        "kinds": VehicleKind.choices,
        "kind_labels": {value: str(label) for value, label in VehicleKind.choices},
        "districts": selectors.districts(user).order_by("code"),
        "enterprises": Enterprise.objects.visible_to(user).order_by("name").only("pk", "name"),
        "map_tile_url": settings.MAP_TILE_URL,
    })


@registry_view
def live_snapshot(request: HttpRequest) -> JsonResponse:
    """Latest state of every vehicle in the user's scope (one query, compact rows)."""
    rows = (VehicleState.objects.visible_to(request.user)
            .filter(location__isnull=False)
            .values_list("vehicle_id", "vehicle__plate", "vehicle__kind",
                         "vehicle__registered_district_id", "vehicle__enterprise_id",
                         "location", "speed_kmh", "heading", "fix_time", "online", "alarm",
                         "load_state"))
    vehicles = [{
        "id": pk, "plate": plate, "kind": kind, "district": district, "enterprise": enterprise,
        "lon": round(location.x, 6), "lat": round(location.y, 6), "speed": round(speed, 1),
        "heading": heading, "time": fix_time.isoformat(), "online": online,
        "alarm": bool(alarm), "loaded": load_state != "empty",
    } for (pk, plate, kind, district, enterprise, location, speed, heading, fix_time, online,
           alarm, load_state) in rows]
    return JsonResponse({"vehicles": vehicles})


@registry_view
def vehicle_track(request: HttpRequest, pk: int) -> JsonResponse:
    """``?start=…&end=…`` (ISO, local time if naive); default: the last two hours."""
    vehicle = get_object_or_404(Vehicle.objects.visible_to(request.user), pk=pk)
    end = _parse(request.GET.get("end")) or timezone.now()
    start = _parse(request.GET.get("start")) or end - dt.timedelta(hours=2)
    if start >= end:
        return JsonResponse({"error": "start must be before end"}, status=400)
    return JsonResponse(track(vehicle, start, end))


def _parse(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed
