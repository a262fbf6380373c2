"""查岗 services with a controlled clock: send (one desk, all districts, a district's
enterprises), answer on time / late, missed, waiting; one answer only; scope and roles; the
sender told once of a missed check-post; the response-rate figures."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import AuditEvent
from compliance import selectors_desk as selectors
from compliance.models import CheckPost, Notification
from compliance.services.cases import CaseError
from compliance.services.checkposts import (
    answer_checkpost,
    notify_missed_checkposts,
    send_checkpost,
    send_checkposts,
)
from tests import factories
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    Clock,
    fast_passwords,
    local,
    make_cast,
    make_user,
)

START = local(2026, 11, 20, 22, 0)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


@pytest.fixture
def clock(monkeypatch) -> Clock:  # type: ignore[no-untyped-def]
    return Clock(monkeypatch, START)


def ping(cast: Cast, **target) -> CheckPost:  # type: ignore[no-untyped-def]
    target = target or {"district": cast.world.district_a}
    return send_checkpost(question="请回复在岗情况", answer_within_minutes=10,
                          actor=cast.bureau, **target)


def status_of(checkpost: CheckPost, clock: Clock) -> str:
    return selectors.with_status(CheckPost.objects.filter(pk=checkpost.pk),
                                 now=clock.current).get().status


def test_send_to_a_district_notifies_its_desk(cast, clock):
    checkpost = ping(cast)
    assert (checkpost.sent_at, checkpost.sent_by, checkpost.answer_within_minutes) == (
        START, cast.bureau, 10)
    assert {n.user for n in Notification.objects.filter(kind="checkpost_sent")} == {
        cast.op_a, cast.leader_a}
    row = Notification.objects.filter(user=cast.op_a).get()
    assert row.title == "查岗：请回复在岗情况（请在 10 分钟内应答）"
    assert row.url == f"/compliance/checkposts/desk/#checkpost-{checkpost.pk}"
    assert AuditEvent.objects.get(action="checkpost_send").detail["checkposts"] == [checkpost.pk]


def test_default_window_comes_from_the_setting(cast, clock, settings):
    settings.CHECKPOST_ANSWER_WITHIN_MINUTES = 7
    checkpost = send_checkpost(district=cast.world.district_a, question="在岗？",
                               actor=cast.bureau)
    assert checkpost.answer_within_minutes == 7


def test_send_to_an_enterprise_notifies_its_officer_only(cast, clock):
    ping(cast, enterprise=cast.world.enterprise_a)
    assert {n.user for n in Notification.objects.filter(kind="checkpost_sent")} == {
        cast.enterprise_a}


def test_bulk_sends(cast, clock):
    rows = send_checkposts(districts=[cast.world.district_a, cast.world.district_b],
                           question="夜间查岗", actor=cast.bureau)
    assert {r.district_id for r in rows} == {cast.world.district_a.pk, cast.world.district_b.pk}
    extra = factories.make_enterprise(cast.world.district_a, name="双台子危货运输公司")
    rows = send_checkposts(enterprises=[cast.world.enterprise_a, extra], question="夜间查岗",
                           actor=cast.bureau)
    assert {r.enterprise_id for r in rows} == {cast.world.enterprise_a.pk, extra.pk}
    assert CheckPost.objects.count() == 4


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"question": " "}, "请填写查岗内容"),
    ({"question": "长" * 201}, "查岗内容不能超过 200 个字"),
    ({"answer_within_minutes": 0}, "应答时限须为 1 至 1440 分钟"),
    ({"answer_within_minutes": 1441}, "应答时限须为 1 至 1440 分钟"),
    ({"answer_within_minutes": "10"}, "应答时限须为 1 至 1440 分钟"),
    ({"districts": []}, "请选择查岗对象"),
])
def test_bad_input_writes_nothing(cast, clock, kwargs, message):
    values = {"districts": [cast.world.district_a], "question": "在岗？",
              "answer_within_minutes": 10, **kwargs}
    with pytest.raises(CaseError) as error:
        send_checkposts(actor=cast.bureau, **values)
    assert error.value.code == CaseError.INVALID_INPUT and error.value.message == message
    assert not CheckPost.objects.exists() and not Notification.objects.exists()


def test_one_target_exactly_and_only_the_city_sends(cast, clock):
    with pytest.raises(CaseError):
        send_checkpost(district=cast.world.district_a, enterprise=cast.world.enterprise_a,
                       question="在岗？", actor=cast.bureau)
    with pytest.raises(CaseError):
        send_checkpost(question="在岗？", actor=cast.bureau)
    for actor in (cast.op_a, cast.analyst, cast.enterprise_a):
        with pytest.raises(CaseError) as error:
            send_checkpost(district=cast.world.district_a, question="在岗？", actor=actor)
        assert error.value.code == CaseError.FORBIDDEN
    assert not CheckPost.objects.exists()


def test_answer_on_time_at_the_last_second(cast, clock):
    checkpost = ping(cast)
    assert status_of(checkpost, clock) == selectors.WAITING
    clock.advance(minutes=10)  # exactly sent_at + window: still on time
    answered = answer_checkpost(checkpost=checkpost, actor=cast.op_a, answer="在岗，张三")
    assert answered.answered_at == START + dt.timedelta(minutes=10)
    assert answered.answered_by == cast.op_a and answered.answer == "在岗，张三"
    clock.advance(hours=1)
    assert status_of(checkpost, clock) == selectors.ON_TIME
    notice = Notification.objects.get(kind="checkpost_answered")
    assert notice.user == cast.bureau and notice.title == "双台子区已应答查岗：请回复在岗情况"


def test_late_answer_is_accepted_and_stays_late(cast, clock):
    checkpost = ping(cast)
    clock.advance(minutes=10, seconds=1)
    assert status_of(checkpost, clock) == selectors.MISSED
    answer_checkpost(checkpost=checkpost, actor=cast.op_a, answer="在岗")
    assert status_of(checkpost, clock) == selectors.LATE
    assert AuditEvent.objects.get(action="checkpost_answer").detail["late"] is True
    assert Notification.objects.get(kind="checkpost_answered").title.startswith("双台子区超时应答")


def test_second_answer_is_a_conflict(cast, clock):
    checkpost = ping(cast)
    clock.advance(minutes=2)
    answer_checkpost(checkpost=checkpost, actor=cast.op_a, answer="在岗")
    with pytest.raises(CaseError) as error:
        answer_checkpost(checkpost=checkpost, actor=cast.leader_a, answer="也在岗")
    assert error.value.code == CaseError.CONFLICT
    assert "district_a" in error.value.message and "22:02:00" in error.value.message
    checkpost.refresh_from_db()
    assert checkpost.answered_by == cast.op_a and checkpost.answer == "在岗"


def test_who_may_answer(cast, clock):
    for_a = ping(cast)
    for_enterprise = ping(cast, enterprise=cast.world.enterprise_a)
    with pytest.raises(CaseError) as error:  # district B: not even visible
        answer_checkpost(checkpost=for_a, actor=cast.op_b, answer="在岗")
    assert error.value.code == CaseError.NOT_FOUND
    with pytest.raises(CaseError) as error:  # the enterprise does not answer for its district
        answer_checkpost(checkpost=for_a, actor=cast.enterprise_a, answer="在岗")
    assert error.value.code == CaseError.NOT_FOUND
    with pytest.raises(CaseError) as error:  # the district sees its enterprise's, not answers
        answer_checkpost(checkpost=for_enterprise, actor=cast.op_a, answer="在岗")
    assert error.value.code == CaseError.FORBIDDEN
    with pytest.raises(CaseError) as error:
        answer_checkpost(checkpost=for_a, actor=cast.bureau, answer="在岗")
    assert error.value.code == CaseError.FORBIDDEN
    with pytest.raises(CaseError) as error:
        answer_checkpost(checkpost=for_a, actor=cast.op_a, answer="  ")
    assert error.value.code == CaseError.INVALID_INPUT
    assert not CheckPost.objects.filter(answered_at__isnull=False).exists()
    answer_checkpost(checkpost=for_enterprise, actor=cast.enterprise_a, answer="监控室在岗")
    assert CheckPost.objects.get(pk=for_enterprise.pk).answered_by == cast.enterprise_a


def test_missed_check_posts_are_told_to_the_sender_once(cast, clock):
    missed = ping(cast)
    answered = ping(cast, district=cast.world.district_b)
    answer_checkpost(checkpost=answered, actor=cast.op_b, answer="在岗")
    assert notify_missed_checkposts() == 0  # still waiting
    clock.advance(minutes=11)
    assert notify_missed_checkposts() == 1
    assert notify_missed_checkposts() == 0  # told once
    notice = Notification.objects.get(kind="checkpost_missed")
    assert notice.user == cast.bureau
    assert notice.title == "双台子区未在时限内应答查岗：请回复在岗情况"
    assert notice.url.endswith(f"#checkpost-{missed.pk}")


def test_response_rates_count_on_time_over_sent(cast, clock):
    on_time, late, missed = ping(cast), ping(cast), ping(cast)
    waiting_b = ping(cast, district=cast.world.district_b)
    answer_checkpost(checkpost=on_time, actor=cast.op_a, answer="在岗")
    clock.advance(minutes=20)
    answer_checkpost(checkpost=late, actor=cast.op_a, answer="在岗")
    waiting_b.refresh_from_db()
    CheckPost.objects.filter(pk=waiting_b.pk).update(sent_at=clock.current)  # sent just now
    rates = selectors.response_rates(cast.bureau, start=START - dt.timedelta(hours=1),
                                     end=START + dt.timedelta(hours=1), now=clock.current)
    by_name = {r.target: r for r in rates}
    a, b = by_name["双台子区"], by_name["兴隆台区"]
    assert (a.sent, a.on_time, a.late, a.missed, a.waiting) == (3, 1, 1, 1, 0)
    assert a.rate == pytest.approx(1 / 3)
    assert (b.sent, b.waiting, b.rate) == (1, 1, 0)
    assert missed.pk and [r.target for r in selectors.response_rates(
        cast.op_b, start=START - dt.timedelta(hours=1), end=START + dt.timedelta(hours=1))] == [
        "兴隆台区"]


def test_answering_reads_the_answerers_own_notice(cast, clock):
    checkpost = ping(cast)
    answer_checkpost(checkpost=checkpost, actor=cast.op_a, answer="在岗")
    sent = Notification.objects.filter(kind="checkpost_sent")
    assert sent.get(user=cast.op_a).read_at == START
    assert sent.get(user=cast.leader_a).read_at is None  # a colleague still sees it came


def test_the_scheduler_runs_the_missed_check(db):
    from fleet.scheduler import build_scheduler

    jobs = {job.id: job for job in build_scheduler().get_jobs()}
    assert jobs["missed_checkposts"].func.__wrapped__ is notify_missed_checkposts


@pytest.mark.django_db(transaction=True)
def test_two_people_answer_at_once_one_wins(world, bureau_user, district_a_user):
    """Real transactions in two threads: one answer is stored, the other gets ``conflict``."""
    from tests.compliance.test_case_concurrency import race

    colleague = make_user("op_a2", level="district", role="district_operator",
                          districts=[world.district_a])
    checkpost = send_checkpost(district=world.district_a, question="在岗？", actor=bureau_user)
    outcomes = race(
        lambda: answer_checkpost(checkpost=CheckPost.objects.get(pk=checkpost.pk),
                                 actor=district_a_user, answer="甲在岗"),
        lambda: answer_checkpost(checkpost=CheckPost.objects.get(pk=checkpost.pk),
                                 actor=colleague, answer="乙在岗"))
    assert sorted(outcomes) == ["conflict", "done"]
    checkpost.refresh_from_db()
    winner = district_a_user if outcomes[0] == "done" else colleague
    assert checkpost.answered_by == winner
    assert checkpost.answer == ("甲在岗" if winner == district_a_user else "乙在岗")
    assert AuditEvent.objects.filter(action="checkpost_answer").count() == 1
