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
from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import Scope
from compliance.models import ReviewStatus, Violation
from fleet.live.groups import scoped_groups
from fleet.live.sender import sender

log = logging.getLogger(__name__)

CITY = "alerts-city"
NEW_VIOLATION = "alerts.violation"
REVIEWED = "alerts.reviewed"
# Only what a payload needs: evidence and track can be large.
_PAYLOAD_FIELDS = ("rule", "severity", "vehicle_kind", "started_at", "location", "review_status",
                   "detected_at", "vehicle__plate", "district__name", "enterprise__name")


def district_group(district_id: int) -> str:
    return f"alerts-district-{district_id}"


def enterprise_group(enterprise_id: int) -> str:
    return f"alerts-enterprise-{enterprise_id}"


def groups_for_scope(scope: Scope) -> list[str]:
    return scoped_groups(scope, city=CITY, district=district_group, enterprise=enterprise_group)


def groups_for_violation(violation: Violation) -> list[str]:
    return [CITY, district_group(violation.district_id),
            enterprise_group(violation.enterprise_id)]


def alert_rows(queryset: QuerySet[Violation]) -> QuerySet[Violation]:
    """The violations of ``queryset`` that belong in the feed, with what a payload reads (one
    query). Data-quality records (gps_drift) are counted, not acted on: they are left out."""
    return (queryset.exclude(review_status=ReviewStatus.RECORDED)
            .select_related("vehicle", "district", "enterprise").only(*_PAYLOAD_FIELDS))


def alert_payload(violation: Violation) -> dict[str, Any]:
    location = violation.location
    return {
        "id": violation.pk,
        "rule": violation.rule,
        "rule_label": str(violation.get_rule_display()),
        "severity": violation.severity,
        "plate": violation.vehicle.plate,
        "vehicle_kind": violation.vehicle_kind,
        "district": {"id": violation.district_id, "name": violation.district.name},
        "enterprise": violation.enterprise.name,
        "enterprise_id": violation.enterprise_id,
        "started_at": violation.started_at.isoformat(),
        "lon": round(location.x, 6) if location is not None else None,
        "lat": round(location.y, 6) if location is not None else None,
        "review_status": violation.review_status,
        "url": reverse("compliance:violation_detail", args=[violation.pk]),
        "detected_at": violation.detected_at.isoformat(),
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
        rows = Violation.objects.filter(pk__in=ids).only("review_status", "district", "enterprise")
        _send((groups_for_violation(v),
               {"type": REVIEWED, "violation": {"id": v.pk, "review_status": v.review_status}})
              for v in rows)
    except Exception:
        log.exception("publishing review changes of %d violation(s) failed", len(ids))
