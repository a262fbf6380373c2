"""指令下发 pages: the city's list and form, a district's inbox and the instruction page —
scoped (district B never sees district A's), with a bounded number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import Instruction, InstructionTarget
from compliance.services.instructions import acknowledge_instruction, issue_instruction
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    fast_passwords,
    make_cast,
)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


def issue(cast: Cast, districts, title: str = "节前安全检查") -> Instruction:  # type: ignore[no-untyped-def]
    return issue_instruction(title=title, body="请完成检查并回复。", districts=districts,
                             acknowledge_by=timezone.now() + dt.timedelta(hours=4),
                             actor=cast.bureau)


def listed(html: str, attribute: str) -> set[int]:
    return {int(pk) for pk in re.findall(rf'data-{attribute}="(\d+)"', html)}


def test_issue_form_creates_and_shows_the_instruction(cast, client_for):
    client = client_for(cast.bureau)
    assert client.get(reverse("compliance:instruction_new")).status_code == 200
    deadline = timezone.localtime() + dt.timedelta(days=1)
    response = client.post(reverse("compliance:instruction_new"), {
        "title": "暴雪天气停运通知", "body": "全市客运班线暂停发班。", "all_districts": "on",
        "acknowledge_by": deadline.strftime("%Y-%m-%dT%H:%M")})
    instruction = Instruction.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("compliance:instruction_detail", args=[instruction.pk])
    assert instruction.targets.count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "暴雪天气停运通知" in page and "全市客运班线暂停发班。" in page
    assert page.count('data-testid="target-status"') == 2


def test_issue_form_shows_errors_and_writes_nothing(cast, client_for):
    client = client_for(cast.bureau)
    past = timezone.localtime() - dt.timedelta(hours=1)
    response = client.post(reverse("compliance:instruction_new"), {
        "title": "t", "body": "b", "districts": [cast.world.district_a.pk],
        "acknowledge_by": past.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 200 and "签收时限须晚于当前时间" in response.content.decode()
    response = client.post(reverse("compliance:instruction_new"), {
        "title": "t", "body": "b", "acknowledge_by": (past + dt.timedelta(days=1)).strftime(
            "%Y-%m-%dT%H:%M")})
    assert "请选择接收指令的区县" in response.content.decode()
    assert not Instruction.objects.exists()


def test_pages_need_the_capability(cast, client_for):
    assert client_for(cast.op_a).get(reverse("compliance:instruction_list")).status_code == 403
    assert client_for(cast.op_a).get(reverse("compliance:instruction_new")).status_code == 403
    assert client_for(cast.bureau).get(reverse("compliance:instruction_inbox")).status_code == 403
    assert client_for(cast.enterprise_a).get(
        reverse("compliance:instruction_inbox")).status_code == 403


def test_district_b_never_sees_district_a(cast, client_for):
    only_a = issue(cast, [cast.world.district_a], title="仅双台子区")
    both = issue(cast, [cast.world.district_a, cast.world.district_b], title="两区")
    client_b = client_for(cast.op_b)
    assert client_b.get(reverse("compliance:instruction_detail",
                                args=[only_a.pk])).status_code == 404
    target_a = InstructionTarget.objects.get(instruction=both, district=cast.world.district_a)
    response = client_b.post(reverse("compliance:instruction_acknowledge", args=[target_a.pk]))
    assert response.status_code == 404
    assert InstructionTarget.objects.get(pk=target_a.pk).acknowledged_at is None
    inbox = client_b.get(reverse("compliance:instruction_inbox")).content.decode()
    assert "两区" in inbox and "仅双台子区" not in inbox
    page = client_b.get(reverse("compliance:instruction_detail", args=[both.pk])).content.decode()
    assert listed(page, "district") == {cast.world.district_b.pk}  # only its own row
    assert client_for(cast.enterprise_a).get(reverse(
        "compliance:instruction_detail", args=[both.pk])).status_code == 403


def test_district_acknowledges_from_the_page(cast, client_for):
    instruction = issue(cast, [cast.world.district_a, cast.world.district_b])
    target = InstructionTarget.objects.get(instruction=instruction, district=cast.world.district_a)
    client = client_for(cast.op_a)
    page = client.get(reverse("compliance:instruction_detail", args=[instruction.pk]))
    assert 'data-testid="acknowledge"' in page.content.decode()
    url = reverse("compliance:instruction_acknowledge", args=[target.pk])
    response = client.post(url, {"reply": "已传达"}, follow=True)
    assert "已签收" in response.content.decode()
    assert 'data-testid="acknowledge"' not in response.content.decode()
    again = client_for(cast.leader_a).post(url, {"reply": "重复"}, follow=True)
    assert "该指令已由district_a于" in again.content.decode()
    target.refresh_from_db()
    assert target.reply == "已传达"
    inbox = client.get(reverse("compliance:instruction_inbox")).content.decode()
    assert listed(inbox, "target") == set()


def test_list_marks_overdue_districts(cast, client_for):
    instruction = issue(cast, [cast.world.district_a, cast.world.district_b])
    acknowledge_instruction(target=instruction.targets.get(district=cast.world.district_a),
                            actor=cast.op_a)
    # Signed in time, then the deadline passed.
    InstructionTarget.objects.filter(instruction=instruction, district=cast.world.district_a
                                     ).update(acknowledged_at=timezone.now()
                                              - dt.timedelta(minutes=2))
    Instruction.objects.filter(pk=instruction.pk).update(
        acknowledge_by=timezone.now() - dt.timedelta(minutes=1))
    html = client_for(cast.bureau).get(reverse("compliance:instruction_list")).content.decode()
    assert f'data-district="{cast.world.district_a.pk}" data-status="acknowledged"' in html
    assert f'data-district="{cast.world.district_b.pk}" data-status="overdue"' in html
    assert "row-overdue" in html
    inbox = client_for(cast.op_b).get(reverse("compliance:instruction_inbox")).content.decode()
    assert "row-overdue" in inbox and "1 条已超时" in inbox


def test_list_and_inbox_queries_do_not_grow(cast, client_for, django_assert_max_num_queries):
    for n in range(3):
        issue(cast, [cast.world.district_a, cast.world.district_b], title=f"指令{n}")
    bureau, district = client_for(cast.bureau), client_for(cast.op_a)
    bureau.get(reverse("compliance:instruction_list"))  # warm the session
    district.get(reverse("compliance:instruction_inbox"))
    for n in range(3, 25):
        issue(cast, [cast.world.district_a, cast.world.district_b], title=f"指令{n}")
    with django_assert_max_num_queries(10):
        assert bureau.get(reverse("compliance:instruction_list")).status_code == 200
    with django_assert_max_num_queries(10):
        response = district.get(reverse("compliance:instruction_inbox"))
    assert len(listed(response.content.decode(), "target")) == 25
