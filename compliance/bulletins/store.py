"""Where a bulletin's data comes from: its frozen copy once published, else built on demand
(a live preview whose figures follow the data)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from compliance.bulletins.build import build_bulletin
from compliance.bulletins.data import BulletinData
from compliance.bulletins.periods import Period
from compliance.bulletins.snapshot import from_json
from compliance.models import Bulletin


def published(period: Period) -> Any:
    """The published row of the period, or None."""
    return (Bulletin.objects.select_related("generated_by")
            .filter(kind=period.kind, period_start=period.start).first())


def published_times(kind: str, starts: list[dt.date]) -> dict[dt.date, dt.datetime]:
    return dict(Bulletin.objects.filter(kind=kind, period_start__in=starts)
                .values_list("period_start", "generated_at"))


def bulletin_data(period: Period) -> tuple[BulletinData, Any]:
    """(the data to show, the published row or None)."""
    row = published(period)
    if row is not None:
        return from_json(row.data), row
    return build_bulletin(period.kind, period.start), None
