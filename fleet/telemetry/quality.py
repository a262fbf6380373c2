"""Data-quality flags of a fix (RULES.md §3 validity, §2a drift), computed in the pipeline.

Drift needs the previous valid fix of the vehicle, which the worker keeps in memory per vehicle
(its shards own the vehicle, so no other process updates it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fleet.gateway.records import SOURCE_BATCH, Fix
from fleet.geo.distance import haversine_km
from fleet.telemetry.schema import FLAG_BACKFILL, FLAG_DRIFT, FLAG_POSITIONED, FLAG_VALID

CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_PLAUSIBLE_KMH = 160.0


@dataclass(frozen=True, slots=True)
class LastValid:
    time: dt.datetime
    longitude: float
    latitude: float


def in_valid_ranges(fix: Fix) -> bool:
    """RULES.md §3: time not in the future (+5 min), coordinates inside China's box, speed and
    altitude in range, plate and terminal known."""
    if fix.latitude is None or fix.longitude is None:
        return False
    return (fix.time <= fix.received_at + CLOCK_SKEW
            and 73.55 <= fix.longitude <= 135.08 and 3.85 <= fix.latitude <= 53.55
            and 0 <= fix.speed_kmh <= MAX_PLAUSIBLE_KMH and -200 <= fix.altitude <= 6500
            and fix.vehicle_id is not None and bool(fix.sim))


def implied_kmh(previous: LastValid, fix: Fix) -> float:
    assert fix.latitude is not None and fix.longitude is not None
    hours = abs((fix.time - previous.time).total_seconds()) / 3600
    km = haversine_km(previous.latitude, previous.longitude, fix.latitude, fix.longitude)
    if hours == 0:
        return 0.0 if km < 0.05 else float("inf")
    return km / hours


def flags_for(fix: Fix, previous: LastValid | None) -> int:
    flags = 0
    if fix.latitude is not None:
        flags |= FLAG_POSITIONED
    if fix.backfill and fix.source == SOURCE_BATCH:
        flags |= FLAG_BACKFILL
    if fix.latitude is None:
        return flags  # a report without a position: counts for online time, never drift
    if not in_valid_ranges(fix):
        return flags | FLAG_DRIFT  # RULES.md §2a: out of the §3 ranges is drift too
    if previous is not None and implied_kmh(previous, fix) > MAX_PLAUSIBLE_KMH:
        return flags | FLAG_DRIFT
    return flags | FLAG_VALID
