"""Case reads: the district inbox (buckets, scope, constant query count), the city list and its
filters, the timeline, the dashboard counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from compliance import selectors_cases as selectors
from compliance.models import Case, CaseEvidence, CaseState
from compliance.services import cases as services
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    Clock,
    drive,
    fast_passwords,
    local,
    make_cast,
    new_case,
    unit,
)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


@pytest.fixture
def clock(monkeypatch) -> Clock:  # type: ignore[no-untyped-def]
    return Clock(monkeypatch, local(2026, 11, 20, 10, 0))  # a Friday morning


def ids(rows) -> set[int]:  # type: ignore[no-untyped-def]
    return {row.case.pk for row in rows}


def test_inbox_buckets(cast, clock):
    fresh = drive(cast, new_case(cast), CaseState.DISPATCHED)  # accept by Mon 23:59
    clock.set(local(2026, 11, 16, 10, 0))  # the previous Monday
    late = drive(cast, new_case(cast), CaseState.DISPATCHED)  # accept by Tue 17th: overdue
    working = drive(cast, new_case(cast), CaseState.ACCEPTED)  # handle by Mon 23rd
    returned = drive(cast, new_case(cast), CaseState.HANDLED)
    clock.set(local(2026, 11, 20, 10, 0))
    services.return_case(case=returned, actor=cast.bureau, reason="补充证据")  # by Fri 27th
    services.supervise_case(case=working, actor=cast.bureau, reason="重点")
    drive(cast, new_case(cast), CaseState.VERIFIED)  # the city's now: not in the inbox
    drive(cast, new_case(cast), CaseState.NEW)

    inbox = selectors.district_inbox(cast.op_a, now=local(2026, 11, 23, 8, 0))
    assert ids(inbox.new) == {fresh.pk, late.pk}
    assert ids(inbox.overdue) == {late.pk}
    assert ids(inbox.due_soon) == {fresh.pk, working.pk}  # both end Monday 23:59:59
    assert ids(inbox.returned) == {returned.pk}
    assert ids(inbox.supervised) == {working.pk}
    assert inbox.counts == {"new": 2, "due_soon": 2, "overdue": 1, "returned": 1,
                            "supervised": 1, "awaiting_approval": 0}
    # District B owes nothing of A's; an enterprise officer reads no cases at all.
    assert selectors.district_inbox(cast.op_b).counts == dict.fromkeys(inbox.counts, 0)
    assert selectors.district_inbox(cast.enterprise_a).counts == dict.fromkeys(inbox.counts, 0)


def _inbox_queries(user_id: int) -> int:
    user = User.objects.get(pk=user_id)  # a fresh user: its scope is read inside the count
    with CaptureQueriesContext(connection) as queries:
        inbox = selectors.district_inbox(user)
        shown = [(row.case.number, row.case.district.name, row.assignment.district.name,
                  row.case.vehicle.plate, row.case.enterprise.name)  # what a page shows
                 for row in inbox.new]
    assert len(shown) == len(inbox.new)
    return len(queries)


def test_inbox_query_count_does_not_grow_with_the_cases(cast):
    for _ in range(2):
        drive(cast, new_case(cast), CaseState.DISPATCHED)
    few = _inbox_queries(cast.op_a.pk)
    for _ in range(6):
        drive(cast, new_case(cast), CaseState.DISPATCHED)
    assert selectors.district_inbox(cast.op_a).counts["new"] == 8
    assert _inbox_queries(cast.op_a.pk) == few <= 3


def test_city_list_scope_and_filters(cast, clock):
    a = drive(cast, new_case(cast), CaseState.DISPATCHED)
    b = drive(cast, new_case(cast, vehicle=cast.world.vehicle_b, district=cast.world.district_b),
              CaseState.NEW)
    services.dispatch_case(case=b, districts=[cast.world.district_b], actor=cast.bureau)
    services.supervise_case(case=b, actor=cast.bureau, reason="重点")
    assert {c.pk for c in selectors.cases(cast.bureau)} == {a.pk, b.pk}
    assert {c.pk for c in selectors.cases(cast.analyst)} == {a.pk, b.pk}
    assert {c.pk for c in selectors.cases(cast.op_a)} == {a.pk}
    assert {c.pk for c in selectors.cases(cast.op_b)} == {b.pk}
    assert not selectors.cases(cast.enterprise_a).exists()  # no case capability

    request = RequestFactory().get("/")
    request.user = cast.bureau

    def filtered(**params: object) -> set[int]:
        filterset = selectors.CaseFilter(params, request=request, queryset=selectors.cases(
            cast.bureau, now=local(2026, 11, 24, 1, 0)))
        assert filterset.is_valid(), filterset.errors
        return {c.pk for c in filterset.qs}

    assert filtered(supervised=True) == {b.pk}
    assert filtered(q=a.number) == {a.pk}
    assert filtered(q="辽L20002") == {b.pk}
    assert filtered(state=["dispatched"]) == {a.pk, b.pk}
    assert filtered(overdue=True) == {a.pk, b.pk}  # accept deadline was Monday
    assert filtered(assigned=cast.world.district_b.pk) == {b.pk}
    assert filtered(open=False) == set()
    assert selectors.cases(cast.bureau, now=local(2026, 11, 21)).get(pk=a.pk).overdue is False


def test_timeline_merges_events_and_evidence(cast, clock):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    clock.advance(minutes=5)
    supervision = services.supervise_case(case=case, actor=cast.bureau, reason="重点")
    clock.advance(minutes=5)
    CaseEvidence.objects.create(case=case, assignment=unit(case), file="cases/x/photo.jpg",
                                original_name="现场照片.jpg", content_type="image/jpeg",
                                size=1024, sha256="0" * 64, uploaded_by=cast.op_a)
    clock.advance(minutes=5)
    services.reply_supervision(supervision=supervision, actor=cast.op_a, reply="收到")

    timeline = selectors.case_timeline(cast.op_a, case)
    assert [(e.kind, e.action) for e in timeline.entries] == [
        ("event", "open"), ("event", "dispatch"), ("event", "accept"),
        ("event", "supervise"), ("evidence", "evidence"), ("event", "supervision_reply")]
    supervise = timeline.entries[3]
    assert supervise.obj == supervision and supervise.label == "督办"
    assert timeline.entries[4].district == cast.world.district_a.name
    assert [s.pk for s in timeline.supervisions] == [supervision.pk]

    from django.http import Http404

    with pytest.raises(Http404):
        selectors.case_timeline(cast.op_b, case)


def test_counts_by_district(cast, clock):
    drive(cast, new_case(cast), CaseState.DISPATCHED)
    drive(cast, new_case(cast), CaseState.ARCHIVED)
    late = drive(cast, new_case(cast), CaseState.ACCEPTED)
    services.supervise_case(case=late, actor=cast.bureau, reason="重点")
    [row] = selectors.counts_by_district(cast.bureau, now=local(2026, 11, 24, 1))
    assert (row["district__name"], row["open"], row["overdue"], row["supervised"]) == (
        cast.world.district_a.name, 2, 1, 1)
    assert selectors.counts_by_district(cast.op_b) == []


def test_case_detail_is_scoped(cast):
    from django.http import Http404

    case = drive(cast, new_case(cast), CaseState.DISPATCHED)
    detail = selectors.case_detail(cast.op_a, case.pk)
    assert [a.district for a in detail.assignments.all()] == [cast.world.district_a]
    with pytest.raises(Http404):
        selectors.case_detail(cast.op_b, case.pk)
    assert Case.objects.count() == 1
    assert dt.timedelta(0) < case.deadline - case.created_at


def test_inbox_goes_by_each_units_own_deadline(cast, clock):
    """双重派送: A signed for its part (a handling clock of days), B did not (its signing clock
    ran out). The case's own deadline is the earliest of the two; each unit's inbox must go by
    its own."""
    case = services.open_case(source="illegal_operation", actor=cast.bureau,
                              title="非法营运：无证载客", vehicle=cast.world.vehicle_b,
                              district=cast.world.district_a)
    a, b = unit(case, cast.world.district_a), unit(case, cast.world.district_b)
    clock.advance(hours=1)
    services.accept_assignment(assignment=a, actor=cast.op_a)
    a.refresh_from_db()
    b.refresh_from_db()
    case.refresh_from_db()
    moment = b.deadline + dt.timedelta(hours=1)  # B is late, A has days left
    assert a.deadline > moment + selectors.DUE_SOON
    assert case.deadline == b.deadline < moment  # the case is overdue as a whole

    inbox_a = selectors.district_inbox(cast.op_a, now=moment)
    assert ids(inbox_a.overdue) == set() and ids(inbox_a.due_soon) == set()
    inbox_b = selectors.district_inbox(cast.op_b, now=moment)
    assert ids(inbox_b.overdue) == {case.pk} and ids(inbox_b.new) == {case.pk}

    # Later A's clock is near its end, B's still past: A "due soon", B "overdue".
    soon = a.deadline - dt.timedelta(hours=3)
    assert ids(selectors.district_inbox(cast.op_a, now=soon).due_soon) == {case.pk}
    assert ids(selectors.district_inbox(cast.op_a, now=soon).overdue) == set()
    assert ids(selectors.district_inbox(cast.op_b, now=soon).overdue) == {case.pk}

    # Someone working for both units: the case is overdue for B's part only.
    both = User.objects.create_user(username="both", password="x", level="district",
                                    role="district_operator")
    both.districts.set([cast.world.district_a, cast.world.district_b])
    inbox = selectors.district_inbox(both, now=moment)
    assert [row.assignment.district_id for row in inbox.overdue] == [cast.world.district_b.pk]
    inbox = selectors.district_inbox(both, now=soon)
    assert [row.assignment.district_id for row in inbox.due_soon] == [cast.world.district_a.pk]
    assert [row.assignment.district_id for row in inbox.overdue] == [cast.world.district_b.pk]
