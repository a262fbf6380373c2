"""查岗 pages: the city sends and follows (status, response rate per target over a period); the
desk sees what it must answer and answers; scoped, with a bounded number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import CheckPost, Notification
from compliance.services.checkposts import answer_checkpost, send_checkpost
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    fast_passwords,
    make_cast,
)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


def ping(cast: Cast, **target) -> CheckPost:  # type: ignore[no-untyped-def]
    return send_checkpost(question="请回复在岗情况", answer_within_minutes=10,
                          actor=cast.bureau, **(target or {"district": cast.world.district_a}))


def statuses(html: str) -> dict[int, str]:
    rows = re.findall(r'data-checkpost="(\d+)".*?data-testid="checkpost-status">([^<]+)<', html,
                      re.S)
    return {int(pk): label for pk, label in rows}


def test_send_form_targets(cast, client_for):
    client = client_for(cast.bureau)
    url = reverse("compliance:checkpost_send")
    response = client.post(url, {"target": "district:all", "question": "夜间查岗",
                                 "minutes": "5"}, follow=True)
    assert "已向 2 个值守台发起查岗" in response.content.decode()
    assert set(CheckPost.objects.values_list("district_id", "answer_within_minutes")) == {
        (cast.world.district_a.pk, 5), (cast.world.district_b.pk, 5)}
    client.post(url, {"target": f"enterprises-of:{cast.world.district_a.pk}",
                      "question": "企业查岗", "minutes": "10"})
    assert list(CheckPost.objects.filter(question="企业查岗").values_list(
        "enterprise_id", flat=True)) == [cast.world.enterprise_a.pk]
    client.post(url, {"target": f"enterprise:{cast.world.enterprise_b.pk}",
                      "question": "单个企业", "minutes": "10"})
    assert CheckPost.objects.get(question="单个企业").enterprise == cast.world.enterprise_b


def test_send_form_refuses_bad_input(cast, client_for):
    client = client_for(cast.bureau)
    url = reverse("compliance:checkpost_send")
    response = client.post(url, {"target": "district:all", "question": "在岗？",
                                 "minutes": "abc"}, follow=True)
    assert "应答时限须为 1 至 1440 分钟" in response.content.decode()
    response = client.post(url, {"target": "district:99999", "question": "在岗？",
                                 "minutes": "10"}, follow=True)
    assert "请选择查岗对象" in response.content.decode()
    assert not CheckPost.objects.exists()
    assert client_for(cast.op_a).post(url, {"target": "district:all", "question": "x",
                                            "minutes": "10"}).status_code == 403


def test_list_shows_status_and_rates(cast, client_for):
    on_time, late, missed, waiting = (ping(cast), ping(cast), ping(cast),
                                      ping(cast, district=cast.world.district_b))
    answer_checkpost(checkpost=on_time, actor=cast.op_a, answer="在岗")
    past = timezone.now() - dt.timedelta(minutes=30)
    CheckPost.objects.filter(pk__in=[late.pk, missed.pk]).update(sent_at=past)
    answer_checkpost(checkpost=late, actor=cast.op_a, answer="在岗")
    html = client_for(cast.bureau).get(reverse("compliance:checkpost_list")).content.decode()
    assert statuses(html) == {on_time.pk: "按时应答", late.pk: "超时应答", missed.pk: "未应答",
                              waiting.pk: "待应答"}
    rates = re.findall(r'<tr data-target="([^"]+)">.*?data-testid="rate">([^<]+)<', html, re.S)
    assert rates == [("双台子区", "33%"), ("兴隆台区", "0%")]
    filtered = client_for(cast.bureau).get(reverse("compliance:checkpost_list"),
                                           {"status": "missed"}).content.decode()
    assert set(statuses(filtered)) == {missed.pk}
    before = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    earlier = client_for(cast.bureau).get(reverse("compliance:checkpost_list"), {
        "start": before, "end": before}).content.decode()
    assert statuses(earlier) == {} and "所选期间没有查岗" in earlier


def test_desk_shows_its_own_waiting_check_posts(cast, client_for):
    for_a = ping(cast)
    for_b = ping(cast, district=cast.world.district_b)
    for_enterprise = ping(cast, enterprise=cast.world.enterprise_a)
    page = client_for(cast.op_a).get(reverse("compliance:checkpost_desk")).content.decode()
    waiting = {int(pk) for pk in re.findall(r'<article [^>]*data-checkpost="(\d+)"', page)}
    assert waiting == {for_a.pk}  # not district B's, not its enterprise's to answer
    assert "data-countdown" in page
    enterprise_page = client_for(cast.enterprise_a).get(
        reverse("compliance:checkpost_desk")).content.decode()
    assert {int(pk) for pk in re.findall(r'<article [^>]*data-checkpost="(\d+)"',
                                         enterprise_page)} == {for_enterprise.pk}
    part = client_for(cast.op_b).get(reverse("compliance:checkpost_desk"), {"part": "waiting"})
    assert "<html" not in part.content.decode()
    assert {int(pk) for pk in re.findall(r'<article [^>]*data-checkpost="(\d+)"',
                                         part.content.decode())} == {for_b.pk}


def test_desk_answers_and_scope(cast, client_for):
    for_a = ping(cast)
    url = reverse("compliance:checkpost_answer", args=[for_a.pk])
    assert client_for(cast.op_b).post(url, {"answer": "在岗"}).status_code == 404
    assert client_for(cast.bureau).post(url, {"answer": "在岗"}).status_code == 403
    response = client_for(cast.op_a).post(url, {"answer": "在岗，李四"}, follow=True)
    html = response.content.decode()
    assert "已应答" in html and "当前没有待应答的查岗" in html
    for_a.refresh_from_db()
    assert for_a.answered_by == cast.op_a and for_a.answer == "在岗，李四"
    again = client_for(cast.leader_a).post(url, {"answer": "重复"}, follow=True)
    assert "该查岗已由district_a于" in again.content.decode()
    assert Notification.objects.filter(kind="checkpost_answered", user=cast.bureau).count() == 1


def test_pages_need_the_capability(cast, client_for):
    assert client_for(cast.op_a).get(reverse("compliance:checkpost_list")).status_code == 403
    assert client_for(cast.bureau).get(reverse("compliance:checkpost_desk")).status_code == 403
    assert client_for(cast.analyst).get(reverse("compliance:checkpost_list")).status_code == 403


def test_list_and_desk_queries_do_not_grow(cast, client_for, django_assert_max_num_queries):
    bureau, desk = client_for(cast.bureau), client_for(cast.op_a)
    for _n in range(3):
        ping(cast)
    bureau.get(reverse("compliance:checkpost_list"))
    desk.get(reverse("compliance:checkpost_desk"))
    for n in range(30):
        answer = ping(cast) if n % 2 else ping(cast, enterprise=cast.world.enterprise_a)
        if n % 3 == 0 and answer.district_id:
            answer_checkpost(checkpost=answer, actor=cast.op_a, answer="在岗")
    with django_assert_max_num_queries(12):
        assert bureau.get(reverse("compliance:checkpost_list")).status_code == 200
    with django_assert_max_num_queries(10):
        assert desk.get(reverse("compliance:checkpost_desk")).status_code == 200
