"""The roll-up's set-based reads: one statement per unit type sums a month per unit, one gives the
city's averages, one the districts' case-handling figures. No loop over vehicles or days.

Table and column names come from the models; only values travel as parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection

from compliance.models import (
    Case,
    CaseAssignment,
    CaseEvent,
    CheckPost,
    ReviewStatus,
    VehicleDayQuality,
    Violation,
)
from compliance.models.cases import OPEN_STATES
from fleet.models import District, Terminal, Vehicle

DAYS = VehicleDayQuality._meta.db_table
VEHICLES = Vehicle._meta.db_table
TERMINALS = Terminal._meta.db_table
CHECKPOSTS = CheckPost._meta.db_table
VIOLATIONS = Violation._meta.db_table
CASES = Case._meta.db_table
ASSIGNMENTS = CaseAssignment._meta.db_table
EVENTS = CaseEvent._meta.db_table
DISTRICTS = District._meta.db_table

# Unit type → (day-quality column, registry column, check-post column, violation/case column).
UNIT_COLUMNS = {
    "district": ("district_id", "registered_district_id", "district_id", "district_id"),
    "enterprise": ("enterprise_id", "enterprise_id", "enterprise_id", "enterprise_id"),
}


@dataclass(frozen=True)
class Period:
    """A calendar month in the bureau's time zone, and the moment it is judged at."""

    first: dt.date  # first day
    end: dt.date  # first day of the next month
    start_at: dt.datetime
    end_at: dt.datetime
    as_of: dt.datetime


def _unit_sql(unit: str) -> str:
    day_col, reg_col, cp_col, owner_col = UNIT_COLUMNS[unit]
    return f"""
WITH per_vehicle AS (  -- the vehicles that reported, by the unit their day rows record
    SELECT q.{day_col} AS unit_id, q.vehicle_id,
           count(*) AS online_days,
           count(*) FILTER (WHERE q.drift_fixes > 0) AS drift_days,
           sum(q.mileage_km) AS mileage_km, sum(q.complete_mileage_km) AS complete_km,
           sum(q.total_fixes) AS total_fixes, sum(q.valid_fixes) AS valid_fixes,
           sum(q.overspeed_count) AS overspeed, sum(q.fatigue_seconds) AS fatigue_seconds
    FROM {DAYS} q
    WHERE q.day >= %(first)s AND q.day < %(end)s AND q.vehicle_kind = ANY(%(kinds)s)
    GROUP BY 1, 2
),
silent AS (  -- in-service vehicles that did not report, by the registry's unit
    SELECT v.{reg_col} AS unit_id, v.id AS vehicle_id,
           CASE WHEN %(by_reports)s THEN EXISTS (
                    SELECT 1 FROM {DAYS} e WHERE e.vehicle_id = v.id AND e.day < %(end)s)
                ELSE EXISTS (
                    SELECT 1 FROM {TERMINALS} t WHERE t.vehicle_id = v.id AND t.active)
           END AS connected
    FROM {VEHICLES} v
    WHERE v.kind = ANY(%(kinds)s) AND v.status = 'in_service'
      AND NOT EXISTS (SELECT 1 FROM per_vehicle p WHERE p.vehicle_id = v.id)
),
per_unit AS (
    SELECT unit_id, sum(required)::int AS required, sum(connected)::int AS connected,
           sum(online)::int AS online, sum(online_days)::int AS online_days,
           sum(drift_days)::int AS drift_days, sum(drift_vehicle)::int AS drift_vehicles,
           sum(mileage_km)::float AS mileage_km, sum(complete_km)::float AS complete_km,
           sum(total_fixes)::bigint AS total_fixes, sum(valid_fixes)::bigint AS valid_fixes,
           sum(overspeed)::bigint AS overspeed, sum(fatigue_seconds)::float AS fatigue_seconds
    FROM (
        SELECT unit_id, 1 AS required, 1 AS connected, 1 AS online, online_days, drift_days,
               (drift_days > 0)::int AS drift_vehicle, mileage_km, complete_km, total_fixes,
               valid_fixes, overspeed, fatigue_seconds
        FROM per_vehicle
        UNION ALL
        SELECT unit_id, 1, connected::int, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM silent
    ) fleet
    GROUP BY unit_id
),
checkposts AS (  -- judged ones: answered, or past their answer window
    SELECT c.{cp_col} AS unit_id,
           count(*) FILTER (WHERE c.answered_at IS NOT NULL
               OR c.sent_at + make_interval(mins => c.answer_within_minutes) <= %(as_of)s)
               AS sent,
           count(*) FILTER (WHERE c.answered_at
               <= c.sent_at + make_interval(mins => c.answer_within_minutes)) AS answered
    FROM {CHECKPOSTS} c
    WHERE c.sent_at >= %(start_at)s AND c.sent_at < %(end_at)s AND c.{cp_col} IS NOT NULL
    GROUP BY 1
),
violations AS (  -- counted violations (not dismissed, not data-quality records)
    SELECT x.{owner_col} AS unit_id, count(*) AS violations
    FROM {VIOLATIONS} x
    WHERE x.started_at >= %(start_at)s AND x.started_at < %(end_at)s
      AND x.vehicle_kind = ANY(%(kinds)s) AND x.review_status <> ALL(%(not_counted)s)
    GROUP BY 1
),
open_cases AS (  -- cases about assessed vehicles, opened by the month's end, still open
    SELECT c.{owner_col} AS unit_id, count(*) AS open_cases
    FROM {CASES} c JOIN {VEHICLES} v ON v.id = c.vehicle_id
    WHERE c.created_at < %(end_at)s AND c.state = ANY(%(open_states)s)
      AND v.kind = ANY(%(kinds)s) AND c.{owner_col} IS NOT NULL
    GROUP BY 1
)
SELECT u.*, coalesce(k.sent, 0) AS checkposts_sent,
       coalesce(k.answered, 0) AS checkposts_answered,
       coalesce(x.violations, 0) AS violations, coalesce(o.open_cases, 0) AS open_cases
FROM per_unit u
LEFT JOIN checkposts k ON k.unit_id = u.unit_id
LEFT JOIN violations x ON x.unit_id = u.unit_id
LEFT JOIN open_cases o ON o.unit_id = u.unit_id
ORDER BY u.unit_id
"""


_REGION_SQL = f"""
SELECT count(DISTINCT vehicle_id) AS online, coalesce(sum(overspeed_count), 0) AS overspeed,
       coalesce(sum(fatigue_seconds), 0)::float AS fatigue_seconds
FROM {DAYS}
WHERE day >= %(first)s AND day < %(end)s AND vehicle_kind = ANY(%(kinds)s)
"""

# Assignments dispatched in the month (not withdrawn); one counts once it is closed (its case
# verified or archived) or its deadline has passed. Submissions are results that went to the
# city (the assignment became "handled"); returns name their districts in the event detail.
_CASES_SQL = f"""
WITH received AS (
    SELECT a.district_id,
           c.state IN ('verified', 'archived') AS closed,
           a.handled_at IS NOT NULL AND (a.deadline IS NULL OR a.handled_at <= a.deadline)
               AS on_time,
           a.deadline IS NULL OR a.deadline <= %(as_of)s AS due
    FROM {ASSIGNMENTS} a JOIN {CASES} c ON c.id = a.case_id
    WHERE a.dispatched_at >= %(start_at)s AND a.dispatched_at < %(end_at)s
      AND a.state <> 'withdrawn'
),
month_events AS (
    SELECT * FROM {EVENTS} WHERE at >= %(start_at)s AND at < %(end_at)s
),
submitted AS (
    SELECT district_id, count(*) AS n FROM month_events
    WHERE action IN ('report', 'approve') AND detail ->> 'assignment_to' = 'handled'
      AND district_id IS NOT NULL
    GROUP BY 1
),
returned AS (
    SELECT d.value::bigint AS district_id, count(*) AS n
    FROM month_events e, jsonb_array_elements_text(e.detail -> 'districts') d
    WHERE e.action = 'return'
    GROUP BY 1
),
supervised AS (  -- automatic: the late assignment's district; by hand: every unit on the case
    SELECT a.district_id, count(DISTINCT e.id) AS n
    FROM month_events e
    JOIN {ASSIGNMENTS} a ON a.case_id = e.case_id AND a.state <> 'withdrawn'
         AND a.dispatched_at <= e.at
    WHERE e.action = 'supervise'
      AND (NOT (e.detail ? 'assignment') OR a.id = (e.detail ->> 'assignment')::bigint)
    GROUP BY 1
),
per_district AS (
    SELECT district_id, count(*) FILTER (WHERE closed OR due) AS received,
           count(*) FILTER (WHERE closed) AS closed,
           count(*) FILTER (WHERE closed AND on_time) AS on_time
    FROM received GROUP BY 1
)
SELECT d.id AS district_id, coalesce(p.received, 0) AS received, coalesce(p.closed, 0) AS closed,
       coalesce(p.on_time, 0) AS on_time, coalesce(s.n, 0) AS submitted,
       coalesce(r.n, 0) AS returned, coalesce(v.n, 0) AS supervision_count
FROM {DISTRICTS} d
LEFT JOIN per_district p ON p.district_id = d.id
LEFT JOIN submitted s ON s.district_id = d.id
LEFT JOIN returned r ON r.district_id = d.id
LEFT JOIN supervised v ON v.district_id = d.id
ORDER BY d.id
"""


def _params(period: Period, kinds: tuple[str, ...], by_reports: bool) -> dict[str, Any]:
    return {"first": period.first, "end": period.end, "start_at": period.start_at,
            "end_at": period.end_at, "as_of": period.as_of, "kinds": list(kinds),
            "by_reports": by_reports,
            "not_counted": [ReviewStatus.DISMISSED.value, ReviewStatus.RECORDED.value],
            "open_states": [str(state) for state in OPEN_STATES]}


def _rows(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def unit_sums(unit: str, period: Period, *, kinds: tuple[str, ...],
              by_reports: bool) -> list[dict[str, Any]]:
    """One row per unit with at least one vehicle that must connect."""
    return _rows(_unit_sql(unit), _params(period, kinds, by_reports))


def region_sums(period: Period, *, kinds: tuple[str, ...]) -> dict[str, Any]:
    return _rows(_REGION_SQL, _params(period, kinds, False))[0]


def case_sums(period: Period) -> list[dict[str, Any]]:
    """One row per district (every district, zeros included)."""
    return _rows(_CASES_SQL, _params(period, (), False))
