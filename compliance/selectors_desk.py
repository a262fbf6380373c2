"""Reads of duty supervision (指令下发, 查岗) and of the user's notifications, always scoped by
the requesting user. The models have no scoped manager of their own, so the scope rules live
here (``visible_*``) and the services use the same functions: what a user cannot read, they
cannot act on either (a 404, never a hint that it exists).

- Instructions: bureau staff see all; district staff the instructions sent to one of their
  districts, and of those only their own districts' targets; enterprises none.
- Check-posts: bureau staff see all; district staff those of their districts and of the
  enterprises registered in them; enterprise officers their enterprise's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Capability
from compliance.models import CheckPost, Instruction, InstructionTarget, Notification

if TYPE_CHECKING:
    from accounts.models import User

ONE_MINUTE = dt.timedelta(minutes=1)

# Check-post status, derived from the row: answered on time, answered late, missed (the window
# passed with no answer), waiting (the window is still open).
ON_TIME, LATE, MISSED, WAITING = "on_time", "late", "missed", "waiting"
# Instruction target status.
ACKNOWLEDGED, ACKNOWLEDGED_LATE, PENDING, OVERDUE = ("acknowledged", "acknowledged_late",
                                                     "pending", "overdue")
CHECKPOST_LABELS: dict[str, Any] = {ON_TIME: _("按时应答"), LATE: _("超时应答"),
                                    MISSED: _("未应答"), WAITING: _("待应答")}
TARGET_LABELS: dict[str, Any] = {ACKNOWLEDGED: _("已签收"), ACKNOWLEDGED_LATE: _("超时签收"),
                                 PENDING: _("待签收"), OVERDUE: _("已超时")}


def _signed_in(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


# --- Scope ------------------------------------------------------------------------------------


def visible_targets(user: User | None) -> QuerySet[InstructionTarget]:
    if not _signed_in(user):
        return InstructionTarget.objects.none()
    scope = user.scope
    if scope.everything:
        return InstructionTarget.objects.all()
    return InstructionTarget.objects.filter(district__in=scope.district_ids)


def visible_instructions(user: User | None) -> QuerySet[Instruction]:
    if not _signed_in(user):
        return Instruction.objects.none()
    if user.scope.everything:
        return Instruction.objects.all()
    return Instruction.objects.filter(
        pk__in=visible_targets(user).values("instruction_id"))


def visible_checkposts(user: User | None) -> QuerySet[CheckPost]:
    if not _signed_in(user):
        return CheckPost.objects.none()
    scope = user.scope
    if scope.everything:
        return CheckPost.objects.all()
    condition = Q(pk__in=[])
    if scope.district_ids:
        condition |= Q(district__in=scope.district_ids)
        condition |= Q(enterprise__district__in=scope.district_ids)
    if scope.enterprise_id is not None:
        condition |= Q(enterprise=scope.enterprise_id)
    return CheckPost.objects.filter(condition)


def answerable_checkposts(user: User | None) -> QuerySet[CheckPost]:
    """The check-posts the user's own desk must answer: their districts' (district staff) or
    their enterprise's (enterprise officers). A district does not answer for its enterprises."""
    if not _signed_in(user) or not user.can(Capability.ANSWER_CHECKPOSTS):
        return CheckPost.objects.none()
    scope = user.scope
    if scope.enterprise_id is not None:
        return CheckPost.objects.filter(enterprise=scope.enterprise_id)
    return CheckPost.objects.filter(district__in=scope.district_ids)


# --- Instructions -----------------------------------------------------------------------------


def target_status(target: InstructionTarget, acknowledge_by: dt.datetime,
                  now: dt.datetime) -> str:
    if target.acknowledged_at is not None:
        return ACKNOWLEDGED_LATE if target.acknowledged_at > acknowledge_by else ACKNOWLEDGED
    return OVERDUE if now > acknowledge_by else PENDING


@dataclass(frozen=True)
class TargetRow:
    target: InstructionTarget
    status: str

    @property
    def label(self) -> str:
        return str(TARGET_LABELS[self.status])


@dataclass(frozen=True)
class InstructionRow:
    instruction: Instruction
    targets: list[TargetRow]

    @property
    def counts(self) -> dict[str, int]:
        counts = {ACKNOWLEDGED: 0, PENDING: 0, OVERDUE: 0}
        for row in self.targets:
            key = ACKNOWLEDGED if row.status == ACKNOWLEDGED_LATE else row.status
            counts[key] += 1
        return counts


def _with_targets(user: User, queryset: QuerySet[Instruction]) -> QuerySet[Instruction]:
    targets = (visible_targets(user).select_related("district", "acknowledged_by")
               .order_by("district__code"))
    return queryset.select_related("issued_by").prefetch_related(
        Prefetch("targets", queryset=targets, to_attr="visible_targets"))


def instruction_rows(user: User, instructions: Any, *,
                     now: dt.datetime | None = None) -> list[InstructionRow]:
    """Rows for a page of instructions (targets prefetched by ``instructions(user)``)."""
    moment = now or timezone.now()
    return [InstructionRow(instruction=i, targets=[
        TargetRow(target=t, status=target_status(t, i.acknowledge_by, moment))
        for t in i.visible_targets]) for i in instructions]


def instructions(user: User) -> QuerySet[Instruction]:
    """The user's instructions, newest first, each with its visible targets prefetched (two
    queries for any number)."""
    return _with_targets(user, visible_instructions(user)).order_by("-issued_at", "-pk")


def instruction_detail(user: User, pk: int) -> Instruction:
    return get_object_or_404(instructions(user), pk=pk)


def instruction_inbox(user: User, *, now: dt.datetime | None = None) -> list[TargetRow]:
    """What the user's districts still have to acknowledge, overdue first, then by deadline;
    one query."""
    moment = now or timezone.now()
    if not _signed_in(user) or user.scope.everything:
        return []
    queryset = (visible_targets(user).filter(acknowledged_at__isnull=True)
                .select_related("instruction", "instruction__issued_by", "district")
                .order_by("instruction__acknowledge_by", "pk"))
    rows = [TargetRow(target=t, status=target_status(t, t.instruction.acknowledge_by, moment))
            for t in queryset]
    return sorted(rows, key=lambda row: row.status != OVERDUE)


def recently_acknowledged(user: User, *, limit: int = 20) -> QuerySet[InstructionTarget]:
    if not _signed_in(user) or user.scope.everything:
        return InstructionTarget.objects.none()
    return (visible_targets(user).filter(acknowledged_at__isnull=False)
            .select_related("instruction", "district", "acknowledged_by")
            .order_by("-acknowledged_at")[:limit])


# --- Check-posts ------------------------------------------------------------------------------


def with_status(queryset: QuerySet[CheckPost], *,
                now: dt.datetime | None = None) -> QuerySet[CheckPost]:
    """``due_at`` = sent_at + answer_within_minutes, and ``status`` (ON_TIME … WAITING) computed
    in the database, so lists and counts agree with the KPI's reading of the same rows."""
    moment = Value(now if now is not None else timezone.now())
    due = ExpressionWrapper(F("sent_at") + F("answer_within_minutes") * Value(ONE_MINUTE),
                            output_field=DateTimeField())
    return queryset.annotate(due_at=due).annotate(status=Case(
        When(answered_at__isnull=False, answered_at__lte=F("due_at"), then=Value(ON_TIME)),
        When(answered_at__isnull=False, then=Value(LATE)),
        When(due_at__lt=moment, then=Value(MISSED)),
        default=Value(WAITING), output_field=CharField()))


def checkposts(user: User, *, now: dt.datetime | None = None) -> QuerySet[CheckPost]:
    return (with_status(visible_checkposts(user), now=now)
            .select_related("district", "enterprise", "enterprise__district", "sent_by",
                            "answered_by")
            .order_by("-sent_at", "-pk"))


def desk_checkposts(user: User, *, now: dt.datetime | None = None) -> QuerySet[CheckPost]:
    return (with_status(answerable_checkposts(user), now=now)
            .select_related("district", "enterprise", "sent_by", "answered_by")
            .order_by("-sent_at", "-pk"))


@dataclass(frozen=True)
class ResponseRate:
    target: str  # the district's or enterprise's name
    kind: str  # "district" or "enterprise"
    sent: int
    on_time: int
    late: int
    missed: int
    waiting: int

    @property
    def rate(self) -> float | None:
        """On time ÷ sent (the KPI's definition); None when nothing was sent."""
        return self.on_time / self.sent if self.sent else None


def response_rates(user: User, *, start: dt.datetime, end: dt.datetime,
                   now: dt.datetime | None = None) -> list[ResponseRate]:
    """Per district and per enterprise, the check-posts sent in [start, end) by status; one
    query."""
    rows = (with_status(visible_checkposts(user), now=now)
            .filter(sent_at__gte=start, sent_at__lt=end).order_by()
            .values("district__name", "district__code", "enterprise__name",
                    "enterprise__district__code")
            .annotate(sent=Count("pk"),
                      on_time=Count("pk", filter=Q(status=ON_TIME)),
                      late=Count("pk", filter=Q(status=LATE)),
                      missed=Count("pk", filter=Q(status=MISSED)),
                      waiting=Count("pk", filter=Q(status=WAITING))))
    # Districts in code order, then enterprises by their district and name.
    ordered = sorted(rows, key=lambda row: (
        row["district__code"] is None,
        row["district__code"] or row["enterprise__district__code"], row["enterprise__name"] or ""))
    return [ResponseRate(
        target=row["district__name"] or row["enterprise__name"],
        kind="district" if row["district__name"] else "enterprise",
        sent=row["sent"], on_time=row["on_time"], late=row["late"], missed=row["missed"],
        waiting=row["waiting"]) for row in ordered]


# --- Notifications ----------------------------------------------------------------------------


def notifications(user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first."""
    if not _signed_in(user):
        return Notification.objects.none()
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")
