"""Publishing a bulletin: build it, print it (PDF and workbook), freeze it, tell its readers."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import audit
from accounts.models import User
from accounts.roles import Capability
from compliance.bulletins import access, excel, pdf
from compliance.bulletins.build import build_bulletin
from compliance.bulletins.periods import Period, PeriodError
from compliance.bulletins.snapshot import to_json
from compliance.models.bulletins import Bulletin
from compliance.services.cases.notify import bureau_staff, district_staff, notify_duty
from fleet.models import District

log = logging.getLogger(__name__)


class BulletinError(Exception):
    FORBIDDEN = "forbidden"
    INVALID_PERIOD = "invalid_period"  # not a week/month start, or the period is not over
    EXISTS = "exists"  # already published; replace=True to regenerate
    CONFLICT = "conflict"  # someone else published it at the same moment

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _period(kind: str, period_start: dt.date, now: dt.datetime) -> Period:
    try:
        period = Period.of(kind, period_start)
    except PeriodError as error:
        raise BulletinError(BulletinError.INVALID_PERIOD, str(error)) from None
    if not period.is_over(now):
        raise BulletinError(BulletinError.INVALID_PERIOD, _(
            "统计期 %(start)s 至 %(end)s 尚未结束，结束后才能发布") % {
            "start": period.start, "end": period.end})
    return period


def publish_bulletin(*, kind: str, period_start: dt.date, actor: User | None = None,
                     replace: bool = False) -> Bulletin:
    """The period's bulletin, built now and stored with its PDF and workbook. A published one
    is returned untouched unless ``replace``: what was circulated stays what it was until the
    bureau explicitly regenerates it. ``actor=None``: the scheduler."""
    if actor is not None and not access.may_publish(actor):
        raise BulletinError(BulletinError.FORBIDDEN, _("只有市局监管人员可以生成通报"))
    now = timezone.now()
    period = _period(kind, period_start, now)
    existing = Bulletin.objects.filter(kind=kind, period_start=period.start).first()
    if existing is not None and not replace:
        raise BulletinError(BulletinError.EXISTS, _("该期通报已发布；如需重新生成请确认替换"))
    # The heavy part (queries, printing) outside the transaction: nothing is locked meanwhile.
    data = build_bulletin(kind, period.start, moment=now)
    pdf_bytes, xlsx_bytes = pdf.document(data), excel.workbook(data)
    stamp = f"{timezone.localtime(now):%Y%m%d%H%M%S}"
    old_files: list[tuple[object, str]] = []
    new_files: list[tuple[object, str]] = []
    try:
        with transaction.atomic():
            bulletin = (Bulletin.objects.select_for_update()
                        .filter(kind=kind, period_start=period.start).first())
            if bulletin is not None and not replace:
                raise BulletinError(BulletinError.EXISTS,
                                    _("该期通报已发布；如需重新生成请确认替换"))
            if bulletin is None:
                bulletin = Bulletin(kind=kind, period_start=period.start)
            else:
                old_files = [(bulletin.pdf.storage, bulletin.pdf.name),
                             (bulletin.xlsx.storage, bulletin.xlsx.name)]
                bulletin.revision += 1
            bulletin.period_end = period.end
            bulletin.generated_at = now
            bulletin.generated_by = actor
            bulletin.data = to_json(data)
            bulletin.pdf.save(f"{period.slug}-{stamp}.pdf", ContentFile(pdf_bytes), save=False)
            bulletin.xlsx.save(f"{period.slug}-{stamp}.xlsx", ContentFile(xlsx_bytes),
                               save=False)
            new_files = [(bulletin.pdf.storage, bulletin.pdf.name),
                         (bulletin.xlsx.storage, bulletin.xlsx.name)]
            bulletin.save()
            audit.record(actor=actor, action="bulletin_publish", object_type="bulletin",
                         object_id=bulletin.pk,
                         detail={"kind": kind, "period_start": period.start.isoformat(),
                                 "revision": bulletin.revision, "replace": replace})
            _announce(period, bulletin.revision, actor)
            # The replaced files go once the new row is committed (a rollback keeps them).
            transaction.on_commit(lambda: _delete(old_files))
    except IntegrityError:
        _delete(new_files)
        raise BulletinError(BulletinError.CONFLICT,
                            _("该期通报刚刚已由他人生成，请刷新后查看")) from None
    except BaseException:
        _delete(new_files)  # nothing was written: no file left behind either
        raise
    return bulletin


def _announce(period: Period, revision: int, actor: User | None) -> None:
    """Everyone who reads bulletins (``access.may_read``: the city's and the districts' case
    staff) is told, in the bell and live, that one is out — or that it was regenerated, which
    they must know since they may have circulated the earlier one."""
    readers = [*bureau_staff(Capability.VIEW_CASES),
               *district_staff(District.objects.values_list("pk", flat=True),
                               Capability.VIEW_CASES)]
    with translation.override(settings.LANGUAGE_CODE):
        name = period.title
    title = (gettext_lazy("%(title)s已发布") if revision == 0
             else gettext_lazy("%(title)s已重新生成（第%(revision)d次修订），请以新版为准"))
    notify_duty(readers, kind="bulletin_published", title=title, actor=actor,
                url=reverse("compliance:bulletin_detail",
                            args=[period.kind, period.start.isoformat()]),
                params={"title": name, "revision": revision})


def _delete(files: list[tuple[object, str]]) -> None:
    for storage, name in files:
        try:
            storage.delete(name)  # type: ignore[attr-defined]
        except OSError:
            log.warning("could not delete the replaced bulletin file %s", name)
