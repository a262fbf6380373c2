"""Every allowed and every forbidden transition of DESIGN.md's case workflow, as one table: each
case state × each step. Allowed steps land in the expected state with exactly one event and one
audit row; refused ones raise ``invalid_transition`` and write nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import AuditEvent
from compliance.models import CaseEvent, CaseState
from compliance.services import cases as services
from compliance.services.cases import CaseError
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    drive,
    fast_passwords,
    make_cast,
    new_case,
    unit,
)

S = CaseState
STATES = [S.NEW, S.DISPATCHED, S.ACCEPTED, S.HANDLED, S.RETURNED, S.VERIFIED, S.ARCHIVED,
          S.DISMISSED]


def _steps(cast: Cast) -> dict[str, Callable]:  # type: ignore[type-arg]
    w = cast.world
    return {
        "dispatch": lambda c: services.dispatch_case(case=c, districts=[w.district_a],
                                                     actor=cast.bureau),
        "dismiss": lambda c: services.dismiss_case(case=c, actor=cast.bureau, reason="误报"),
        "redispatch": lambda c: services.redispatch_case(
            case=c, from_district=w.district_a, to_district=w.district_b, actor=cast.bureau,
            reason="发生地属兴隆台区"),
        "accept": lambda c: services.accept_assignment(assignment=unit(c), actor=cast.op_a),
        "report": lambda c: services.report_result(assignment=unit(c), outcome="fine",
                                                   fine_yuan=200, note="罚款", actor=cast.op_a),
        "verify": lambda c: services.verify_case(case=c, actor=cast.bureau),
        "return": lambda c: services.return_case(case=c, actor=cast.bureau, reason="证据不足"),
        "archive": lambda c: services.archive_case(case=c, actor=cast.bureau),
        "supervise": lambda c: services.supervise_case(case=c, actor=cast.bureau,
                                                       reason="重点案件"),
    }


# (state, step) → resulting state; every pair not listed must be refused.
ALLOWED = {
    (S.NEW, "dispatch"): S.DISPATCHED,
    (S.NEW, "dismiss"): S.DISMISSED,
    (S.DISPATCHED, "redispatch"): S.DISPATCHED,
    (S.ACCEPTED, "redispatch"): S.DISPATCHED,  # the new unit has not signed for it yet
    (S.RETURNED, "redispatch"): S.DISPATCHED,
    (S.DISPATCHED, "accept"): S.ACCEPTED,
    (S.ACCEPTED, "report"): S.HANDLED,
    (S.RETURNED, "report"): S.HANDLED,
    (S.HANDLED, "verify"): S.VERIFIED,
    (S.HANDLED, "return"): S.RETURNED,
    (S.VERIFIED, "archive"): S.ARCHIVED,
    (S.DISPATCHED, "supervise"): S.DISPATCHED,
    (S.ACCEPTED, "supervise"): S.ACCEPTED,
    (S.RETURNED, "supervise"): S.RETURNED,
}
STEPS = ["dispatch", "dismiss", "redispatch", "accept", "report", "verify", "return", "archive",
         "supervise"]
# A case that was never dispatched has no unit to accept or report: those pairs cannot even be
# expressed (the API answers 404 for them, see test_case_api).
NO_UNIT = {(S.NEW, "accept"), (S.NEW, "report"), (S.DISMISSED, "accept"),
           (S.DISMISSED, "report")}


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


@pytest.mark.parametrize(("state", "step"), [(state, step) for step in STEPS for state in STATES
                                              if (state, step) not in NO_UNIT])
def test_transition_table(cast, state, step):
    case = drive(cast, new_case(cast), state)
    events, audits = CaseEvent.objects.count(), AuditEvent.objects.count()
    act = _steps(cast)[step]
    expected = ALLOWED.get((state, step))
    if expected is None:
        with pytest.raises(CaseError) as refused:
            act(case)
        assert refused.value.code == CaseError.INVALID_TRANSITION, refused.value
        case.refresh_from_db()
        assert case.state == state
        assert (CaseEvent.objects.count(), AuditEvent.objects.count()) == (events, audits)
    else:
        act(case)
        case.refresh_from_db()
        assert case.state == expected
        assert CaseEvent.objects.count() == events + 1
        assert AuditEvent.objects.count() == audits + 1
        event = case.events.order_by("-pk").first()
        assert (event.from_state, event.to_state) == (state, expected)


def test_every_state_is_reachable_and_closed_states_have_no_deadline(cast):
    for state in STATES:
        case = drive(cast, new_case(cast), state)
        if state in (S.VERIFIED, S.ARCHIVED, S.DISMISSED):
            assert case.deadline is None
        else:
            assert case.deadline is not None
        assert (case.closed_at is not None) == (state in (S.ARCHIVED, S.DISMISSED))


def test_returned_case_is_handled_again_with_a_fresh_deadline(cast):
    case = drive(cast, new_case(cast), S.HANDLED)
    services.return_case(case=case, actor=cast.bureau, reason="未附处罚决定书")
    assignment = unit(case)
    assert assignment.state == "returned" and assignment.handled_at is None
    assert case.deadline == assignment.deadline
    services.report_result(assignment=assignment, outcome="penalty_points", penalty_points=3,
                           note="补充决定书", actor=cast.op_a)
    case.refresh_from_db()
    assert case.state == S.HANDLED
    assert [e.action for e in case.events.all()] == [
        "open", "dispatch", "accept", "report", "return", "report"]


@pytest.mark.parametrize("outcome, fine, points, note, ok", [
    ("fine", 200, None, "", True),
    ("fine", "0.01", None, "", True),
    ("fine", None, None, "", False),
    ("fine", 0, None, "", False),
    ("fine", -50, None, "", False),
    ("fine", "12.345", None, "", False),
    ("fine", 100, 3, "", False),
    ("penalty_points", None, 1, "", True),
    ("penalty_points", None, 12, "", True),
    ("penalty_points", None, 0, "", False),
    ("penalty_points", None, 13, "", False),
    ("penalty_points", None, None, "", False),
    ("penalty_points", 100, 3, "", False),
    ("education", None, None, "", True),
    ("suspension", None, None, "", True),
    ("no_violation", None, None, "", False),
    ("no_violation", None, None, "现场核实无违规", True),
    ("other", None, None, "", False),
    ("other", None, None, "移交公安", True),
    ("bogus", None, None, "x", False),
])
def test_result_validation(cast, outcome, fine, points, note, ok):
    case = drive(cast, new_case(cast), S.ACCEPTED)
    report = lambda: services.report_result(  # noqa: E731
        assignment=unit(case), outcome=outcome, fine_yuan=fine, penalty_points=points,
        note=note, actor=cast.op_a)
    if ok:
        report()
        assert unit(case).state == "handled"
    else:
        with pytest.raises(CaseError) as refused:
            report()
        assert refused.value.code in (CaseError.INVALID_RESULT, CaseError.REASON_REQUIRED)
        assert unit(case).state == "accepted"


def test_reasons_are_required(cast):
    case = new_case(cast)
    with pytest.raises(CaseError) as refused:
        services.dismiss_case(case=case, actor=cast.bureau, reason="  ")
    assert refused.value.code == CaseError.REASON_REQUIRED
    case = drive(cast, case, S.HANDLED)
    with pytest.raises(CaseError) as refused:
        services.return_case(case=case, actor=cast.bureau, reason="")
    assert refused.value.code == CaseError.REASON_REQUIRED
    with pytest.raises(CaseError) as refused:
        services.redispatch_case(case=drive(cast, new_case(cast), S.DISPATCHED),
                                 from_district=cast.world.district_a,
                                 to_district=cast.world.district_b, actor=cast.bureau, reason="")
    assert refused.value.code == CaseError.REASON_REQUIRED


def test_single_source_case_cannot_go_to_two_units(cast):
    case = new_case(cast)
    with pytest.raises(CaseError) as refused:
        services.dispatch_case(case=case, districts=[cast.world.district_a,
                                                     cast.world.district_b], actor=cast.bureau)
    assert refused.value.code == CaseError.INVALID_DISTRICTS
    case.refresh_from_db()
    assert case.state == S.NEW and not case.assignments.exists()


def test_leader_approval_policy(cast):
    from compliance.models import DistrictCasePolicy

    DistrictCasePolicy.objects.create(district=cast.world.district_a, leader_approval=True)
    case = drive(cast, new_case(cast), S.ACCEPTED)
    services.report_result(assignment=unit(case), outcome="education", actor=cast.op_a)
    case.refresh_from_db()
    assert (case.state, unit(case).state) == (S.ACCEPTED, "awaiting_approval")
    services.reject_result(assignment=unit(case), actor=cast.leader_a, reason="处理偏轻")
    assert unit(case).state == "accepted"
    services.report_result(assignment=unit(case), outcome="fine", fine_yuan=500,
                           actor=cast.op_a)
    services.approve_result(assignment=unit(case), actor=cast.leader_a)
    case.refresh_from_db()
    assignment = unit(case)
    assert (case.state, assignment.state, assignment.approved_by) == (
        S.HANDLED, "handled", cast.leader_a)
    assert [e.action for e in case.events.all()][-4:] == ["report", "reject", "report",
                                                          "approve"]
