"""The live alert feed: new violations pushed over websockets to the people whose scope covers them.

Groups of their own (the live map's groups carry vehicle updates, another message type). A
violation goes to the city group, its owning district's group and its enterprise's group; a
websocket joins exactly the groups its user's scope allows, the same rule as
``Violation.objects.visible_to``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from channels.layers import get_channel_layer
from django.db.models import FloatField, Func, QuerySet
from django.urls import reverse

from accounts.models import Scope
from compliance.catalogue import RULES
from compliance.models import ReviewStatus, Violation
from fleet.live.groups import scoped_groups
from fleet.live.sender import sender

log = logging.getLogger(__name__)

CITY = "alerts-city"
NEW_VIOLATION = "alerts.violation"
REVIEWED = "alerts.reviewed"
# Only what a payload needs (evidence and track can be large), as plain values: the worker
# builds these after every batch that found something, and model instances with three related
# objects and a GEOS point cost several times the query.
_PAYLOAD_VALUES = ("pk", "rule", "severity", "vehicle_kind", "started_at", "review_status",
                   "detected_at", "vehicle__plate", "district_id", "district__name",
                   "enterprise_id", "enterprise__name")


def district_group(district_id: int) -> str:
    return f"alerts-district-{district_id}"


def enterprise_group(enterprise_id: int) -> str:
    return f"alerts-enterprise-{enterprise_id}"


def groups_for_scope(scope: Scope) -> list[str]:
    return scoped_groups(scope, city=CITY, district=district_group, enterprise=enterprise_group)


def groups_for_violation(row: dict[str, Any]) -> list[str]:
    """The groups that may see a violation (a row with its district_id and enterprise_id)."""
    return [CITY, district_group(row["district_id"]), enterprise_group(row["enterprise_id"])]


def alert_rows(queryset: QuerySet[Violation]) -> QuerySet[Violation, dict[str, Any]]:
    """The violations of ``queryset`` that belong in the feed, as rows of what a payload reads
    (one query). Data-quality records (gps_drift) are counted, not acted on: they are left out."""
    return (queryset.exclude(review_status=ReviewStatus.RECORDED)
            .annotate(lon=Func("location", function="ST_X", output_field=FloatField()),
                      lat=Func("location", function="ST_Y", output_field=FloatField()))
            .values(*_PAYLOAD_VALUES, "lon", "lat"))


def alert_payload(row: dict[str, Any]) -> dict[str, Any]:
    """The message of one alert row (``alert_rows``), as the feed's script reads it."""
    return {
        "id": row["pk"],
        "rule": row["rule"],
        "rule_label": str(RULES[row["rule"]].label),
        "severity": row["severity"],
        "plate": row["vehicle__plate"],
        "vehicle_kind": row["vehicle_kind"],
        "district": {"id": row["district_id"], "name": row["district__name"]},
        "enterprise": row["enterprise__name"],
        "enterprise_id": row["enterprise_id"],
        "started_at": row["started_at"].isoformat(),
        "lon": round(row["lon"], 6) if row["lon"] is not None else None,
        "lat": round(row["lat"], 6) if row["lat"] is not None else None,
        "review_status": row["review_status"],
        "url": reverse("compliance:violation_detail", args=[row["pk"]]),
        "detected_at": row["detected_at"].isoformat(),
    }


def _send(messages: Iterable[tuple[list[str], dict[str, Any]]]) -> None:
    sender.send_many(get_channel_layer(), [(group, message) for groups, message in messages
                                           for group in groups])


def prepare() -> None:
    """Load the URLconf now, at the worker's start: the first ``reverse`` imports every view
    module (0.5–1.5 s), which otherwise delays the first alert after each restart."""
    reverse("compliance:violation_detail", args=[1])


def publish_new_violations(ids: list[int]) -> None:
    """Send each new violation to the groups that may see it. Called by the pipeline worker
    after its commit; never raises into the caller (a failed alert is logged, not retried)."""
    if not ids:
        return
    try:
        rows = list(alert_rows(Violation.objects.filter(pk__in=ids)).order_by("started_at"))
        _send((groups_for_violation(v), {"type": NEW_VIOLATION, "violation": alert_payload(v)})
              for v in rows)
    except Exception:
        log.exception("publishing %d new violation(s) failed", len(ids))


def publish_review_changes(ids: list[int]) -> None:
    """Tell open feeds that these violations were screened (their status tags change)."""
    if not ids:
        return
    try:
        rows = Violation.objects.filter(pk__in=ids).values("pk", "review_status", "district_id",
                                                           "enterprise_id")
        _send((groups_for_violation(row), {"type": REVIEWED, "violation": {
                   "id": row["pk"], "review_status": row["review_status"]}})
              for row in rows)
    except Exception:
        log.exception("publishing review changes of %d violation(s) failed", len(ids))
