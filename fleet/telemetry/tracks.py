"""Reading a vehicle's stored track for playback (positions and the terminal events)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection

from fleet.models import TerminalEventLog, Vehicle
from fleet.telemetry.schema import FLAG_DRIFT, FLAG_POSITIONED, POSITIONS_TABLE

MAX_WINDOW = dt.timedelta(hours=24)
MAX_POINTS = 20_000


def track(vehicle: Vehicle, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Positioned, non-drift fixes of the window in time order, plus the events in it.

    The window is capped at 24 h and the points at 20,000 (a fix every 5 s for a day), so one
    request can never pull a month of data into a browser."""
    end = min(end, start + MAX_WINDOW)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT fix_time, longitude, latitude, speed_kmh, heading, flags "
            f"FROM {POSITIONS_TABLE} WHERE vehicle_id = %s AND fix_time >= %s AND fix_time < %s "
            f"AND flags & %s <> 0 AND flags & %s = 0 ORDER BY fix_time LIMIT %s",
            [vehicle.pk, start, end, FLAG_POSITIONED, FLAG_DRIFT, MAX_POINTS])
        points = [{"t": t.isoformat(), "lon": lon, "lat": lat, "speed": round(speed, 1),
                   "heading": heading} for t, lon, lat, speed, heading, _flags in cursor.fetchall()]
    events = [{"t": e.time.isoformat(), "kind": e.kind, "code": e.code}
              for e in TerminalEventLog.objects.filter(vehicle=vehicle, time__gte=start,
                                                       time__lt=end).order_by("time")[:2000]]
    return {"start": start.isoformat(), "end": end.isoformat(), "points": points,
            "events": events, "truncated": len(points) == MAX_POINTS}
