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
from dataclasses import dataclass, field
from typing import Any

import psycopg

from compliance.catalogue import RULES
from compliance.engine.model import Episode
from compliance.rule_settings import Effective
from compliance.runtime.facts import Facts
from compliance.runtime.vehicle import PLACE_WITHIN, Finding
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
    district_id: int  # the owner fixed when the row was first written
    # As written, for the live alert of a new row (compliance.runtime.alerts): no re-reading.
    enterprise_id: int
    vehicle_kind: str
    started_at: dt.datetime
    severity: str
    review_status: str
    lon: float | None
    lat: float | None
    detected_at: dt.datetime


def severity(episode: Episode) -> str:
    if episode.rule == "overspeed":
        speed = float(episode.measured.get("max_speed_kmh", 0) or 0)
        limit = float(episode.measured.get("limit_kmh", 0) or 0)
        if limit > 0:
            excess = (speed - limit) / limit
            return "high" if excess >= 0.5 else "medium" if excess >= 0.2 else "low"
    return RULES[episode.rule].severity


# The statements below take a whole batch's findings at once (arrays unnested into rows, the
# per-row work in LATERAL subqueries): three or four round trips per batch instead of three per
# finding, which was most of the rules' cost in a busy worker. They run on a server-binding
# cursor, prepared and in binary: Django's connection binds on the client, spelling every array
# out as quoted text (a regular-expression pass per string) to be parsed and planned again.

# Where an episode began: the last valid fix at or before its start within PLACE_WITHIN, else
# the first after (the rules place it themselves when it is their latest valid fix).
_WITHIN = f"interval '{int(PLACE_WITHIN.total_seconds())} seconds'"
_LOCATIONS = f"""
SELECT x.i, p.longitude, p.latitude
FROM unnest(%(i)s::int[], %(v)s::bigint[], %(t)s::timestamptz[]) AS x(i, v, t)
CROSS JOIN LATERAL (
    SELECT longitude, latitude FROM (
        (SELECT longitude, latitude, 0 AS after FROM {POSITIONS_TABLE}
          WHERE vehicle_id = x.v AND fix_time <= x.t AND fix_time > x.t - {_WITHIN}
            AND flags & {FLAG_VALID} <> 0 ORDER BY fix_time DESC LIMIT 1)
        UNION ALL
        (SELECT longitude, latitude, 1 FROM {POSITIONS_TABLE}
          WHERE vehicle_id = x.v AND fix_time > x.t AND fix_time < x.t + {_WITHIN}
            AND flags & {FLAG_VALID} <> 0 ORDER BY fix_time LIMIT 1)
    ) nearest ORDER BY after LIMIT 1) p
"""

_EVENTS = f"""
SELECT x.i, e.time, e.kind, e.code, p.longitude, p.latitude
FROM unnest(%(i)s::int[], %(v)s::bigint[], %(a)s::timestamptz[], %(b)s::timestamptz[])
    AS x(i, v, a, b)
CROSS JOIN LATERAL (
    SELECT time, kind, code, vehicle_id FROM fleet_terminaleventlog
    WHERE vehicle_id = x.v AND time BETWEEN x.a AND x.b AND kind = ANY(%(kinds)s)
    ORDER BY time LIMIT 30) e
LEFT JOIN LATERAL (
    SELECT longitude, latitude FROM {POSITIONS_TABLE}
    WHERE vehicle_id = e.vehicle_id AND fix_time <= e.time
      AND fix_time > e.time - interval '5 minutes' AND flags & {FLAG_VALID} <> 0
    ORDER BY fix_time DESC LIMIT 1) p ON true
ORDER BY x.i, e.time
"""

_METER = """
SELECT x.i, m.trip_number, m.boarded_at, m.alighted_at
FROM unnest(%(i)s::int[], %(v)s::bigint[], %(a)s::timestamptz[], %(b)s::timestamptz[])
    AS x(i, v, a, b)
JOIN fleet_metertrip m ON m.vehicle_id = x.v AND m.alighted_at > x.a AND m.boarded_at < x.b
ORDER BY x.i, m.boarded_at
"""

_UPSERT = f"""
INSERT INTO compliance_violation (
    rule, vehicle_id, episode_key, vehicle_kind, driver_id, enterprise_id, district_id,
    started_at, ended_at, location, severity, measured, thresholds, setting_id, track, evidence,
    review_status, review_note, auto_confirmed, detected_at, updated_at)
SELECT x.rule, x.v, x.key, x.kind, x.driver, x.enterprise, x.district, x.start, x.end_,
    CASE WHEN x.lon IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(x.lon, x.lat), 4326) END,
    x.severity, x.measured::jsonb, x.thresholds::jsonb, x.setting,
    CASE WHEN x.track THEN (
        SELECT CASE WHEN count(*) >= 2 THEN ST_MakeLine(geom ORDER BY fix_time) END
        FROM {POSITIONS_TABLE}
        WHERE vehicle_id = x.v AND fix_time BETWEEN x.a AND x.b
          AND flags & {FLAG_VALID} <> 0) END,
    x.evidence::jsonb, x.status, '', x.auto, now(), now()
FROM unnest(%(rule)s::text[], %(v)s::bigint[], %(key)s::text[], %(kind)s::text[],
            %(driver)s::bigint[], %(enterprise)s::bigint[], %(district)s::bigint[],
            %(start)s::timestamptz[], %(end)s::timestamptz[], %(lon)s::float8[],
            %(lat)s::float8[], %(severity)s::text[], %(measured)s::text[],
            %(thresholds)s::text[], %(setting)s::bigint[], %(track)s::bool[],
            %(a)s::timestamptz[], %(b)s::timestamptz[], %(evidence)s::text[],
            %(status)s::text[], %(auto)s::bool[])
    AS x(rule, v, key, kind, driver, enterprise, district, start, end_, lon, lat, severity,
         measured, thresholds, setting, track, a, b, evidence, status, auto)
ON CONFLICT (vehicle_id, rule, started_at, episode_key) DO UPDATE SET
    ended_at = EXCLUDED.ended_at, measured = EXCLUDED.measured, severity = EXCLUDED.severity,
    track = COALESCE(EXCLUDED.track, compliance_violation.track),
    evidence = EXCLUDED.evidence || jsonb_build_object(
        'resolution', compliance_violation.evidence -> 'resolution'),
    updated_at = now()
RETURNING id, (xmax = 0), vehicle_id, rule, started_at, episode_key, district_id, detected_at
"""


def _jsonable(values: dict[str, Any]) -> str:
    return json.dumps({k: (v if isinstance(v, int | float | str | bool) or v is None else str(v))
                       for k, v in values.items()}, ensure_ascii=False)


@dataclass
class VehicleFindings:
    """One vehicle's findings of a batch, with what they are judged and written by."""

    vehicle_id: int
    findings: list[Finding]
    effective: dict[str, Effective]
    now: dt.datetime | None  # the end written for an episode still open


@dataclass
class _Row:
    vehicle_id: int
    vehicle: Any
    finding: Finding
    setting: Effective
    start: dt.datetime
    end: dt.datetime  # the episode's end, or the data time it has run to
    window_a: dt.datetime
    window_b: dt.datetime
    lon: float | None
    lat: float | None
    evidence: dict[str, Any] = field(default_factory=dict)
    district_id: int = 0


class ViolationWriter:
    def __init__(self, resolver: DistrictResolver | None) -> None:
        self.resolver = resolver

    def write(self, conn: psycopg.Connection, vehicle_id: int, findings: list[Finding],
              effective: dict[str, Effective], facts: Facts, now: dt.datetime | None,
              ) -> list[Written]:
        return self.write_many(conn, [VehicleFindings(vehicle_id, findings, effective, now)],
                               facts)

    def write_many(self, conn: psycopg.Connection, batch: list[VehicleFindings],
                   facts: Facts) -> list[Written]:
        rows = self._rows(batch, facts)
        if not rows:
            return []
        with psycopg.Cursor(conn) as cursor:
            self._locate_all(cursor, rows, facts)
            self._events(cursor, rows)
            self._meter_trips(cursor, rows)
            return self._upsert(cursor, rows, facts)

    # -- steps --------------------------------------------------------------------------------
    def owners(self, conn: psycopg.Connection, batch: list[VehicleFindings],
               facts: Facts) -> list[tuple[str, int]]:
        """(rule, owning district) of each finding, nothing written (replay's counts)."""
        rows = self._rows(batch, facts)
        with psycopg.Cursor(conn) as cursor:
            self._locate_all(cursor, rows, facts)
        return [(row.finding.episode.rule, row.district_id) for row in rows]

    @staticmethod
    def _rows(batch: list[VehicleFindings], facts: Facts) -> list[_Row]:
        rows: dict[tuple[int, str, dt.datetime, str], _Row] = {}
        for item in batch:
            vehicle = facts.vehicles[item.vehicle_id]
            for finding in item.findings:
                setting = item.effective.get(finding.episode.rule)
                if setting is None:
                    continue
                start = finding.episode.start
                end = finding.episode.end or item.now or start
                # One row per upsert key: a statement may not update the same row twice.
                rows[(item.vehicle_id, finding.episode.rule, start, finding.key)] = _Row(
                    item.vehicle_id, vehicle, finding, setting, start, end,
                    start - TRACK_MARGIN, min(end, start + TRACK_MAX) + TRACK_MARGIN,
                    finding.lon, finding.lat)
        return list(rows.values())

    def _locate_all(self, cursor: psycopg.Cursor, rows: list[_Row], facts: Facts) -> None:
        """Where each episode began (the last valid fix at or before its start, else the first
        after) and the district that owns it by the territorial principle."""
        unplaced = [n for n, row in enumerate(rows) if row.lon is None]
        if unplaced:
            cursor.execute(_LOCATIONS, {"i": unplaced,
                                        "v": [rows[n].vehicle_id for n in unplaced],
                                        "t": [rows[n].start for n in unplaced]},
                           prepare=True, binary=True)
            for n, lon, lat in cursor.fetchall():
                rows[n].lon, rows[n].lat = lon, lat
        for row in rows:
            row.district_id, resolution = self.owner(row.vehicle.district_id, row.lon, row.lat,
                                                     facts)
            row.evidence["resolution"] = resolution

    def owner(self, registered_district_id: int, lon: float | None, lat: float | None,
              facts: Facts) -> tuple[int, dict[str, Any]]:
        """The territorial principle: the district whose polygon holds the place, else the
        vehicle's registered district."""
        if lon is not None and lat is not None and self.resolver is not None:
            found = self.resolver.resolve(lon, lat)
            if found.code is not None and found.code in facts.district_ids:
                return facts.district_ids[found.code], {
                    "how": found.how, "distance_m": round(found.distance_m, 1)}
        return registered_district_id, {"how": "registered", "distance_m": 0.0}

    @staticmethod
    def _events(cursor: psycopg.Cursor, rows: list[_Row]) -> None:
        wanted = [n for n, row in enumerate(rows) if RULES[row.finding.episode.rule].screened]
        if not wanted:
            return
        for n in wanted:
            rows[n].evidence["events"] = []
        cursor.execute(_EVENTS, {"i": wanted, "v": [rows[n].vehicle_id for n in wanted],
                                 "a": [rows[n].window_a for n in wanted],
                                 "b": [rows[n].window_b for n in wanted],
                                 "kinds": EVIDENCE_EVENT_KINDS}, prepare=True, binary=True)
        for n, t, k, c, x, y in cursor.fetchall():
            rows[n].evidence["events"].append({"time": t.isoformat(), "kind": k, "code": c,
                                               "lon": x, "lat": y})

    @staticmethod
    def _meter_trips(cursor: psycopg.Cursor, rows: list[_Row]) -> None:
        wanted = [n for n, row in enumerate(rows) if row.finding.episode.rule == "no_meter"]
        if not wanted:
            return
        for n in wanted:
            rows[n].evidence["meter_trips"] = []
        cursor.execute(_METER, {"i": wanted, "v": [rows[n].vehicle_id for n in wanted],
                                "a": [rows[n].start for n in wanted],
                                "b": [rows[n].end for n in wanted]}, prepare=True, binary=True)
        for n, number, boarded, alighted in cursor.fetchall():
            rows[n].evidence["meter_trips"].append({
                "trip_number": number, "boarded_at": boarded.isoformat(),
                "alighted_at": alighted.isoformat()})

    @staticmethod
    def _upsert(cursor: psycopg.Cursor, rows: list[_Row], facts: Facts) -> list[Written]:
        columns: dict[str, list[Any]] = {name: [] for name in (
            "rule", "v", "key", "kind", "driver", "enterprise", "district", "start", "end",
            "lon", "lat", "severity", "measured", "thresholds", "setting", "track", "a", "b",
            "evidence", "status", "auto")}
        for row in rows:
            episode, spec = row.finding.episode, RULES[row.finding.episode.rule]
            auto = spec.screened and row.setting.auto_confirm
            values = {
                "rule": episode.rule, "v": row.vehicle_id, "key": row.finding.key,
                "kind": row.vehicle.kind, "driver": facts.known_driver(row.finding.driver_id),
                "enterprise": row.vehicle.enterprise_id, "district": row.district_id,
                "start": row.start, "end": episode.end, "lon": row.lon, "lat": row.lat,
                "severity": severity(episode), "measured": _jsonable(episode.measured),
                "thresholds": _jsonable({**episode.thresholds, **row.setting.thresholds()}),
                "setting": row.setting.setting_id, "track": spec.screened, "a": row.window_a,
                "b": row.window_b, "evidence": json.dumps(row.evidence, ensure_ascii=False),
                "status": "recorded" if not spec.screened else "confirmed" if auto else "pending",
                "auto": auto}
            for name, value in values.items():
                columns[name].append(value)
        cursor.execute(_UPSERT, columns, prepare=True, binary=True)
        by_key = {(row.vehicle_id, row.finding.episode.rule, row.start, row.finding.key): n
                  for n, row in enumerate(rows)}
        written = []
        for pk, inserted, vehicle_id, rule, started_at, key, district, detected_at in (
                cursor.fetchall()):
            n = by_key[(vehicle_id, rule, started_at, key)]
            row = rows[n]
            written.append(Written(
                pk, bool(inserted), rule, vehicle_id,
                RULES[rule].warnable and row.setting.tts_warning, district,
                enterprise_id=columns["enterprise"][n], vehicle_kind=columns["kind"][n],
                started_at=started_at, severity=columns["severity"][n],
                review_status=columns["status"][n], lon=row.lon, lat=row.lat,
                detected_at=detected_at))
        return written
