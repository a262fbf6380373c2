"""督办 with a controlled clock: raised automatically once per missed district deadline (not
twice), by hand for key cases, and answered once by the supervised district."""

from __future__ import annotations

import datetime as dt

import pytest

from compliance import case_jobs
from compliance.models import CaseEvent, CaseState, Notification, Supervision
from compliance.services import cases as services
from compliance.services.cases import CaseError
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


def test_automatic_supervision_is_raised_once_per_missed_deadline(cast, clock):
    case = drive(cast, new_case(cast), CaseState.DISPATCHED)
    # Accept within 1 working day: by the end of Monday.
    assert unit(case).deadline == local(2026, 11, 23, 23, 59, 59)
    assert services.raise_overdue_supervision(now=local(2026, 11, 23, 23, 0)) == []

    clock.set(local(2026, 11, 24, 0, 1))
    [raised] = services.raise_overdue_supervision(now=clock.current)
    assert raised.raised_by is None and "逾期未签收" in raised.reason
    assert cast.world.district_a.name in raised.reason
    assert raised.reply_deadline == local(2026, 11, 25, 23, 59, 59)  # 1 working day
    case.refresh_from_db()
    assert case.supervised and case.state == CaseState.DISPATCHED
    event = case.events.get(action="supervise")
    assert event.actor is None and event.detail["stage"] == "accept"
    assert set(Notification.objects.filter(kind="case_supervised").values_list(
        "user", flat=True)) == {cast.op_a.pk, cast.leader_a.pk}

    # The scheduler runs every minute: nothing more for the same missed deadline.
    for minutes in (1, 60, 60 * 24):
        assert services.raise_overdue_supervision(
            now=clock.current + dt.timedelta(minutes=minutes)) == []
    case_jobs.overdue_supervision_job()  # the job itself, with the (controlled) clock
    assert Supervision.objects.filter(case=case).count() == 1

    # Accepting starts the handling stage; its own deadline can be missed once more.
    clock.set(local(2026, 11, 24, 9, 0))
    services.accept_assignment(assignment=unit(case), actor=cast.op_a)
    assert unit(case).deadline == local(2026, 12, 1, 23, 59, 59)  # 5 working days
    assert services.raise_overdue_supervision(now=local(2026, 12, 1, 23, 0)) == []
    [second] = services.raise_overdue_supervision(now=local(2026, 12, 2, 0, 5))
    assert "逾期未办结" in second.reason
    assert services.raise_overdue_supervision(now=local(2026, 12, 3, 0, 5)) == []
    assert Supervision.objects.filter(case=case).count() == 2


def test_the_citys_own_stages_are_not_supervised(cast, clock):
    new = new_case(cast)
    handled = drive(cast, new_case(cast), CaseState.HANDLED)
    later = local(2027, 1, 1)
    assert new.deadline < later and handled.deadline < later
    assert services.raise_overdue_supervision(now=later) == []


def test_manual_supervision_and_reply(cast, clock):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    supervision = services.supervise_case(case=case, actor=cast.bureau, reason="媒体关注",
                                          reply_within=dt.timedelta(hours=4))
    assert supervision.raised_by == cast.bureau
    assert supervision.reply_deadline == clock.current + dt.timedelta(hours=4)
    case.refresh_from_db()
    assert case.supervised

    with pytest.raises(CaseError) as refused:
        services.reply_supervision(supervision=supervision, actor=cast.op_b, reply="收到")
    assert refused.value.code == CaseError.NOT_FOUND
    with pytest.raises(CaseError) as refused:
        services.reply_supervision(supervision=supervision, actor=cast.bureau, reply="收到")
    assert refused.value.code == CaseError.FORBIDDEN
    with pytest.raises(CaseError) as refused:
        services.reply_supervision(supervision=supervision, actor=cast.op_a, reply=" ")
    assert refused.value.code == CaseError.REASON_REQUIRED

    services.reply_supervision(supervision=supervision, actor=cast.leader_a,
                               reply="已安排专人办理")
    assert supervision.replied_by == cast.leader_a and supervision.reply == "已安排专人办理"
    with pytest.raises(CaseError) as refused:
        services.reply_supervision(supervision=supervision, actor=cast.op_a, reply="再次回复")
    assert refused.value.code == CaseError.CONFLICT
    assert [e.action for e in CaseEvent.objects.filter(case=case)][-2:] == [
        "supervise", "supervision_reply"]
    [notice] = Notification.objects.filter(kind="supervision_replied")
    assert notice.user == cast.bureau


def test_manual_supervision_rules(cast, clock):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    for who, code in (("op_a", CaseError.FORBIDDEN), ("analyst", CaseError.FORBIDDEN),
                      ("op_b", CaseError.NOT_FOUND)):
        with pytest.raises(CaseError) as refused:
            services.supervise_case(case=case, actor=getattr(cast, who), reason="督办")
        assert refused.value.code == code
    with pytest.raises(CaseError) as refused:
        services.supervise_case(case=case, actor=cast.bureau, reason="")
    assert refused.value.code == CaseError.REASON_REQUIRED
    with pytest.raises(CaseError) as refused:
        services.supervise_case(case=case, actor=cast.bureau, reason="督办",
                                reply_within=dt.timedelta(days=60))
    assert refused.value.code == CaseError.INVALID_INPUT
    assert not Supervision.objects.exists()
