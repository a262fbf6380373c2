"""Findings → Violation rows, inside the pipeline's batch transaction.

One row per episode: the upsert key is (vehicle, rule, start, episode key), so re-delivered or
replayed data rewrites the same row and never adds a second. The owning district is fixed when
the row is first written (the territorial principle at the episode's location, else the
vehicle's registered district); later writes only extend the episode (end, measures, track).
Evidence is taken from the store in the same transaction, so it is what the rules saw.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import psycopg

from compliance.catalogue import RULES
from compliance.engine.model import Episode
from compliance.rule_settings import Effective
from compliance.runtime.facts import Facts
from compliance.runtime.vehicle import Finding
from fleet.geo.jurisdiction import DistrictResolver
from fleet.telemetry.schema import FLAG_VALID, POSITIONS_TABLE

TRACK_MARGIN = dt.timedelta(seconds=60)
TRACK_MAX = dt.timedelta(hours=6)  # evidence of a very long episode: its first six hours
EVIDENCE_EVENT_KINDS = ["safety_alarm", "card_in", "card_out", "waybill"]


@dataclass(frozen=True)
class Written:
    id: int
    inserted: bool
    rule: str
    vehicle_id: int
    tts: bool


def severity(episode: Episode) -> str:
    if episode.rule == "overspeed":
        speed = float(episode.measured.get("max_speed_kmh", 0) or 0)
        limit = float(episode.measured.get("limit_kmh", 0) or 0)
        if limit > 0:
            excess = (speed - limit) / limit
            return "high" if excess >= 0.5 else "medium" if excess >= 0.2 else "low"
    return RULES[episode.rule].severity


_LOCATION = f"""
(SELECT longitude, latitude, 0 AS after FROM {POSITIONS_TABLE}
  WHERE vehicle_id = %(v)s AND fix_time <= %(t)s AND fix_time > %(t)s - interval '1 hour'
    AND flags & {FLAG_VALID} <> 0 ORDER BY fix_time DESC LIMIT 1)
UNION ALL
(SELECT longitude, latitude, 1 FROM {POSITIONS_TABLE}
  WHERE vehicle_id = %(v)s AND fix_time > %(t)s AND fix_time < %(t)s + interval '1 hour'
    AND flags & {FLAG_VALID} <> 0 ORDER BY fix_time LIMIT 1)
ORDER BY after LIMIT 1
"""

_EVENTS = f"""
SELECT e.time, e.kind, e.code, p.longitude, p.latitude
FROM fleet_terminaleventlog e
LEFT JOIN LATERAL (
    SELECT longitude, latitude FROM {POSITIONS_TABLE}
    WHERE vehicle_id = e.vehicle_id AND fix_time <= e.time
      AND fix_time > e.time - interval '5 minutes' AND flags & {FLAG_VALID} <> 0
    ORDER BY fix_time DESC LIMIT 1) p ON true
WHERE e.vehicle_id = %(v)s AND e.time BETWEEN %(a)s AND %(b)s AND e.kind = ANY(%(kinds)s)
ORDER BY e.time LIMIT 30
"""

_METER = """
SELECT trip_number, boarded_at, alighted_at FROM fleet_metertrip
WHERE vehicle_id = %(v)s AND alighted_at > %(a)s AND boarded_at < %(b)s ORDER BY boarded_at
"""

_UPSERT = f"""
INSERT INTO compliance_violation (
    rule, vehicle_id, episode_key, vehicle_kind, driver_id, enterprise_id, district_id,
    started_at, ended_at, location, severity, measured, thresholds, setting_id, track, evidence,
    review_status, review_note, auto_confirmed, detected_at, updated_at)
VALUES (
    %(rule)s, %(v)s, %(key)s, %(kind)s, %(driver)s, %(enterprise)s, %(district)s,
    %(start)s, %(end)s,
    CASE WHEN %(lon)s::float8 IS NULL THEN NULL
         ELSE ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) END,
    %(severity)s, %(measured)s::jsonb, %(thresholds)s::jsonb, %(setting)s,
    CASE WHEN %(track)s THEN (
        SELECT CASE WHEN count(*) >= 2 THEN ST_MakeLine(geom ORDER BY fix_time) END
        FROM {POSITIONS_TABLE}
        WHERE vehicle_id = %(v)s AND fix_time BETWEEN %(a)s AND %(b)s
          AND flags & {FLAG_VALID} <> 0) END,
    %(evidence)s::jsonb, %(status)s, '', %(auto)s, now(), now())
ON CONFLICT (vehicle_id, rule, started_at, episode_key) DO UPDATE SET
    ended_at = EXCLUDED.ended_at, measured = EXCLUDED.measured, severity = EXCLUDED.severity,
    track = COALESCE(EXCLUDED.track, compliance_violation.track),
    evidence = EXCLUDED.evidence || jsonb_build_object(
        'resolution', compliance_violation.evidence -> 'resolution'),
    updated_at = now()
RETURNING id, (xmax = 0)
"""


def _jsonable(values: dict[str, Any]) -> str:
    return json.dumps({k: (v if isinstance(v, int | float | str | bool) or v is None else str(v))
                       for k, v in values.items()}, ensure_ascii=False)


class ViolationWriter:
    def __init__(self, resolver: DistrictResolver | None) -> None:
        self.resolver = resolver

    def write(self, conn: psycopg.Connection, vehicle_id: int, findings: list[Finding],
              effective: dict[str, Effective], facts: Facts, now: dt.datetime | None,
              ) -> list[Written]:
        vehicle = facts.vehicles[vehicle_id]
        out = []
        with conn.cursor() as cursor:
            for finding in findings:
                episode = finding.episode
                setting = effective.get(episode.rule)
                if setting is None:
                    continue
                out.append(self._write_one(cursor, vehicle_id, vehicle, finding, setting, facts,
                                           now))
        return out

    def locate(self, cursor: psycopg.Cursor, vehicle_id: int, registered_district_id: int,
               finding: Finding, facts: Facts,
               ) -> tuple[float | None, float | None, int, dict[str, Any]]:
        """Where the episode began (the last valid fix at or before its start, else the first
        after) and the district that owns it by the territorial principle."""
        lon, lat = finding.lon, finding.lat
        if lon is None:
            cursor.execute(_LOCATION, {"v": vehicle_id, "t": finding.episode.start})
            row = cursor.fetchone()
            if row is not None:
                lon, lat = row[0], row[1]
        district_id = registered_district_id
        resolution: dict[str, Any] = {"how": "registered", "distance_m": 0.0}
        if lon is not None and lat is not None and self.resolver is not None:
            found = self.resolver.resolve(lon, lat)
            if found.code is not None and found.code in facts.district_ids:
                district_id = facts.district_ids[found.code]
                resolution = {"how": found.how, "distance_m": round(found.distance_m, 1)}
        return lon, lat, district_id, resolution

    def _write_one(self, cursor: psycopg.Cursor, vehicle_id: int, vehicle: Any,
                   finding: Finding, setting: Effective, facts: Facts,
                   now: dt.datetime | None) -> Written:
        episode = finding.episode
        spec = RULES[episode.rule]
        start = episode.start
        end = episode.end or now or start
        window_a = start - TRACK_MARGIN
        window_b = min(end, start + TRACK_MAX) + TRACK_MARGIN
        lon, lat, district_id, resolution = self.locate(cursor, vehicle_id, vehicle.district_id,
                                                        finding, facts)
        evidence: dict[str, Any] = {"resolution": resolution}
        if spec.screened:
            cursor.execute(_EVENTS, {"v": vehicle_id, "a": window_a, "b": window_b,
                                     "kinds": EVIDENCE_EVENT_KINDS})
            evidence["events"] = [{"time": t.isoformat(), "kind": k, "code": c, "lon": x,
                                   "lat": y} for t, k, c, x, y in cursor.fetchall()]
        if episode.rule == "no_meter":
            cursor.execute(_METER, {"v": vehicle_id, "a": start, "b": end})
            evidence["meter_trips"] = [{"trip_number": n, "boarded_at": a.isoformat(),
                                        "alighted_at": b.isoformat()}
                                       for n, a, b in cursor.fetchall()]
        auto = spec.screened and setting.auto_confirm
        status = "recorded" if not spec.screened else "confirmed" if auto else "pending"
        cursor.execute(_UPSERT, {
            "rule": episode.rule, "v": vehicle_id, "key": finding.key, "kind": vehicle.kind,
            "driver": facts.known_driver(finding.driver_id), "enterprise": vehicle.enterprise_id,
            "district": district_id, "start": start, "end": episode.end, "lon": lon, "lat": lat,
            "severity": severity(episode), "measured": _jsonable(episode.measured),
            "thresholds": _jsonable({**episode.thresholds, **setting.thresholds()}),
            "setting": setting.setting_id, "track": spec.screened, "a": window_a,
            "b": window_b, "evidence": json.dumps(evidence, ensure_ascii=False),
            "status": status, "auto": auto})
        row = cursor.fetchone()
        assert row is not None
        return Written(row[0], bool(row[1]), episode.rule, vehicle_id,
                       spec.warnable and setting.tts_warning)
