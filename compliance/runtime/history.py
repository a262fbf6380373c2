"""Stored data as rule inputs: what a replay feeds, and what a worker taking over a shard
replays after a vehicle's checkpoint. Same shapes and order as live (inputs.order_key)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence

import psycopg

from compliance.runtime.inputs import (
    AlarmIn,
    FixIn,
    MeterIn,
    OrderIn,
    RuleInput,
    SignIn,
    SignOut,
    stored_items,
    video_flags,
)
from compliance.runtime.inputs import order_key as _order_key
from fleet.telemetry.schema import POSITIONS_TABLE

_FIXES = f"""
SELECT vehicle_id, fix_time, longitude, latitude, speed_kmh, status, alarm, flags, items
FROM {POSITIONS_TABLE}
WHERE vehicle_id = ANY(%(ids)s) AND fix_time > %(a)s AND fix_time < %(b)s
ORDER BY vehicle_id, fix_time
"""
_EVENTS = """
SELECT vehicle_id, time, kind, code, detail FROM fleet_terminaleventlog
WHERE vehicle_id = ANY(%(ids)s) AND time > %(a)s AND time < %(b)s
  AND kind IN ('safety_alarm', 'card_in', 'card_out')
"""
_METER = """
SELECT vehicle_id, boarded_at, alighted_at, trip_number FROM fleet_metertrip
WHERE vehicle_id = ANY(%(ids)s) AND alighted_at > %(a)s AND alighted_at < %(b)s
"""
_ORDERS = """
SELECT vehicle_id, time, order_id, driver_id_number FROM fleet_ridehailingorder
WHERE vehicle_id = ANY(%(ids)s) AND time > %(a)s AND time < %(b)s
"""


def _date(value: object) -> dt.date | None:
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def load_inputs(conn: psycopg.Connection, vehicle_ids: Sequence[int], start: dt.datetime,
                end: dt.datetime) -> dict[int, list[RuleInput]]:
    """Every stored input of these vehicles strictly inside (start, end), per vehicle in the
    order the rules must see them."""
    params = {"ids": list(vehicle_ids), "a": start, "b": end}
    out: dict[int, list[RuleInput]] = defaultdict(list)
    with conn.cursor() as cursor:
        cursor.execute(_FIXES, params)
        for vehicle_id, time, lon, lat, speed, status, alarm, flags, items in cursor:
            video_lost, occluded = video_flags(stored_items(items))
            out[vehicle_id].append(FixIn(time, lon, lat, float(speed), int(status), int(alarm),
                                         False, int(flags), in_ranges=None,
                                         video_lost=video_lost, occluded=occluded))
        cursor.execute(_EVENTS, params)
        for vehicle_id, time, kind, code, detail in cursor:
            # Django's connection leaves jsonb undecoded (it decodes in the ORM).
            detail = json.loads(detail) if isinstance(detail, str) else detail or {}
            if kind == "safety_alarm":
                flag = detail.get("flag", 0)
                out[vehicle_id].append(AlarmIn(time, code, flag if isinstance(flag, int) else 0))
            elif kind == "card_in":
                out[vehicle_id].append(SignIn(time, detail.get("driver_id"),
                                              detail.get("certificate_number") or "",
                                              _date(detail.get("certificate_valid_until"))))
            else:
                out[vehicle_id].append(SignOut(time))
        cursor.execute(_METER, params)
        for vehicle_id, boarded, alighted, number in cursor:
            out[vehicle_id].append(MeterIn(alighted, boarded, alighted, number))
        cursor.execute(_ORDERS, params)
        for vehicle_id, time, order_id, id_number in cursor:
            out[vehicle_id].append(OrderIn(time, order_id, id_number))
    for items in out.values():
        items.sort(key=_order_key)
    return out
