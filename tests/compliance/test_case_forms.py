"""The case page's forms for re-dispatch (改派, with a reason) and for returning a double-dispatched
case to some of its units (退回, with a reason and a choice of units)."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse

from compliance.models import AssignmentState, Case, CaseSource, CaseState
from compliance.services import cases as services
from fleet.geo.jurisdiction import reset_default_resolver
from tests import factories
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    drive,
    fast_passwords,
    make_cast,
    new_case,
    unit,
)

IN_A = Point(122.05, 41.15, srid=4326)  # inside district A's square


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    reset_default_resolver()  # the resolver reads this test's districts
    yield make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)
    reset_default_resolver()


def page(client, case: Case) -> str:  # type: ignore[no-untyped-def]
    return client.get(reverse("compliance:case_detail", args=[case.pk])).content.decode()


def post(client, case: Case, action: str, data: dict):  # type: ignore[no-untyped-def]
    return client.post(reverse("compliance:case_action", args=[case.pk, action]), data,
                       follow=True)


def said(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(m) for m in response.context["messages"])


def double(cast: Cast) -> Case:
    """An illegal-operation case: dispatched to A (where) and B (home of vehicle B)."""
    return services.open_case(source=CaseSource.ILLEGAL_OPERATION, actor=cast.bureau,
                              title="非法营运：无证载客", vehicle=cast.world.vehicle_b,
                              location=IN_A)


@pytest.mark.parametrize("state", [CaseState.DISPATCHED, CaseState.ACCEPTED])
def test_redispatch_through_the_form(cast, client_for, state):
    district_c = factories.make_district("211104", "大洼区", 122.2, 41.1)
    case = drive(cast, new_case(cast), state)
    client = client_for(cast.bureau)
    html = page(client, case)
    assert 'data-testid="redispatch-form"' in html and "大洼区" in html
    assert 'data-testid="redispatch-form"' not in page(client_for(cast.op_a), case)

    # No reason: refused, nothing changes.
    response = post(client, case, "redispatch", {
        "seen": state, "from_district": cast.world.district_a.pk,
        "to_district": district_c.pk, "note": ""})
    assert "请填写改派原因" in said(response)
    assert unit(case).district == cast.world.district_a

    response = post(client, case, "redispatch", {
        "seen": state, "from_district": cast.world.district_a.pk,
        "to_district": district_c.pk, "note": "车辆实际在大洼区运营"})
    assert "已由双台子区改派至大洼区" in said(response)
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED and case.district == district_c
    assert unit(case).district == district_c
    assert case.assignments.get(district=cast.world.district_a).state == AssignmentState.WITHDRAWN
    event = case.events.get(action="redispatch")
    assert event.note == "车辆实际在大洼区运营" and event.actor == cast.bureau
    # District A no longer sees it.
    assert client_for(cast.op_a).get(reverse("compliance:case_detail", args=[case.pk])) \
        .status_code == 404


def test_redispatch_form_is_for_the_city_only(cast, client_for):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    response = client_for(cast.op_a).post(
        reverse("compliance:case_action", args=[case.pk, "redispatch"]),
        {"seen": "accepted", "from_district": cast.world.district_a.pk,
         "to_district": cast.world.district_b.pk, "note": "x"})
    assert response.status_code == 403
    assert page(client_for(cast.bureau), drive(cast, new_case(cast), CaseState.HANDLED)) \
        .count('data-testid="redispatch-form"') == 0


def test_double_dispatch_redispatch_picks_the_unit(cast, client_for):
    district_c = factories.make_district("211104", "大洼区", 122.2, 41.1)
    case = double(cast)
    client = client_for(cast.bureau)
    assert 'data-testid="redispatch-from"' in page(client, case)
    response = post(client, case, "redispatch", {
        "seen": case.state, "from_district": cast.world.district_b.pk,
        "to_district": district_c.pk, "note": "登记地有误"})
    assert "已由兴隆台区改派至大洼区" in said(response)
    units = {a.district for a in case.assignments.exclude(state=AssignmentState.WITHDRAWN)}
    assert units == {cast.world.district_a, district_c}


def handled_double(cast: Cast) -> Case:
    case = double(cast)
    a, b = unit(case, cast.world.district_a), unit(case, cast.world.district_b)
    services.accept_assignment(assignment=a, actor=cast.op_a)
    services.accept_assignment(assignment=b, actor=cast.op_b)
    services.report_result(assignment=a, outcome="fine", fine_yuan=5000, actor=cast.op_a)
    services.report_result(assignment=b, outcome="education", note="已约谈", actor=cast.op_b)
    case.refresh_from_db()
    assert case.state == CaseState.HANDLED
    return case


def test_partial_return_through_the_form(cast, client_for):
    case = handled_double(cast)
    client = client_for(cast.bureau)
    html = page(client, case)
    assert 'data-testid="return-units"' in html

    # Nothing ticked: refused.
    response = post(client, case, "return", {"seen": "handled", "choose_units": "1",
                                             "note": "罚款依据不足"})
    assert "请选择要退回的承办区县" in said(response)
    case.refresh_from_db()
    assert case.state == CaseState.HANDLED

    response = post(client, case, "return", {
        "seen": "handled", "choose_units": "1", "districts": [cast.world.district_a.pk],
        "note": "罚款依据不足"})
    assert "已退回双台子区" in said(response)
    case.refresh_from_db()
    assert case.state == CaseState.RETURNED
    assert unit(case, cast.world.district_a).state == AssignmentState.RETURNED
    assert unit(case, cast.world.district_b).state == AssignmentState.HANDLED  # B's result stands
    event = case.events.get(action="return")
    assert event.detail["districts"] == [cast.world.district_a.pk] and event.note == "罚款依据不足"


def test_return_of_a_unit_not_on_the_case_is_refused(cast, client_for):
    case = handled_double(cast)
    district_c = factories.make_district("211104", "大洼区", 122.2, 41.1)
    response = post(client_for(cast.bureau), case, "return", {
        "seen": "handled", "choose_units": "1",
        "districts": [cast.world.district_a.pk, district_c.pk], "note": "x"})
    assert "请选择要退回的承办区县" in said(response)
    case.refresh_from_db()
    assert case.state == CaseState.HANDLED


def test_single_unit_return_has_no_unit_choice(cast, client_for):
    case = drive(cast, new_case(cast), CaseState.HANDLED)
    client = client_for(cast.bureau)
    assert 'data-testid="return-units"' not in page(client, case)
    response = post(client, case, "return", {"seen": "handled", "note": "证据不足"})
    assert "已退回双台子区" in said(response)
