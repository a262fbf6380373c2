"""Data-quality and platform rules: gps_drift records, device_fault without a fix, and
unlicensed_ride_hailing (RULES.md §2, §2a)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.engine.model import Episode

GPS_DRIFT = "gps_drift"
DEVICE_FAULT = "device_fault"
UNLICENSED_RIDE_HAILING = "unlicensed_ride_hailing"


def drift_record(at: dt.datetime, implied_kmh: float | None, reason: str) -> Episode:
    """Each drift-flagged fix is one record for the KPIs; it never becomes a case."""
    measured: dict[str, float | str] = {"reason": reason}
    if implied_kmh is not None:
        measured["implied_kmh"] = round(implied_kmh, 1)
    return Episode(GPS_DRIFT, at, at, measured=measured, thresholds={"max_kmh": 160.0})


@dataclass
class NoFixWatch:
    """ACC on and no positioned fix: a device fault after 10 minutes."""

    since: dt.datetime | None = None
    episode: Episode | None = None
    closed: list[Episode] = field(default_factory=list)


def no_fix_step(state: NoFixWatch, at: dt.datetime, *, acc_on: bool, positioned: bool,
                limit: dt.timedelta = dt.timedelta(minutes=10)) -> Episode | None:
    if positioned or not acc_on:
        if state.episode is not None:
            state.episode.end = at
            state.closed.append(state.episode)
            state.episode = None
        state.since = None
        return None
    state.since = state.since or at
    if state.episode is None and at - state.since > limit:
        state.episode = Episode(DEVICE_FAULT, state.since, measured={"fault": "no_fix"},
                                thresholds={"limit_s": limit.total_seconds()})
        return state.episode
    return None


def judge_order(*, at: dt.datetime, order_id: str, vehicle_permit_valid: bool,
                driver_permit_valid: bool, driver_id: int | None,
                bound_driver_ids: set[int]) -> Episode | None:
    """An order (or movement) by a ride-hailing car or driver without a valid permit, or by a
    driver other than the platform's registered binding for the car."""
    problems = []
    if not vehicle_permit_valid:
        problems.append("vehicle_permit")
    if driver_id is None or not driver_permit_valid:
        problems.append("driver_permit")
    elif bound_driver_ids and driver_id not in bound_driver_ids:
        problems.append("binding_mismatch")
    if not problems:
        return None
    return Episode(UNLICENSED_RIDE_HAILING, at, at,
                   measured={"order": order_id, "problems": ",".join(problems)})
