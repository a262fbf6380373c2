"""Who may take which step, as a table: the city dispatches, verifies, returns, archives,
dismisses and supervises; operators of an assigned district accept and report; its leaders
approve. Everyone else is refused (``forbidden``); a case out of the actor's scope is
``not_found`` — a district-B user can neither see nor act on district A's cases."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from compliance.models import CaseEvent, CaseState, DistrictCasePolicy
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

PEOPLE = ["bureau", "analyst", "desk", "op_a", "leader_a", "op_b", "leader_b", "enterprise_a"]
OK, NO, GONE = "ok", CaseError.FORBIDDEN, CaseError.NOT_FOUND
# step → (state the case is put in, {person: expected}); the case is vehicle A's, in district A.
# The enterprise officer's scope covers the case (its vehicle), but no case capability.
CITY = {"bureau": OK, "analyst": NO, "desk": NO, "op_a": NO, "leader_a": NO, "op_b": GONE,
        "leader_b": GONE, "enterprise_a": NO}
UNIT = {"bureau": NO, "analyst": NO, "desk": NO, "op_a": OK, "leader_a": NO, "op_b": GONE,
        "leader_b": GONE, "enterprise_a": NO}
LEADER = {**UNIT, "op_a": NO, "leader_a": OK}
TABLE: dict[str, tuple[str, dict[str, str]]] = {
    "dispatch": (CaseState.NEW, CITY),
    "dismiss": (CaseState.NEW, CITY),
    "redispatch": (CaseState.DISPATCHED, CITY),
    "supervise": (CaseState.ACCEPTED, CITY),
    "verify": (CaseState.HANDLED, CITY),
    "return": (CaseState.HANDLED, CITY),
    "archive": (CaseState.VERIFIED, CITY),
    "accept": (CaseState.DISPATCHED, UNIT),
    "report": (CaseState.ACCEPTED, UNIT),
    "approve": (CaseState.ACCEPTED, LEADER),  # after a report awaiting approval
    "reject": (CaseState.ACCEPTED, LEADER),
}


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


def _step(cast: Cast, name: str) -> Callable:  # type: ignore[type-arg]
    w = cast.world
    return {
        "dispatch": lambda c, u: services.dispatch_case(case=c, districts=[w.district_a],
                                                        actor=u),
        "dismiss": lambda c, u: services.dismiss_case(case=c, actor=u, reason="误报"),
        "redispatch": lambda c, u: services.redispatch_case(
            case=c, from_district=w.district_a, to_district=w.district_b, actor=u,
            reason="属地错误"),
        "supervise": lambda c, u: services.supervise_case(case=c, actor=u, reason="重点"),
        "verify": lambda c, u: services.verify_case(case=c, actor=u),
        "return": lambda c, u: services.return_case(case=c, actor=u, reason="证据不足"),
        "archive": lambda c, u: services.archive_case(case=c, actor=u),
        "accept": lambda c, u: services.accept_assignment(assignment=unit(c), actor=u),
        "report": lambda c, u: services.report_result(assignment=unit(c), outcome="education",
                                                      actor=u),
        "approve": lambda c, u: services.approve_result(assignment=unit(c), actor=u),
        "reject": lambda c, u: services.reject_result(assignment=unit(c), actor=u,
                                                      reason="重办"),
    }[name]


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("step", list(TABLE))
def test_permission_table(cast, step, person):
    state, expected = TABLE[step]
    case = drive(cast, new_case(cast), state)
    if step in ("approve", "reject"):
        DistrictCasePolicy.objects.create(district=cast.world.district_a, leader_approval=True)
        services.report_result(assignment=unit(case), outcome="education", actor=cast.op_a)
        case.refresh_from_db()
    events = CaseEvent.objects.filter(case=case).count()
    act = _step(cast, step)
    if expected[person] == OK:
        act(case, getattr(cast, person))
        assert CaseEvent.objects.filter(case=case).count() == events + 1
    else:
        with pytest.raises(CaseError) as refused:
            act(case, getattr(cast, person))
        assert refused.value.code == expected[person]
        assert CaseEvent.objects.filter(case=case).count() == events
