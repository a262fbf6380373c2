"""The city's last steps: verify the districts' results (核查) or return them with a reason
(退回), and archive (归档) a verified case."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from accounts.roles import Capability
from compliance.deadlines import deadline_for
from compliance.models import AssignmentState, Case, CaseState, Stage
from compliance.services.cases.core import (
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
from compliance.services.cases.dispatching import vehicle_kind
from compliance.services.cases.errors import CaseError
from compliance.services.cases.notify import district_staff, notify
from fleet.models import District

RETURNED = gettext_lazy("案件被市局退回，请重新办理：%(number)s %(title)s")


def verify_case(*, case: Case, actor: User, note: str = "") -> Case:
    """``handled`` → ``verified``: the city accepts the result."""
    with transaction.atomic():
        locked = lock_case(case.pk, actor)
        require(actor, Capability.VERIFY_CASES)
        check_seen(locked, case.state)
        check_state(locked, [CaseState.HANDLED])
        note = clean_text(note)
        move_case(locked, from_state=CaseState.HANDLED, to_state=CaseState.VERIFIED,
                  deadline=None)
        record(case=locked, actor=actor, action="verify", from_state=CaseState.HANDLED,
               to_state=CaseState.VERIFIED, note=note, district_id=locked.district_id)
    case.refresh_from_db()
    return case


def return_case(*, case: Case, actor: User, reason: str,
                districts: Sequence[District] | None = None) -> Case:
    """``handled`` → ``returned``: the named units (default: every unit) handle it again, with a
    fresh handling deadline; the others' results stand."""
    with transaction.atomic():
        locked = lock_case(case.pk, actor)
        require(actor, Capability.VERIFY_CASES)
        check_seen(locked, case.state)
        check_state(locked, [CaseState.HANDLED])
        reason = clean_text(reason, required=True, what=_("退回原因"))
        assignments = active_assignments(locked)
        wanted = {d.pk for d in districts} if districts else {a.district_id for a in assignments}
        back = [a for a in assignments if a.district_id in wanted]
        if not back or len(back) != len(wanted):
            raise CaseError(CaseError.INVALID_DISTRICTS, _("只能退回承办此案件的区县"))
        deadline = deadline_for(locked.source, Stage.HANDLE, now(),
                                vehicle_kind=vehicle_kind(locked))
        for assignment in back:
            move_assignment(locked, assignment, from_state=AssignmentState.HANDLED,
                            to_state=AssignmentState.RETURNED, deadline=deadline,
                            handled_at=None)
        move_case(locked, from_state=CaseState.HANDLED, to_state=CaseState.RETURNED,
                  deadline=district_deadline(assignments))
        record(case=locked, actor=actor, action="return", from_state=CaseState.HANDLED,
               to_state=CaseState.RETURNED, note=reason, district_id=back[0].district_id,
               detail={"districts": [a.district_id for a in back],
                       "assignments": [a.pk for a in back]})
        notify(district_staff([a.district_id for a in back], Capability.HANDLE_CASES,
                              Capability.APPROVE_CASES),
               kind="case_returned", title=RETURNED, case=locked, actor=actor)
    case.refresh_from_db()
    return case


def archive_case(*, case: Case, actor: User, note: str = "") -> Case:
    """``verified`` → ``archived``: closed and read-only from now on."""
    with transaction.atomic():
        locked = lock_case(case.pk, actor)
        require(actor, Capability.VERIFY_CASES)
        check_seen(locked, case.state)
        check_state(locked, [CaseState.VERIFIED])
        note = clean_text(note)
        move_case(locked, from_state=CaseState.VERIFIED, to_state=CaseState.ARCHIVED,
                  deadline=None, closed_at=now())
        record(case=locked, actor=actor, action="archive", from_state=CaseState.VERIFIED,
               to_state=CaseState.ARCHIVED, note=note, district_id=locked.district_id)
    case.refresh_from_db()
    return case
