"""What every case transition shares: the scope and capability gate, the row lock, the
conditional updates, and the event plus audit row each transition writes.

The order of checks is the same everywhere: out of the actor's scope → ``not_found`` (existence is
not revealed); in scope but not the actor's role → ``forbidden``; the case (or assignment) is no
longer in the state the actor saw → ``conflict``; the state does not allow the step →
``invalid_transition``; then the inputs.

Concurrency: each transition locks the case row first (``SELECT … FOR UPDATE``), so transitions
of one case queue up — a double-dispatch case whose two units report at the same moment still
sees both reports when deciding that it is handled. Every write is also a conditional
``UPDATE … WHERE state = <the state the actor saw>``; the second of two people acting on one page
state finds the row changed and gets ``conflict`` naming who acted and when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import audit
from accounts.models import User
from accounts.roles import ROLE_CAPABILITIES
from compliance.models import (
    AssignmentState,
    Case,
    CaseAssignment,
    CaseEvent,
    CaseState,
)
from compliance.services.cases.errors import CaseError

NOTE_MAX = 2000
# An assignment still owed by its district (a clock runs on it).
PENDING_ASSIGNMENT = (AssignmentState.DISPATCHED, AssignmentState.ACCEPTED,
                      AssignmentState.RETURNED, AssignmentState.AWAITING_APPROVAL)
# Case states in which a district is at work (its deadlines, its supervision).
DISTRICT_STAGES = (CaseState.DISPATCHED, CaseState.ACCEPTED, CaseState.RETURNED)


def now() -> dt.datetime:
    return timezone.now()


def roles_with(capability: str) -> list[str]:
    return [role for role, caps in ROLE_CAPABILITIES.items() if capability in caps]


def require(actor: User | None, capability: str) -> None:
    """``actor=None`` is the platform itself (scheduler, pipeline hook): always allowed."""
    if actor is not None and not actor.can(capability):
        raise CaseError(CaseError.FORBIDDEN, _("你没有执行此案件操作的权限"))


def not_found() -> CaseError:
    return CaseError(CaseError.NOT_FOUND, _("案件不存在或不在你的管辖范围内"))


def lock_case(case_id: int, actor: User | None) -> Case:
    """The case row, locked, if the actor may see it."""
    queryset = Case.objects.all() if actor is None else Case.objects.visible_to(actor)
    try:
        return queryset.select_for_update(of=("self",)).get(pk=case_id)
    except Case.DoesNotExist:
        raise not_found() from None


def lock_assignment(assignment: CaseAssignment, actor: User | None) -> tuple[Case,
                                                                             CaseAssignment]:
    """The assignment's case (locked first, as every transition does) and the assignment, if it
    belongs to one of the actor's districts (bureau staff: any)."""
    queryset = (CaseAssignment.objects.all() if actor is None
                else CaseAssignment.objects.visible_to(actor))
    if not queryset.filter(pk=assignment.pk).exists():
        raise not_found()
    case = lock_case(assignment.case_id, None)
    fresh = CaseAssignment.objects.select_related("district").get(pk=assignment.pk)
    return case, fresh


def _last_change(case: Case) -> str:
    event = (CaseEvent.objects.filter(case=case).select_related("actor")
             .order_by("-at", "-pk").first())
    if event is None:
        return ""
    who = str(event.actor) if event.actor_id else _("系统")
    return _("（%(who)s 于 %(when)s）") % {
        "who": who, "when": timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M")}


def conflict(case: Case) -> CaseError:
    return CaseError(CaseError.CONFLICT, _(
        "案件 %(number)s 已被他人处理，当前状态为“%(state)s”%(last)s，本次操作未生效，请刷新后重试")
        % {"number": case.number, "state": case.get_state_display(), "last": _last_change(case)})


def check_seen(locked: Case, seen_state: str) -> None:
    """The actor acted on what they saw: a page loaded before someone else's step is stale."""
    if locked.state != seen_state:
        raise conflict(locked)


def check_state(case: Case, allowed: Iterable[str]) -> None:
    if case.state not in tuple(allowed):
        raise CaseError(CaseError.INVALID_TRANSITION, _(
            "案件当前状态为“%(state)s”，不能执行此操作") % {"state": case.get_state_display()})


def check_assignment(case: Case, assignment: CaseAssignment, seen_state: str,
                     allowed: Iterable[str]) -> None:
    if assignment.state != seen_state:
        raise conflict(case)
    if assignment.state not in tuple(allowed):
        raise CaseError(CaseError.INVALID_TRANSITION, _(
            "%(district)s的承办状态为“%(state)s”，不能执行此操作") % {
            "district": assignment.district.name, "state": assignment.get_state_display()})


def clean_text(text: str | None, *, required: bool = False, what: str = "",
               code: str = CaseError.REASON_REQUIRED) -> str:
    text = (text or "").strip()
    if required and not text:
        raise CaseError(code, _("请填写%(what)s") % {
            "what": what or _("原因")})
    if len(text) > NOTE_MAX:
        raise CaseError(CaseError.INVALID_INPUT, _("说明不能超过 %(n)d 个字") % {"n": NOTE_MAX})
    return text


def move_case(case: Case, *, from_state: str, to_state: str, **fields: Any) -> None:
    """``UPDATE case SET state = to_state … WHERE id = … AND state = from_state``; the instance
    follows. A changed row means someone else won: nothing is written."""
    fields.setdefault("updated_at", now())
    updated = Case.objects.filter(pk=case.pk, state=from_state).update(state=to_state, **fields)
    if updated != 1:
        case.refresh_from_db()
        raise conflict(case)
    case.state = to_state
    for name, value in fields.items():
        setattr(case, name, value)


def move_assignment(case: Case, assignment: CaseAssignment, *, from_state: str, to_state: str,
                    **fields: Any) -> None:
    updated = (CaseAssignment.objects.filter(pk=assignment.pk, state=from_state)
               .update(state=to_state, **fields))
    if updated != 1:
        raise conflict(case)
    assignment.state = to_state
    for name, value in fields.items():
        setattr(assignment, name, value)


def active_assignments(case: Case) -> list[CaseAssignment]:
    return list(case.assignments.exclude(state=AssignmentState.WITHDRAWN)
                .select_related("district").order_by("pk"))


def district_deadline(assignments: Iterable[CaseAssignment]) -> dt.datetime | None:
    """The case's clock while districts work: the earliest deadline a unit still owes."""
    owed = [a.deadline for a in assignments
            if a.state in PENDING_ASSIGNMENT and a.deadline is not None]
    return min(owed) if owed else None


def record(*, case: Case, actor: User | None, action: str, from_state: str, to_state: str,
           note: str = "", district_id: int | None = None,
           detail: dict[str, Any] | None = None) -> CaseEvent:
    """The transition's immutable event and its audit row (same transaction as the change)."""
    detail = detail or {}
    event = CaseEvent.objects.create(case=case, actor=actor, action=action,
                                     from_state=from_state, to_state=to_state,
                                     district_id=district_id, note=note, detail=detail)
    audit.record(actor=actor, action=f"case_{action}", object_type="case", object_id=case.pk,
                 detail={"number": case.number, "from": from_state, "to": to_state,
                         "note": note, "district": district_id, **detail})
    return event
