"""The live map page and its initial snapshot (updates then arrive over the websocket)."""

from __future__ import annotations

import datetime as dt

import orjson
from django.conf import settings
from django.db.models import FloatField, Func
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.gzip import gzip_page

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
@gzip_page  # ~3 MB of JSON for the whole demo city; no secrets in it (BREACH does not apply)
def live_snapshot(request: HttpRequest) -> HttpResponse:
    """Latest state of every vehicle in the user's scope (one query, compact rows). Coordinates
    come as plain numbers from PostGIS (no geometry object per row) and orjson writes the
    document: for ~12,000 vehicles the building cost more than the query."""
    rows = (VehicleState.objects.visible_to(request.user)
            .filter(location__isnull=False)
            .annotate(lon=Func("location", function="ST_X", output_field=FloatField()),
                      lat=Func("location", function="ST_Y", output_field=FloatField()))
            .values_list("vehicle_id", "vehicle__plate", "vehicle__kind",
                         "vehicle__registered_district_id", "vehicle__enterprise_id",
                         "lon", "lat", "speed_kmh", "heading", "fix_time", "online", "alarm",
                         "load_state"))
    vehicles = [{
        "id": pk, "plate": plate, "kind": kind, "district": district, "enterprise": enterprise,
        "lon": round(lon, 6), "lat": round(lat, 6), "speed": round(speed, 1),
        "heading": heading, "time": fix_time, "online": online,
        "alarm": bool(alarm), "loaded": load_state != "empty",
    } for (pk, plate, kind, district, enterprise, lon, lat, speed, heading, fix_time, online,
           alarm, load_state) in rows]
    return HttpResponse(orjson.dumps({"vehicles": vehicles}), content_type="application/json")


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
