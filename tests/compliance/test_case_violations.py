"""Confirmed violations become cases: once each, from the screening queue's confirmation, from
the scheduler's sweep of auto-confirmed ones, and when two of them race."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from compliance import case_jobs
from compliance.models import Case, CaseSource, CaseState
from compliance.services import cases as services
from compliance.services import screening
from compliance.services.cases import CaseError
from tests import factories
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    fast_passwords,
    make_cast,
)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


def confirmed(cast: Cast, **fields: object):  # type: ignore[no-untyped-def]
    return factories.make_violation(cast.world.vehicle_b, district=cast.world.district_a,
                                    review_status="confirmed", **fields)


def test_a_violation_has_at_most_one_case(cast):
    violation = confirmed(cast)
    case = services.open_case_for_violation(violation=violation, actor=cast.bureau)
    again = services.open_case_for_violation(violation=violation, actor=None)
    assert again.pk == case.pk
    assert Case.objects.filter(violation=violation).count() == 1
    assert case.source == CaseSource.VIOLATION and case.number.startswith("WG")
    # The violation's owner by territory, auto-dispatched to it (violations: automatic).
    assert case.district == cast.world.district_a
    assert case.state == CaseState.DISPATCHED
    assert [a.district for a in case.assignments.all()] == [cast.world.district_a]
    assert case.vehicle == cast.world.vehicle_b and "辽L20002" in case.title
    assert case.occurred_at == violation.started_at and case.location == violation.location


def test_only_confirmed_screened_violations_become_cases(cast):
    pending = factories.make_violation(cast.world.vehicle_a)
    drift = factories.make_violation(cast.world.vehicle_a, rule="gps_drift")
    for violation in (pending, drift):
        with pytest.raises(CaseError) as refused:
            services.open_case_for_violation(violation=violation, actor=cast.bureau)
        assert refused.value.code == CaseError.INVALID_TRANSITION
    assert not Case.objects.exists()


def test_scope_and_capability(cast):
    violation = confirmed(cast)
    with pytest.raises(CaseError) as refused:
        services.open_case_for_violation(violation=violation, actor=cast.op_a)
    assert refused.value.code == CaseError.FORBIDDEN  # A sees it, but only the city opens
    with pytest.raises(CaseError) as refused:
        services.open_case_for_violation(violation=violation, actor=cast.op_b)
    assert refused.value.code == CaseError.NOT_FOUND  # owned by A (territory), not B's


def test_confirming_in_the_screening_queue_opens_the_case(cast,
                                                         django_capture_on_commit_callbacks):
    violation = factories.make_violation(cast.world.vehicle_a)
    with django_capture_on_commit_callbacks(execute=True):
        screening.confirm_violation(violation=violation, actor=cast.bureau, note="属实")
    case = Case.objects.get(violation=violation)
    assert case.description == "属实"
    assert case.events.first().actor is None  # opened by the platform after the confirmation


def test_the_sweep_opens_auto_confirmed_violations_once(cast):
    auto = [confirmed(cast, auto_confirmed=True) for _ in range(3)]
    factories.make_violation(cast.world.vehicle_a)  # pending: not yet
    factories.make_violation(cast.world.vehicle_a, rule="gps_drift")  # data quality: never
    assert services.open_missing_violation_cases() == 3
    assert services.open_missing_violation_cases() == 0
    assert set(Case.objects.values_list("violation_id", flat=True)) == {v.pk for v in auto}
    confirmed(cast, auto_confirmed=True)
    case_jobs.open_violation_cases_job()
    assert Case.objects.count() == 4


def test_the_sweep_works_in_batches(cast):
    for _ in range(3):
        confirmed(cast, auto_confirmed=True)
    assert services.open_missing_violation_cases(limit=2) == 2
    assert services.open_missing_violation_cases(limit=2) == 1


@pytest.mark.django_db(transaction=True)
def test_hook_and_sweep_racing_make_one_case(cast):
    violation = confirmed(cast, auto_confirmed=True)
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    opened: list[int] = []

    def open_it() -> None:
        try:
            start.wait(timeout=10)
            opened.append(services.open_case_for_violation(violation=violation, actor=None).pk)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(opened) == 2 and len(set(opened)) == 1
    assert Case.objects.filter(violation=violation).count() == 1


def test_a_bulk_confirmation_opens_a_few_inline_and_the_sweep_the_rest(
        cast, monkeypatch, django_capture_on_commit_callbacks):
    from compliance.services.cases import opening

    monkeypatch.setattr(opening.open_cases_for_violations, "__kwdefaults__", {"limit": 2})
    pending = [factories.make_violation(cast.world.vehicle_a) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        screening.confirm_violations(ids=[v.pk for v in pending], actor=cast.bureau)
    assert Case.objects.count() == 2
    assert services.open_missing_violation_cases() == 1
    assert Case.objects.count() == 3
