"""The scheduler's bulletin jobs: last week's bulletin on Mondays, last month's review on the
2nd (after the monthly assessment of the 1st). A period already published is left as it is."""

from __future__ import annotations

import logging

from django.utils import timezone

from compliance.bulletins.periods import BulletinKind, Period
from compliance.bulletins.services import BulletinError, publish_bulletin

log = logging.getLogger(__name__)


def publish_last(kind: str) -> object | None:
    """Publish the last complete period of ``kind``; None when it is already published."""
    period = Period.last_complete(kind, timezone.localdate())
    try:
        bulletin = publish_bulletin(kind=kind, period_start=period.start, actor=None)
    except BulletinError as error:
        if error.code != BulletinError.EXISTS:
            raise
        log.info("bulletin %s already published", period.slug)
        return None
    log.info("bulletin %s published", period.slug)
    return bulletin


def weekly_job() -> None:
    publish_last(BulletinKind.WEEKLY)


def monthly_job() -> None:
    publish_last(BulletinKind.MONTHLY)
