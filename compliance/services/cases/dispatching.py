"""The city's first steps: dispatch to the territorial district (two units at once for illegal
operation, 双重派送), re-dispatch to another district with a reason, or dismiss (不予立案)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.roles import Capability
from compliance.deadlines import deadline_for
from compliance.models import AssignmentState, Case, CaseAssignment, CaseState, Stage
from compliance.services.cases import policy
from compliance.services.cases.core import (
    DISTRICT_STAGES,
    active_assignments,
    check_seen,
    check_state,
    clean_text,
    district_deadline,
    lock_case,
    move_assignment,
    move_case,
    now,
    record,
    require,
)
from compliance.services.cases.errors import CaseError
from compliance.services.cases.notify import district_staff, notify
from fleet.models import District

NEW_IN_INBOX = gettext_lazy("新案件待签收：%(number)s %(title)s")
WITHDRAWN = gettext_lazy("案件已改派其他区县：%(number)s %(title)s")


def vehicle_kind(case: Case) -> str | None:
    return case.vehicle.kind if case.vehicle_id else None


def _new_assignment(case: Case, district: District) -> CaseAssignment:
    return CaseAssignment.objects.create(
        case=case, district=district, state=AssignmentState.DISPATCHED,
        deadline=deadline_for(case.source, Stage.ACCEPT, now(), vehicle_kind=vehicle_kind(case)))


def _check_units(case: Case, districts: Sequence[District]) -> list[District]:
    units = list({d.pk: d for d in districts}.values())
    if len(units) != len(districts) or not units:
        raise CaseError(CaseError.INVALID_DISTRICTS, _("请选择承办区县（不能重复）"))
    if len(units) > policy.max_units(case.source):
        raise CaseError(CaseError.INVALID_DISTRICTS,
                        _("只有非法营运案件可以同时派发给两个单位（双重派送）"))
    return units


def dispatch_locked(*, case: Case, districts: Sequence[District], actor: User | None,
                    note: str, auto: bool = False) -> list[CaseAssignment]:
    """Dispatch a case in state ``new`` that the current transaction holds (opened or locked)."""
    units = _check_units(case, districts)
    assignments = [_new_assignment(case, unit) for unit in units]
    move_case(case, from_state=CaseState.NEW, to_state=CaseState.DISPATCHED,
              deadline=district_deadline(assignments))
    record(case=case, actor=actor, action="dispatch", from_state=CaseState.NEW,
           to_state=CaseState.DISPATCHED, note=note, district_id=units[0].pk,
           detail={"districts": [u.pk for u in units], "auto": auto})
    notify(district_staff([u.pk for u in units], Capability.HANDLE_CASES),
           kind="case_dispatched", title=NEW_IN_INBOX, case=case, actor=actor)
    return assignments


def dispatch_case(*, case: Case, districts: Sequence[District], actor: User,
                  note: str = "") -> Case:
    """``new`` → ``dispatched``: one assignment per district (two only for illegal operation)."""
    with transaction.atomic():
        locked = lock_case(case.pk, actor)
        require(actor, Capability.DISPATCH_CASES)
        check_seen(locked, case.state)
        check_state(locked, [CaseState.NEW])
        dispatch_locked(case=locked, districts=districts, actor=actor, note=clean_text(note))
    case.refresh_from_db()
    return case


def redispatch_case(*, case: Case, from_district: District, to_district: District, actor: User,
                    reason: str) -> Case:
    """Move one unit's part to another district (改派). The withdrawn assignment stays as history;
    the case's owning district follows when it was the one giving the case up. Not after that
    unit reported: a reported result is returned, not re-dispatched."""
    with transaction.atomic():
        locked = lock_case(case.pk, actor)
        require(actor, Capability.DISPATCH_CASES)
        check_seen(locked, case.state)
        check_state(locked, DISTRICT_STAGES)
        reason = clean_text(reason, required=True, what=_("改派原因"))
        if from_district.pk == to_district.pk:
            raise CaseError(CaseError.INVALID_DISTRICTS, _("改派须选择另一个区县"))
        assignments = active_assignments(locked)
        leaving = next((a for a in assignments if a.district_id == from_district.pk), None)
        if leaving is None:
            raise CaseError(CaseError.INVALID_DISTRICTS, _("该区县没有承办此案件"))
        if any(a.district_id == to_district.pk for a in assignments):
            raise CaseError(CaseError.INVALID_DISTRICTS, _("该区县已在承办此案件"))
        if leaving.state not in (AssignmentState.DISPATCHED, AssignmentState.ACCEPTED,
                                 AssignmentState.RETURNED):
            raise CaseError(CaseError.INVALID_TRANSITION,
                            _("该区县已反馈办理结果，不能改派（可核查后退回）"))
        move_assignment(locked, leaving, from_state=leaving.state,
                        to_state=AssignmentState.WITHDRAWN)
        arriving = _new_assignment(locked, to_district)
        remaining = [a for a in assignments if a.pk != leaving.pk] + [arriving]
        # Back to "dispatched" when no remaining unit has signed for it yet.
        to_state = (CaseState.DISPATCHED
                    if all(a.state == AssignmentState.DISPATCHED for a in remaining)
                    else locked.state)
        fields = {"deadline": district_deadline(remaining)}
        if locked.district_id == from_district.pk:
            fields["district"] = to_district
        from_state = locked.state
        move_case(locked, from_state=from_state, to_state=to_state, **fields)
        record(case=locked, actor=actor, action="redispatch", from_state=from_state,
               to_state=to_state, note=reason, district_id=to_district.pk,
               detail={"from_district": from_district.pk, "to_district": to_district.pk,
                       "withdrawn_assignment": leaving.pk})
        notify(district_staff([to_district.pk], Capability.HANDLE_CASES),
               kind="case_dispatched", title=NEW_IN_INBOX, case=locked, actor=actor)
        notify(district_staff([from_district.pk], Capability.HANDLE_CASES),
               kind="case_withdrawn", title=WITHDRAWN, case=locked, actor=actor)
    case.refresh_from_db()
    return case


def dismiss_case(*, case: Case, actor: User, reason: str) -> Case:
    """``new`` → ``dismissed`` (不予立案: false alarm, out of scope), closed with the reason."""
    with transaction.atomic():
        locked = lock_case(case.pk, actor)
        require(actor, Capability.DISPATCH_CASES)
        check_seen(locked, case.state)
        check_state(locked, [CaseState.NEW])
        reason = clean_text(reason, required=True, what=_("不予立案原因"))
        move_case(locked, from_state=CaseState.NEW, to_state=CaseState.DISMISSED,
                  deadline=None, closed_at=now())
        record(case=locked, actor=actor, action="dismiss", from_state=CaseState.NEW,
               to_state=CaseState.DISMISSED, note=reason, district_id=locked.district_id)
    case.refresh_from_db()
    return case
