"""Two people acting on one case at once: one wins, the other gets ``conflict`` and nothing of
theirs is written. Real transactions in two threads, plus a stale-page simulation."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from compliance.models import Case, CaseAssignment, CaseEvent, CaseSource, CaseState
from compliance.services import cases as services
from compliance.services.cases import CaseError
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    drive,
    fast_passwords,
    make_cast,
    make_user,
    new_case,
    unit,
)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user):  # type: ignore[no-untyped-def]
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


@pytest.fixture
def second_supervisor(world):  # type: ignore[no-untyped-def]
    return make_user("bureau2", level="bureau", role="bureau_supervisor", display_name="李四")


def race(*calls: Callable[[], object]) -> list[str]:
    """Run the calls at the same moment, each in its own thread and transaction."""
    start = threading.Barrier(len(calls))
    outcomes = ["" for _ in calls]

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            start.wait(timeout=10)
            call()
            outcomes[index] = "done"
        except CaseError as error:
            outcomes[index] = error.code
        except BaseException as error:
            outcomes[index] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_verify_and_return_at_once(cast, second_supervisor):
    case = drive(cast, new_case(cast), CaseState.HANDLED)
    # Both pages were loaded while the case was waiting for verification.
    page_1, page_2 = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)
    outcomes = race(lambda: services.verify_case(case=page_1, actor=cast.bureau),
                    lambda: services.return_case(case=page_2, actor=second_supervisor,
                                                 reason="证据不足"))
    assert sorted(outcomes) == ["conflict", "done"]
    case.refresh_from_db()
    assert case.state == (CaseState.VERIFIED if outcomes[0] == "done" else CaseState.RETURNED)
    assert CaseEvent.objects.filter(case=case, action__in=["verify", "return"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_operators_accept_the_same_unit_at_once(cast):
    colleague = make_user("district_a2", level="district", role="district_operator",
                          districts=[cast.world.district_a])
    case = drive(cast, new_case(cast), CaseState.DISPATCHED)
    mine, theirs = unit(case), CaseAssignment.objects.get(pk=unit(case).pk)
    outcomes = race(lambda: services.accept_assignment(assignment=mine, actor=cast.op_a),
                    lambda: services.accept_assignment(assignment=theirs, actor=colleague))
    assert sorted(outcomes) == ["conflict", "done"]
    assert CaseEvent.objects.filter(case=case, action="accept").count() == 1


@pytest.mark.django_db(transaction=True)
def test_both_units_of_a_double_dispatch_report_at_once(cast):
    """The case row lock makes the second report see the first: the case is handled."""
    case = new_case(cast, source=CaseSource.ILLEGAL_OPERATION, title="非法营运",
                    vehicle=cast.world.vehicle_b, district=cast.world.district_a)
    a, b = unit(case, cast.world.district_a), unit(case, cast.world.district_b)
    services.accept_assignment(assignment=a, actor=cast.op_a)
    services.accept_assignment(assignment=b, actor=cast.op_b)
    outcomes = race(
        lambda: services.report_result(assignment=a, outcome="fine", fine_yuan=2000,
                                       actor=cast.op_a),
        lambda: services.report_result(assignment=b, outcome="education", actor=cast.op_b))
    assert outcomes == ["done", "done"]
    case.refresh_from_db()
    assert case.state == CaseState.HANDLED


def test_a_stale_page_gets_a_conflict_naming_who_acted(cast, second_supervisor):
    case = drive(cast, new_case(cast), CaseState.HANDLED)
    stale = Case.objects.get(pk=case.pk)
    services.verify_case(case=case, actor=second_supervisor, note="属实")
    with pytest.raises(CaseError) as refused:
        services.return_case(case=stale, actor=cast.bureau, reason="证据不足")
    assert refused.value.code == CaseError.CONFLICT
    assert "李四" in refused.value.message and "已核查" in refused.value.message
    case.refresh_from_db()
    assert case.state == CaseState.VERIFIED
    assert not CaseEvent.objects.filter(case=case, action="return").exists()


def test_a_stale_assignment_gets_a_conflict(cast):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    stale = unit(case)
    services.report_result(assignment=unit(case), outcome="education", actor=cast.op_a)
    with pytest.raises(CaseError) as refused:
        services.report_result(assignment=stale, outcome="fine", fine_yuan=100, actor=cast.op_a)
    assert refused.value.code == CaseError.CONFLICT
    assert unit(case).outcome == "education"
