"""The district's steps: accept (签收), report the result (反馈), and — where the district's policy
asks for it — the leader's approval before the result goes back to the city.

A case becomes ``handled`` only when every active (not re-dispatched) assignment has a result
that went back to the city; with a double dispatch the first report leaves it in progress.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.roles import Capability
from compliance.deadlines import deadline_for
from compliance.models import (
    AssignmentState,
    Case,
    CaseAssignment,
    CaseState,
    DistrictCasePolicy,
    Outcome,
    Stage,
)
from compliance.services.cases.core import (
    DISTRICT_STAGES,
    active_assignments,
    check_assignment,
    check_state,
    clean_text,
    district_deadline,
    lock_assignment,
    move_assignment,
    move_case,
    now,
    record,
    require,
)
from compliance.services.cases.dispatching import vehicle_kind
from compliance.services.cases.errors import CaseError
from compliance.services.cases.notify import bureau_staff, district_staff, notify

FINE_MAX = Decimal("99999999.99")  # CaseAssignment.fine_yuan: 10 digits, 2 decimals
POINTS_RANGE = range(1, 13)  # a driving licence holds 12 points per cycle
# Outcomes that say nothing by themselves: the note must.
NOTE_REQUIRED = (Outcome.NO_VIOLATION, Outcome.OTHER)

AWAITING = gettext_lazy("办理结果待审批：%(number)s %(title)s")
REJECTED = gettext_lazy("办理结果未获领导审批，请重新办理：%(number)s %(title)s")
HANDLED = gettext_lazy("区县已反馈，待核查：%(number)s %(title)s")


def accept_assignment(*, assignment: CaseAssignment, actor: User, note: str = "") -> Case:
    """签收: the district takes the case on; its handling clock starts."""
    with transaction.atomic():
        case, fresh = lock_assignment(assignment, actor)
        require(actor, Capability.HANDLE_CASES)
        check_assignment(case, fresh, assignment.state, [AssignmentState.DISPATCHED])
        check_state(case, DISTRICT_STAGES)
        note = clean_text(note)
        at = now()
        move_assignment(case, fresh, from_state=AssignmentState.DISPATCHED,
                        to_state=AssignmentState.ACCEPTED, accepted_at=at, accepted_by=actor,
                        deadline=deadline_for(case.source, Stage.HANDLE, at,
                                              vehicle_kind=vehicle_kind(case)))
        from_state = case.state
        to_state = CaseState.ACCEPTED if from_state == CaseState.DISPATCHED else from_state
        move_case(case, from_state=from_state, to_state=to_state,
                  deadline=district_deadline(active_assignments(case)))
        record(case=case, actor=actor, action="accept", from_state=from_state, to_state=to_state,
               note=note, district_id=fresh.district_id,
               detail=_assignment_detail(fresh, AssignmentState.DISPATCHED))
    assignment.refresh_from_db()
    return case


def report_result(*, assignment: CaseAssignment, outcome: str, fine_yuan: Decimal | None = None,
                  penalty_points: int | None = None, note: str = "", actor: User) -> Case:
    """反馈: the result of one unit. With the district's leader-approval policy it waits for the
    leader; otherwise it goes back to the city at once."""
    with transaction.atomic():
        case, fresh = lock_assignment(assignment, actor)
        require(actor, Capability.HANDLE_CASES)
        check_assignment(case, fresh, assignment.state,
                         [AssignmentState.ACCEPTED, AssignmentState.RETURNED])
        check_state(case, DISTRICT_STAGES)
        outcome, fine, points, note = clean_result(outcome, fine_yuan, penalty_points, note)
        needs_leader = DistrictCasePolicy.objects.filter(district_id=fresh.district_id,
                                                         leader_approval=True).exists()
        from_assignment = fresh.state
        move_assignment(case, fresh, from_state=from_assignment,
                        to_state=(AssignmentState.AWAITING_APPROVAL if needs_leader
                                  else AssignmentState.HANDLED),
                        outcome=outcome, fine_yuan=fine, penalty_points=points, result_note=note,
                        handled_by=actor, handled_at=now(), approved_by=None)
        detail = {**_assignment_detail(fresh, from_assignment), "outcome": outcome,
                  "fine_yuan": str(fine) if fine is not None else None,
                  "penalty_points": points}
        if needs_leader:
            record(case=case, actor=actor, action="report", from_state=case.state,
                   to_state=case.state, note=note, district_id=fresh.district_id, detail=detail)
            notify(district_staff([fresh.district_id], Capability.APPROVE_CASES),
                   kind="case_awaiting_approval", title=AWAITING, case=case, actor=actor)
        else:
            _close_if_all_reported(case, fresh, actor=actor, action="report", note=note,
                                   detail=detail)
    assignment.refresh_from_db()
    return case


def approve_result(*, assignment: CaseAssignment, actor: User, note: str = "") -> Case:
    """The district leader lets a result go back to the city."""
    with transaction.atomic():
        case, fresh = lock_assignment(assignment, actor)
        require(actor, Capability.APPROVE_CASES)
        check_assignment(case, fresh, assignment.state, [AssignmentState.AWAITING_APPROVAL])
        check_state(case, DISTRICT_STAGES)
        note = clean_text(note)
        move_assignment(case, fresh, from_state=AssignmentState.AWAITING_APPROVAL,
                        to_state=AssignmentState.HANDLED, approved_by=actor, handled_at=now())
        _close_if_all_reported(case, fresh, actor=actor, action="approve", note=note,
                               detail=_assignment_detail(fresh,
                                                         AssignmentState.AWAITING_APPROVAL))
    assignment.refresh_from_db()
    return case


def reject_result(*, assignment: CaseAssignment, actor: User, reason: str) -> Case:
    """The district leader sends a result back to the operators (still in progress)."""
    with transaction.atomic():
        case, fresh = lock_assignment(assignment, actor)
        require(actor, Capability.APPROVE_CASES)
        check_assignment(case, fresh, assignment.state, [AssignmentState.AWAITING_APPROVAL])
        check_state(case, DISTRICT_STAGES)
        reason = clean_text(reason, required=True, what=_("不予审批的原因"))
        move_assignment(case, fresh, from_state=AssignmentState.AWAITING_APPROVAL,
                        to_state=AssignmentState.ACCEPTED, handled_at=None)
        record(case=case, actor=actor, action="reject", from_state=case.state,
               to_state=case.state, note=reason, district_id=fresh.district_id,
               detail=_assignment_detail(fresh, AssignmentState.AWAITING_APPROVAL))
        notify(district_staff([fresh.district_id], Capability.HANDLE_CASES),
               kind="case_rejected", title=REJECTED, case=case, actor=actor)
    assignment.refresh_from_db()
    return case


def clean_result(outcome: str, fine_yuan: Any, penalty_points: Any,
                 note: str) -> tuple[str, Decimal | None, int | None, str]:
    """A fine has an amount > 0 (yuan, 2 decimals); penalty points are 1–12; each only with its
    own outcome; "no violation" and "other" say why in the note."""
    if outcome not in Outcome.values:
        raise CaseError(CaseError.INVALID_RESULT, _("请选择处理结果"))
    fine: Decimal | None = None
    if outcome == Outcome.FINE:
        try:
            fine = Decimal(str(fine_yuan)) if fine_yuan not in (None, "") else None
        except InvalidOperation:
            fine = None
        if fine is None or not fine.is_finite() or fine <= 0:
            raise CaseError(CaseError.INVALID_RESULT, _("罚款须填写大于 0 的金额"))
        if fine > FINE_MAX or fine != fine.quantize(Decimal("0.01")):
            raise CaseError(CaseError.INVALID_RESULT,
                            _("罚款金额最多两位小数，且不超过 99999999.99 元"))
    elif fine_yuan not in (None, ""):
        raise CaseError(CaseError.INVALID_RESULT, _("只有处理结果为罚款时才填写罚款金额"))
    points: int | None = None
    if outcome == Outcome.PENALTY_POINTS:
        if isinstance(penalty_points, bool) or not isinstance(penalty_points, int) \
                or penalty_points not in POINTS_RANGE:
            raise CaseError(CaseError.INVALID_RESULT, _("记分须为 1 至 12 分"))
        points = penalty_points
    elif penalty_points not in (None, ""):
        raise CaseError(CaseError.INVALID_RESULT, _("只有处理结果为记分时才填写分值"))
    note = clean_text(note, required=outcome in NOTE_REQUIRED, what=_("处理情况说明"))
    return outcome, fine, points, note


def _close_if_all_reported(case: Case, assignment: CaseAssignment, *, actor: User, action: str,
                           note: str, detail: dict[str, Any]) -> None:
    """One event for the step; the case moves to ``handled`` when no unit still owes a result
    (the case row is locked, so two units reporting at once cannot both miss the other)."""
    assignments = active_assignments(case)
    from_state = case.state
    if all(a.state == AssignmentState.HANDLED for a in assignments):
        move_case(case, from_state=from_state, to_state=CaseState.HANDLED,
                  deadline=deadline_for(case.source, Stage.VERIFY, now(),
                                        vehicle_kind=vehicle_kind(case)))
        notify(bureau_staff(Capability.VERIFY_CASES), kind="case_handled", title=HANDLED,
               case=case, actor=actor)
    else:
        move_case(case, from_state=from_state, to_state=from_state,
                  deadline=district_deadline(assignments))
    record(case=case, actor=actor, action=action, from_state=from_state, to_state=case.state,
           note=note, district_id=assignment.district_id, detail=detail)


def _assignment_detail(assignment: CaseAssignment, from_state: str) -> dict[str, Any]:
    return {"assignment": assignment.pk, "assignment_from": from_state,
            "assignment_to": assignment.state}

