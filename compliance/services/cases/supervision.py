"""督办 (supervision): a notice to the handling district with its own reply deadline, raised by
hand for key cases and by the scheduler when a district misses a deadline; the district replies.
A notice names its units (``Supervision.units``): on a case dispatched to two districts, the one
that missed its deadline is supervised, not the other; only a named unit sees it in its inbox
and may reply.

Automatic supervision covers the districts' stages only — signing for a case (accept) and
handling it (including a leader's pending approval) — once per unit, stage and deadline: a unit
that misses its handling deadline gets one notice, however often the scheduler runs; when the
city returns the case the new deadline can earn a new one. The city's own stages (dispatch,
verify) show as overdue on its lists but are not 督办: the bureau does not supervise itself.
The case keeps ``supervised = True`` from the first notice on (the KPI counts supervised cases).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.roles import Capability
from compliance.deadlines import deadline_for
from compliance.models import (
    AssignmentState,
    Case,
    CaseAssignment,
    CaseEvent,
    Stage,
    Supervision,
)
from compliance.services.cases import core
from compliance.services.cases.core import (
    DISTRICT_STAGES,
    PENDING_ASSIGNMENT,
    active_assignments,
    check_seen,
    check_state,
    clean_text,
    lock_case,
    move_case,
    record,
    require,
)
from compliance.services.cases.errors import CaseError
from compliance.services.cases.notify import bureau_staff, district_staff, notify

log = logging.getLogger(__name__)

REASON_MAX = Supervision._meta.get_field("reason").max_length
MAX_REPLY_WITHIN = dt.timedelta(days=30)
SUPERVISED = gettext_lazy("督办：%(number)s %(title)s")
REPLIED = gettext_lazy("督办已回复：%(number)s %(title)s")
OVERDUE_REASON = {
    Stage.ACCEPT: gettext_lazy("%(district)s逾期未签收（时限 %(deadline)s）"),
    Stage.HANDLE: gettext_lazy("%(district)s逾期未办结（时限 %(deadline)s）"),
}


def supervise_case(*, case: Case, actor: User, reason: str,
                   reply_within: dt.timedelta | None = None) -> Supervision:
    """督办 by hand, to every unit still working on the case. ``reply_within``: the reply
    deadline from now (default: the supervision-reply limit of the case's source)."""
    with transaction.atomic():
        locked = lock_case(case.pk, actor)
        require(actor, Capability.SUPERVISE_CASES)
        check_seen(locked, case.state)
        check_state(locked, DISTRICT_STAGES)
        reason = clean_text(reason, required=True, what=_("督办事由"))
        if len(reason) > REASON_MAX:
            raise CaseError(CaseError.INVALID_INPUT,
                            _("督办事由不能超过 %(n)d 个字") % {"n": REASON_MAX})
        if reply_within is not None and not dt.timedelta(0) < reply_within <= MAX_REPLY_WITHIN:
            raise CaseError(CaseError.INVALID_INPUT, _("回复时限须在 30 天以内"))
        at = core.now()
        reply_deadline = (at + reply_within if reply_within is not None
                          else deadline_for(locked.source, Stage.SUPERVISION_REPLY, at))
        units = [a.district_id for a in active_assignments(locked)
                 if a.state in PENDING_ASSIGNMENT]
        supervision = _raise(locked, actor=actor, reason=reason, reply_deadline=reply_deadline,
                             units=units, detail={"auto": False})
    case.refresh_from_db()
    return supervision


def raise_overdue_supervision(*, now: dt.datetime | None = None) -> list[Supervision]:
    """Scheduler (every minute): one automatic supervision per overdue unit, stage and deadline.
    Each case in its own transaction; a case someone is acting on right now is skipped (its
    row is locked) and picked up by the next run."""
    moment = now or timezone.now()
    overdue = list(CaseAssignment.objects.filter(
        state__in=PENDING_ASSIGNMENT, deadline__lt=moment, case__state__in=DISTRICT_STAGES)
        .order_by("deadline", "pk").values_list("pk", "case_id", "state", "deadline"))
    # Missed deadlines already supervised (one query), so a long-overdue case costs nothing.
    done = {(d["assignment"], d["stage"], d["deadline"]) for d in CaseEvent.objects.filter(
        case_id__in={row[1] for row in overdue}, action="supervise", detail__auto=True)
        .values_list("detail", flat=True)}
    raised = []
    for assignment_id, case_id, state, deadline in overdue:
        key = _key(assignment_id, _stage(state), deadline)
        if (key["assignment"], key["stage"], key["deadline"]) in done:
            continue
        try:
            supervision = _raise_overdue(assignment_id, case_id, moment)
        except Exception:
            log.exception("automatic supervision of case %s failed", case_id)
            continue
        if supervision is not None:
            raised.append(supervision)
    return raised


def reply_supervision(*, supervision: Supervision, actor: User, reply: str) -> Supervision:
    """The supervised district answers (once); operators or leaders of a unit on the case."""
    with transaction.atomic():
        case = lock_case(supervision.case_id, actor)
        if not (actor.can(Capability.HANDLE_CASES) or actor.can(Capability.APPROVE_CASES)):
            raise CaseError(CaseError.FORBIDDEN, _("你没有执行此案件操作的权限"))
        # The units it was addressed to that are still on the case (not re-dispatched away).
        units = ({a.district_id for a in active_assignments(case)}
                 & set(supervision.units.values_list("pk", flat=True)))
        if not units & set(actor.scope.district_ids):
            raise CaseError(CaseError.FORBIDDEN, _("只有被督办的承办区县可以回复督办"))
        reply = clean_text(reply, required=True, what=_("督办回复"))
        at = core.now()
        updated = Supervision.objects.filter(pk=supervision.pk, case=case,
                                             replied_at__isnull=True).update(
            replied_at=at, replied_by=actor, reply=reply)
        if updated != 1:
            if not Supervision.objects.filter(pk=supervision.pk, case=case).exists():
                raise core.not_found()
            raise CaseError(CaseError.CONFLICT, _("该督办已有回复，本次回复未保存"))
        record(case=case, actor=actor, action="supervision_reply", from_state=case.state,
               to_state=case.state, note=reply,
               district_id=next(iter(sorted(units & set(actor.scope.district_ids)))),
               detail={"supervision": supervision.pk})
        raised_by = (User.objects.filter(pk=supervision.raised_by_id, is_active=True)
                     if supervision.raised_by_id else bureau_staff(Capability.SUPERVISE_CASES))
        notify(raised_by, kind="supervision_replied", title=REPLIED, case=case, actor=actor)
    supervision.refresh_from_db()
    return supervision


def _raise(case: Case, *, actor: User | None, reason: str, reply_deadline: dt.datetime,
           units: list[int], detail: dict[str, object]) -> Supervision:
    supervision = Supervision.objects.create(case=case, raised_by=actor, reason=reason,
                                             reply_deadline=reply_deadline)
    supervision.units.set(units)
    move_case(case, from_state=case.state, to_state=case.state, supervised=True)
    record(case=case, actor=actor, action="supervise", from_state=case.state,
           to_state=case.state, note=reason, district_id=units[0] if units else None,
           detail={**detail, "supervision": supervision.pk,
                   "reply_deadline": reply_deadline.isoformat()})
    notify(district_staff(units, Capability.HANDLE_CASES, Capability.APPROVE_CASES),
           kind="case_supervised", title=SUPERVISED, case=case, actor=actor)
    return supervision


def _stage(state: str) -> str:
    return Stage.ACCEPT if state == AssignmentState.DISPATCHED else Stage.HANDLE


def _key(assignment_id: int, stage: str, deadline: dt.datetime) -> dict[str, object]:
    return {"auto": True, "assignment": assignment_id, "stage": stage,
            "deadline": deadline.astimezone(dt.UTC).isoformat()}


def _raise_overdue(assignment_id: int, case_id: int, moment: dt.datetime) -> Supervision | None:
    with transaction.atomic():
        case = (Case.objects.select_for_update(of=("self",), skip_locked=True)
                .filter(pk=case_id, state__in=DISTRICT_STAGES).first())
        if case is None:
            return None
        # Read again under the lock: the district may have acted since the scan.
        assignment = (CaseAssignment.objects.select_related("district")
                      .filter(pk=assignment_id, state__in=PENDING_ASSIGNMENT,
                              deadline__lt=moment).first())
        if assignment is None:
            return None
        stage = _stage(assignment.state)
        key = _key(assignment.pk, stage, assignment.deadline)
        if CaseEvent.objects.filter(case=case, action="supervise", detail__contains=key).exists():
            return None
        with translation.override(settings.LANGUAGE_CODE):  # stored text: the platform's
            reason = str(OVERDUE_REASON[stage]) % {
                "district": assignment.district.name,
                "deadline": timezone.localtime(assignment.deadline).strftime("%m-%d %H:%M")}
        reply_deadline = deadline_for(case.source, Stage.SUPERVISION_REPLY, moment)
        return _raise(case, actor=None, reason=reason[:REASON_MAX],
                      reply_deadline=reply_deadline, units=[assignment.district_id],
                      detail=key)

