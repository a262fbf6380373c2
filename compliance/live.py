"""The live alert feed: new violations pushed over websockets to the people whose scope covers them.

One channel-layer group for every alert socket, one message per publish carrying all its
violations; each socket passes on only those its user's scope covers (``in_scope``, the same
rule as ``Violation.objects.visible_to``). The pipeline publishes after every batch that found
something: a message per violation to three groups (city, district, enterprise) was a dozen
channel-layer sends per batch, 8-10 % of a rules-on worker's time, where this is one.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.layers import get_channel_layer
from django.db.models import FloatField, Func, QuerySet
from django.urls import reverse

from accounts.models import Scope
from compliance.catalogue import RULES
from compliance.models import ReviewStatus, Violation
from fleet.live.sender import sender

log = logging.getLogger(__name__)

ALERTS = "alerts"
NEW_VIOLATIONS = "alerts.violations"
REVIEWED = "alerts.reviews"
# Only what a payload needs (evidence and track can be large), as plain values: the worker
# builds these after every batch that found something, and model instances with three related
# objects and a GEOS point cost several times the query.
_PAYLOAD_VALUES = ("pk", "rule", "severity", "vehicle_kind", "started_at", "review_status",
                   "detected_at", "vehicle__plate", "district_id", "district__name",
                   "enterprise_id", "enterprise__name")


def in_scope(scope: Scope, district_id: int, enterprise_id: int) -> bool:
    """Whether a user of this scope may see a violation owned by this district and enterprise:
    the city sees all, a district user its districts', an enterprise user its own."""
    return scope.everything or district_id in scope.district_ids or (
        scope.enterprise_id is not None and enterprise_id == scope.enterprise_id)


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


def _send(message: dict[str, Any]) -> None:
    sender.send_many(get_channel_layer(), [(ALERTS, message)])


def prepare() -> None:
    """Load the URLconf now, at the worker's start: the first ``reverse`` imports every view
    module (0.5–1.5 s), which otherwise delays the first alert after each restart."""
    reverse("compliance:violation_detail", args=[1])


def publish_new_violations(ids: list[int]) -> None:
    """Send each new violation to the feed, read from the database (the pipeline builds its
    rows from what it wrote: compliance.runtime.alerts). Never raises into the caller (a
    failed alert is logged, not retried)."""
    if not ids:
        return
    try:
        rows = alert_rows(Violation.objects.filter(pk__in=ids)).order_by("started_at")
        publish_alert_rows(list(rows))
    except Exception:
        log.exception("publishing %d new violation(s) failed", len(ids))


def publish_alert_rows(rows: list[dict[str, Any]]) -> None:
    """Send alert rows (``alert_rows``' shape) to the feed in one message."""
    payloads = [alert_payload(row) for row in rows]
    if payloads:
        _send({"type": NEW_VIOLATIONS, "violations": payloads})


def publish_review_changes(ids: list[int]) -> None:
    """Tell open feeds that these violations were screened (their status tags change)."""
    if not ids:
        return
    try:
        rows = Violation.objects.filter(pk__in=ids).values("pk", "review_status", "district_id",
                                                           "enterprise_id")
        reviews = [{"id": row["pk"], "review_status": row["review_status"],
                    "district_id": row["district_id"], "enterprise_id": row["enterprise_id"]}
                   for row in rows]
        if reviews:
            _send({"type": REVIEWED, "violations": reviews})
    except Exception:
        log.exception("publishing review changes of %d violation(s) failed", len(ids))
