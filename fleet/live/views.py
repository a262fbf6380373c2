"""The live map page and its initial snapshot (updates then arrive over the websocket)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from fleet import selectors
from fleet.models import Enterprise, VehicleState
from fleet.models.registry import VehicleKind
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
