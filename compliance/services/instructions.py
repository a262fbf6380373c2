"""指令下发: the city issues a written instruction to districts; each district acknowledges it
(签收) once, with an optional reply.

The target row's ``acknowledged_at`` / ``acknowledged_by`` / ``reply`` are the record of the
acknowledgement; each write also leaves an audit row (accounts.audit) and notifies the people
concerned after the commit. Errors are ``CaseError`` with the workflow's stable codes
(``not_found`` for anything outside the actor's scope, ``forbidden``, ``conflict``,
``invalid_input``, ``invalid_districts``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import audit
from accounts.models import User
from accounts.roles import Capability
from compliance.models import Instruction, InstructionTarget, Notification
from compliance.selectors_desk import visible_targets
from compliance.services.cases.errors import CaseError
from compliance.services.cases.notify import district_staff, notify_duty
from fleet.models import District

TITLE_MAX = 200  # Instruction.title
BODY_MAX = 5000
REPLY_MAX = 2000

ISSUED = gettext_lazy("新指令待签收：%(title)s")
ACKNOWLEDGED = gettext_lazy("%(district)s已签收指令：%(title)s")


def require(actor: User, capability: str) -> None:
    if not actor.can(capability):
        raise CaseError(CaseError.FORBIDDEN, _("你没有执行此操作的权限"))


def instruction_url(instruction: Instruction) -> str:
    return reverse("compliance:instruction_detail", args=[instruction.pk])


def _text(value: str | None, *, what: str, limit: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CaseError(CaseError.INVALID_INPUT, _("请填写%(what)s") % {"what": what})
    if len(value) > limit:
        raise CaseError(CaseError.INVALID_INPUT, _("%(what)s不能超过 %(n)d 个字") % {
            "what": what, "n": limit})
    return value


def issue_instruction(*, title: str, body: str, districts: Iterable[District],
                      acknowledge_by: dt.datetime, actor: User) -> Instruction:
    """One instruction, one target per district (duplicates folded), the districts' staff
    notified on commit. ``districts`` must be visible to the actor; "all districts" is the
    caller's list of them."""
    require(actor, Capability.ISSUE_INSTRUCTIONS)
    title = _text(title, what=_("指令标题"), limit=TITLE_MAX)
    body = _text(body, what=_("指令内容"), limit=BODY_MAX)
    wanted = list(dict.fromkeys(d.pk for d in districts))
    if not wanted:
        raise CaseError(CaseError.INVALID_DISTRICTS, _("请选择接收指令的区县"))
    found = set(District.objects.visible_to(actor).filter(pk__in=wanted)
                .values_list("pk", flat=True))
    if found != set(wanted):
        raise CaseError(CaseError.INVALID_DISTRICTS, _("所选区县不存在或不在你的管辖范围内"))
    if acknowledge_by is None or timezone.is_naive(acknowledge_by):
        raise CaseError(CaseError.INVALID_INPUT, _("请填写签收时限"))
    if acknowledge_by <= timezone.now():
        raise CaseError(CaseError.INVALID_INPUT, _("签收时限须晚于当前时间"))
    with transaction.atomic():
        instruction = Instruction.objects.create(title=title, body=body, issued_by=actor,
                                                 acknowledge_by=acknowledge_by)
        InstructionTarget.objects.bulk_create(
            [InstructionTarget(instruction=instruction, district_id=pk) for pk in wanted])
        audit.record(actor=actor, action="instruction_issue", object_type="instruction",
                     object_id=instruction.pk, detail={
                         "title": title, "districts": wanted,
                         "acknowledge_by": acknowledge_by.isoformat()})
        notify_duty(district_staff(wanted, Capability.ACKNOWLEDGE_INSTRUCTIONS),
                    kind="instruction_issued", title=ISSUED, url=instruction_url(instruction),
                    actor=actor, params={"title": title})
    return instruction


def _conflict(target: InstructionTarget) -> CaseError:
    who = str(target.acknowledged_by) if target.acknowledged_by_id else _("他人")
    when = timezone.localtime(target.acknowledged_at).strftime("%Y-%m-%d %H:%M")
    return CaseError(CaseError.CONFLICT, _(
        "该指令已由%(who)s于 %(when)s 签收，本次签收未生效") % {"who": who, "when": when})


def acknowledge_instruction(*, target: InstructionTarget, actor: User,
                            reply: str = "") -> InstructionTarget:
    """签收 for one district, once: a conditional ``UPDATE … WHERE acknowledged_at IS NULL``;
    the second person gets ``conflict`` naming who signed and when."""
    if not visible_targets(actor).filter(pk=target.pk).exists():
        raise CaseError(CaseError.NOT_FOUND, _("指令不存在或不在你的管辖范围内"))
    require(actor, Capability.ACKNOWLEDGE_INSTRUCTIONS)
    if target.district_id not in actor.scope.district_ids:
        # Bureau staff see every target but sign for no district.
        raise CaseError(CaseError.FORBIDDEN, _("只有接收指令的区县可以签收"))
    reply = _text(reply, what=_("回复"), limit=REPLY_MAX, required=False)
    with transaction.atomic():
        at = timezone.now()
        updated = (InstructionTarget.objects.filter(pk=target.pk, acknowledged_at__isnull=True)
                   .update(acknowledged_at=at, acknowledged_by=actor, reply=reply))
        fresh = (InstructionTarget.objects.select_related("instruction", "district",
                                                          "acknowledged_by")
                 .get(pk=target.pk))
        if updated != 1:
            raise _conflict(fresh)
        instruction = fresh.instruction
        audit.record(actor=actor, action="instruction_acknowledge",
                     object_type="instruction", object_id=instruction.pk, detail={
                         "target": fresh.pk, "district": fresh.district_id, "reply": reply,
                         "late": at > instruction.acknowledge_by})
        # The actor's own "please acknowledge" notice has done its job.
        Notification.objects.filter(user=actor, kind="instruction_issued",
                                    url=instruction_url(instruction),
                                    read_at__isnull=True).update(read_at=at)
        issuer = User.objects.filter(pk=instruction.issued_by_id, is_active=True)
        notify_duty(issuer, kind="instruction_acknowledged", title=ACKNOWLEDGED,
                    url=instruction_url(instruction), actor=actor,
                    params={"district": fresh.district.name, "title": instruction.title})
    for name in ("acknowledged_at", "acknowledged_by_id", "reply"):
        setattr(target, name, getattr(fresh, name))
    return fresh
