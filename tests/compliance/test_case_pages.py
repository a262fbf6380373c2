"""Case pages: the list, the inbox and the case page are scoped like the API; action forms only
for users who may act; a stale page gets a conflict message instead of acting."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import Case, CaseState, SourcePolicy, Supervision
from compliance.services import cases as services
from tests import factories
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    drive,
    fast_passwords,
    make_cast,
    new_case,
    unit,
)

ROW = re.compile(r'<tr data-case="(\d+)"')


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


def listed(response) -> set[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    return {int(pk) for pk in ROW.findall(response.content.decode())}


def case_in_b(cast: Cast) -> Case:
    return services.open_case(source="manual", actor=cast.bureau, title="现场检查：B",
                              vehicle=cast.world.vehicle_b, district=cast.world.district_b)


def post(client, case: Case, action: str, **data: object):  # type: ignore[no-untyped-def]
    return client.post(reverse("compliance:case_action", args=[case.pk, action]), data)


def test_list_shows_only_own_cases(cast, client_for):
    a, b = new_case(cast), case_in_b(cast)
    assert listed(client_for(cast.bureau).get(reverse("compliance:case_list"))) == {a.pk, b.pk}
    assert listed(client_for(cast.op_a).get(reverse("compliance:case_list"))) == {a.pk}
    assert listed(client_for(cast.op_b).get(reverse("compliance:case_list"))) == {b.pk}


def test_list_filters_and_marks_overdue_and_supervised(cast, client_for):
    late = drive(cast, new_case(cast, title="超时的案件"), CaseState.DISPATCHED)
    Case.objects.filter(pk=late.pk).update(deadline=timezone.now() - dt.timedelta(hours=2))
    other = new_case(cast, title="普通案件")
    client = client_for(cast.bureau)
    url = reverse("compliance:case_list")
    assert listed(client.get(url, {"state": "dispatched"})) == {late.pk}
    assert listed(client.get(url, {"overdue": "true"})) == {late.pk}
    assert listed(client.get(url, {"q": "普通"})) == {other.pk}
    html = client.get(url).content.decode()
    row = re.search(rf'<tr data-case="{late.pk}" class="([^"]*)"', html)
    assert row and "row-overdue" in row.group(1)
    assert "deadline-late" in html and "case-overdue" in html

    services.supervise_case(case=late, actor=cast.bureau, reason="重点督办")
    assert listed(client.get(url, {"supervised": "true"})) == {late.pk}
    assert "row-supervised" in client.get(url).content.decode()


def test_inbox_shows_the_districts_work(cast, client_for):
    a = drive(cast, new_case(cast), CaseState.DISPATCHED)
    b = case_in_b(cast)
    services.dispatch_case(case=b, districts=[cast.world.district_b], actor=cast.bureau)
    response = client_for(cast.op_a).get(reverse("compliance:inbox"), {"tab": "new"})
    assert listed(response) == {a.pk}
    returned = drive(cast, new_case(cast, title="退回的案件"), CaseState.RETURNED)
    response = client_for(cast.op_a).get(reverse("compliance:inbox"), {"tab": "returned"})
    assert listed(response) == {returned.pk}


def test_district_b_gets_404_on_district_a_case_and_cannot_act(cast, client_for):
    case = drive(cast, new_case(cast), CaseState.DISPATCHED)
    client = client_for(cast.op_b)
    assert client.get(reverse("compliance:case_detail", args=[case.pk])).status_code == 404
    response = post(client, case, "accept", seen="dispatched", assignment=unit(case).pk)
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED
    assert client_for(cast.op_a).get(
        reverse("compliance:case_detail", args=[case.pk])).status_code == 200


def test_forms_follow_the_capability(cast, client_for):
    case = drive(cast, new_case(cast), CaseState.DISPATCHED)
    page = reverse("compliance:case_detail", args=[case.pk])
    operator = client_for(cast.op_a).get(page).content.decode()
    assert 'data-testid="accept"' in operator and 'data-testid="supervise"' not in operator
    bureau = client_for(cast.bureau).get(page).content.decode()
    assert 'data-testid="accept"' not in bureau and 'data-testid="supervise"' in bureau
    analyst = client_for(cast.analyst).get(page).content.decode()
    assert 'data-testid="actions"' not in analyst
    # Posting without the capability is refused outright.
    assert post(client_for(cast.analyst), case, "supervise", seen="dispatched",
                note="x").status_code == 403
    assert post(client_for(cast.op_a), case, "supervise", seen="dispatched",
                note="x").status_code == 403
    assert not Supervision.objects.filter(case=case).exists()


def test_dispatch_and_report_through_the_forms(cast, client_for):
    case = new_case(cast)
    bureau, operator = client_for(cast.bureau), client_for(cast.op_a)
    html = bureau.get(reverse("compliance:case_detail", args=[case.pk])).content.decode()
    assert 'data-testid="dispatch"' in html and "双重派送" not in html
    post(bureau, case, "dispatch", seen="new", districts=[cast.world.district_a.pk])
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED
    post(operator, case, "accept", seen="dispatched", assignment=unit(case).pk)
    response = post(operator, case, "report", seen="accepted", assignment=unit(case).pk,
                    outcome="fine", fine_yuan="", note="")
    assert "罚款须填写大于 0 的金额" in operator.get(response.url).content.decode()
    post(operator, case, "report", seen="accepted", assignment=unit(case).pk, outcome="fine",
         fine_yuan="200", note="已罚款")
    case.refresh_from_db()
    assert case.state == CaseState.HANDLED
    assert str(unit(case).fine_yuan) == "200.00"


def test_illegal_operation_offers_a_second_unit(cast, client_for):
    # Screened by the city here (the default dispatches at once, without the form).
    SourcePolicy.objects.create(source="illegal_operation", auto_dispatch=False)
    case = new_case(cast, source="illegal_operation")
    assert case.state == CaseState.NEW
    html = client_for(cast.bureau).get(
        reverse("compliance:case_detail", args=[case.pk])).content.decode()
    assert "双重派送" in html


def test_a_stale_page_gets_a_conflict_message(cast, client_for):
    case = drive(cast, new_case(cast), CaseState.HANDLED)
    bureau = client_for(cast.bureau)
    services.verify_case(case=case, actor=cast.bureau)  # someone else, a moment earlier
    response = post(bureau, case, "return", seen="handled", note="证据不足")
    assert response.status_code == 302
    html = bureau.get(response.url).content.decode()
    assert "他人已先行操作" in html and "重新加载" in html
    case.refresh_from_db()
    assert case.state == CaseState.VERIFIED


def test_case_page_shows_evidence_and_timeline(cast, client_for):
    violation = factories.make_violation(cast.world.vehicle_a, district=cast.world.district_a,
                                         review_status="confirmed")
    case = services.open_case_for_violation(violation=violation, actor=cast.bureau)
    html = client_for(cast.op_a).get(
        reverse("compliance:case_detail", args=[case.pk])).content.decode()
    assert reverse("compliance:violation_detail", args=[violation.pk]) in html
    assert 'data-testid="case-map"' in html
    assert 'data-action="open"' in html


def test_case_page_marks_each_units_own_deadline(cast, client_for):
    """双重派送: only the unit whose own deadline passed is shown late."""
    case = services.open_case(source="illegal_operation", actor=cast.bureau,
                              title="非法营运：无证载客", vehicle=cast.world.vehicle_b,
                              district=cast.world.district_a)
    services.accept_assignment(assignment=unit(case, cast.world.district_a), actor=cast.op_a)
    late = unit(case, cast.world.district_b)
    type(late).objects.filter(pk=late.pk).update(
        deadline=timezone.now() - dt.timedelta(hours=1))
    html = client_for(cast.bureau).get(reverse("compliance:case_detail", args=[case.pk])) \
        .content.decode()
    table = html[html.index('data-testid="assignments"'):html.index("</table>",
                                                                    html.index("assignments"))]
    rows = table.split("<tr")[2:]  # after the header row
    late_rows = [row for row in rows if "deadline-late" in row]
    assert len(late_rows) == 1 and cast.world.district_b.name in late_rows[0]
