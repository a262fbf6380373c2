"""Counts of what the registry holds: by model, vehicle kind, certificate and waybill state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, QuerySet

from fleet.models import (
    BusLine,
    BusStop,
    Certificate,
    CoachLine,
    District,
    Driver,
    DriverVehicleBinding,
    Enterprise,
    RoadSegment,
    Terminal,
    Vehicle,
    Waybill,
    WaybillGoods,
    Zone,
)

_MODELS = (District, Enterprise, Vehicle, Driver, Certificate, Terminal, DriverVehicleBinding,
           RoadSegment, Zone, BusLine, BusStop, CoachLine, Waybill, WaybillGoods)


def _by(queryset: QuerySet[Any], field: str) -> dict[str, int]:
    rows = queryset.values(field).annotate(n=Count("pk")).order_by(field)
    return {str(row[field]): row["n"] for row in rows}


def summary(*, on: dt.date | None = None) -> dict[str, dict[str, int]]:
    """Counts by model and by vehicle kind (plus a few breakdowns the demo promises).

    ``on`` is the date certificates are judged on (today in the bureau's time zone by default).
    """
    return {
        "models": {model._meta.object_name: model.objects.count() for model in _MODELS},
        "vehicles_by_kind": _by(Vehicle.objects.all(), "kind"),
        "enterprises_by_kind": _by(Enterprise.objects.all(), "kind"),
        "certificates_by_state": _by(Certificate.objects.with_state(on), "state"),
        "waybills_by_state": _by(Waybill.objects.all(), "state"),
        "zones_by_kind": _by(Zone.objects.all(), "kind"),
        "roads_by_class": _by(RoadSegment.objects.all(), "road_class"),
        "coach_lines_by_service_type": _by(CoachLine.objects.all(), "service_type"),
        "lines": {
            "night_ban_exempt": CoachLine.objects.filter(night_ban_exempt=True).count(),
            "buses_on_a_line": Vehicle.objects.filter(bus_line__isnull=False).count(),
            "coaches_on_a_line": Vehicle.objects.filter(coach_line__isnull=False).count(),
        },
        "active_terminals": {"count": Terminal.objects.filter(active=True).count()},
    }


def format_summary(data: dict[str, dict[str, int]]) -> str:
    lines = []
    for section, counts in data.items():
        body = ", ".join(f"{key} {value:,}" for key, value in counts.items()) or "none"
        lines.append(f"{section}: {body}")
    return "\n".join(lines)
