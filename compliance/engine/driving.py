"""Driving vs stopped between consecutive fixes (RULES.md §2a)."""

from __future__ import annotations

import datetime as dt

from compliance.engine.model import RuleFix
from fleet.geo.distance import haversine_km

DRIVING_KMH = 5.0
SILENCE = dt.timedelta(minutes=5)


def distance_km(a: RuleFix, b: RuleFix) -> float:
    return haversine_km(a.lat, a.lon, b.lat, b.lon)


def is_driving(previous: RuleFix, current: RuleFix, *, driving_kmh: float = DRIVING_KMH,
               silence: dt.timedelta = SILENCE) -> bool:
    """The interval (previous, current] is driving when the later fix's speed is ≥ 5 km/h;
    across a silence longer than 5 minutes, when the straight-line displacement implies ≥ 5
    km/h."""
    gap = current.time - previous.time
    if gap > silence:
        hours = gap.total_seconds() / 3600
        return distance_km(previous, current) / hours >= driving_kmh
    return current.speed_kmh >= driving_kmh
