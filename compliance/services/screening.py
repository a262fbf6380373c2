"""Screening (甄别): a person confirms a violation (it goes on to become a case) or dismisses it
with a reason.

Each call is one transaction: the rows are locked, changed only while still pending (``UPDATE …
WHERE review_status = 'pending'``) and every change writes one audit row. Two people acting at
once cannot both win: the second finds the row already screened and is told by whom. Only
violations the actor may see can be screened, only with the screening capability, and data-quality
records (``recorded``) never.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import audit
from accounts.models import User
from accounts.roles import Capability
from compliance import live
from compliance.catalogue import RULES
from compliance.models import ReviewStatus, Violation

CONFIRM_ACTION = "violation_confirm"
DISMISS_ACTION = "violation_dismiss"
NOTE_MAX = Violation._meta.get_field("review_note").max_length
MAX_BULK = 500


class ScreeningError(Exception):
    """A refusal with a stable ``code`` for programs and a ``message`` for people."""

    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "already_screened"
    NOT_SCREENABLE = "not_screenable"
    REASON_REQUIRED = "reason_required"
    NOTE_TOO_LONG = "note_too_long"
    NOTHING_SELECTED = "nothing_selected"
    TOO_MANY = "too_many"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Skipped:
    """A violation someone had screened before this action reached it."""

    id: int
    plate: str
    rule_label: str
    review_status: str
    status_label: str
    reviewed_by: str
    reviewed_at: dt.datetime | None

    @classmethod
    def of(cls, violation: Violation) -> Skipped:
        return cls(id=violation.pk, plate=violation.vehicle.plate,
                   rule_label=str(violation.get_rule_display()),
                   review_status=violation.review_status,
                   status_label=str(violation.get_review_status_display()),
                   reviewed_by=str(violation.reviewed_by) if violation.reviewed_by_id else "",
                   reviewed_at=violation.reviewed_at)

    def __str__(self) -> str:
        return _("%(plate)s %(rule)s（%(who)s%(status)s）") % {
            "plate": self.plate, "rule": self.rule_label, "who": self.reviewed_by or _("系统"),
            "status": self.status_label}


@dataclass(frozen=True)
class ScreeningResult:
    changed: tuple[int, ...]
    skipped: tuple[Skipped, ...]

    @property
    def count(self) -> int:
        return len(self.changed)


def confirm_violation(*, violation: Violation, actor: User, note: str = "") -> Violation:
    _screen_one(violation=violation, actor=actor, status=ReviewStatus.CONFIRMED,
                note=_clean_note(note))
    return violation


def dismiss_violation(*, violation: Violation, actor: User, reason: str) -> Violation:
    _screen_one(violation=violation, actor=actor, status=ReviewStatus.DISMISSED,
                note=_clean_reason(reason))
    return violation


def confirm_violations(*, ids: Iterable[int], actor: User, note: str = "") -> ScreeningResult:
    return _screen(ids=ids, actor=actor, status=ReviewStatus.CONFIRMED, note=_clean_note(note))


def dismiss_violations(*, ids: Iterable[int], actor: User, reason: str) -> ScreeningResult:
    return _screen(ids=ids, actor=actor, status=ReviewStatus.DISMISSED,
                   note=_clean_reason(reason))


def violation_confirmed_on_commit(violation_ids: list[int]) -> None:
    """What follows a confirmation once it is committed (also for violations the pipeline
    confirms by itself): the open alert feeds are told, and each violation becomes a case
    (idempotent; one that fails here is opened by the scheduler's sweep, never raised into the
    request whose confirmation is already committed)."""
    # Imported here: the case services import the violation models this module also serves.
    from compliance.services.cases import open_cases_for_violations

    live.publish_review_changes(violation_ids)
    open_cases_for_violations(violation_ids)


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ScreeningError(ScreeningError.NOTE_TOO_LONG,
                             _("说明不能超过 %(n)d 个字") % {"n": NOTE_MAX})
    return note


def _clean_reason(reason: str) -> str:
    reason = _clean_note(reason)
    if not reason:
        raise ScreeningError(ScreeningError.REASON_REQUIRED, _("排除违规须填写原因"))
    return reason


def _screen_one(*, violation: Violation, actor: User, status: str, note: str) -> None:
    result = _screen(ids=[violation.pk], actor=actor, status=status, note=note)
    if result.skipped:
        skipped = result.skipped[0]
        raise ScreeningError(ScreeningError.CONFLICT, _(
            "该违规已被%(who)s于 %(when)s 甄别为“%(status)s”，本次操作未生效") % {
            "who": skipped.reviewed_by or _("系统"),
            "when": timezone.localtime(skipped.reviewed_at).strftime("%Y-%m-%d %H:%M")
            if skipped.reviewed_at else "—",
            "status": skipped.status_label})
    violation.refresh_from_db(fields=["review_status", "reviewed_by", "reviewed_at",
                                      "review_note", "updated_at"])


def _screen(*, ids: Iterable[int], actor: User, status: str, note: str) -> ScreeningResult:
    if not actor.can(Capability.SCREEN_VIOLATIONS):
        raise ScreeningError(ScreeningError.FORBIDDEN, _("你没有甄别违规的权限"))
    wanted = sorted(set(ids))
    if not wanted:
        raise ScreeningError(ScreeningError.NOTHING_SELECTED, _("请先选择要甄别的违规"))
    if len(wanted) > MAX_BULK:
        raise ScreeningError(ScreeningError.TOO_MANY,
                             _("一次最多甄别 %(n)d 条") % {"n": MAX_BULK})
    now = timezone.now()
    with transaction.atomic():
        # Locked in id order, so two bulk actions over overlapping rows queue instead of
        # deadlocking; the second then reads what the first wrote.
        rows = list(Violation.objects.visible_to(actor).filter(pk__in=wanted)
                    .select_related("vehicle", "reviewed_by")
                    .select_for_update(of=("self",), no_key=True).order_by("pk"))
        if len(rows) != len(wanted):
            raise ScreeningError(ScreeningError.NOT_FOUND, _("违规记录不存在或不在你的管辖范围内"))
        unscreenable = [v for v in rows if v.review_status == ReviewStatus.RECORDED
                        or not RULES[v.rule].screened]
        if unscreenable:
            raise ScreeningError(ScreeningError.NOT_SCREENABLE,
                                 _("数据质量记录（如定位漂移）只作统计，不能甄别"))
        pending = [v for v in rows if v.review_status == ReviewStatus.PENDING]
        changed = tuple(v.pk for v in pending)
        if changed:
            updated = (Violation.objects.filter(pk__in=changed, review_status=ReviewStatus.PENDING)
                       .update(review_status=status, reviewed_by=actor, reviewed_at=now,
                               review_note=note, updated_at=now))
            if updated != len(changed):  # cannot happen while the rows are locked; never half
                raise ScreeningError(ScreeningError.CONFLICT, _("违规已被他人甄别，请刷新后重试"))
            action = CONFIRM_ACTION if status == ReviewStatus.CONFIRMED else DISMISS_ACTION
            for violation in pending:
                audit.record(actor=actor, action=action, object_type="violation",
                             object_id=violation.pk,
                             detail={"rule": violation.rule, "from": ReviewStatus.PENDING,
                                     "to": status, "note": note, "bulk": len(wanted) > 1})
            after = (violation_confirmed_on_commit if status == ReviewStatus.CONFIRMED
                     else live.publish_review_changes)
            transaction.on_commit(partial(after, list(changed)))
    return ScreeningResult(changed=changed,
                           skipped=tuple(Skipped.of(v) for v in rows
                                         if v.review_status != ReviewStatus.PENDING))
