"""Notifications reach the people concerned — rows in the portal and a channel-layer message to
``notify-user-<id>`` after the commit — and nobody else."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from accounts.models import User
from compliance.models import CaseState, DistrictCasePolicy, Notification
from compliance.services import cases as services
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    drive,
    fast_passwords,
    make_cast,
    make_user,
    new_case,
    unit,
)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


@pytest.fixture
def memory_layer(settings):  # type: ignore[no-untyped-def]
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return get_channel_layer()


def recipients(kind: str) -> set[User]:
    return {n.user for n in Notification.objects.filter(kind=kind).select_related("user")}


def test_each_step_notifies_the_people_concerned(cast):
    make_user("admin", level="bureau", role="bureau_admin")  # maintenance, not workflow staff
    case = drive(cast, new_case(cast), CaseState.HANDLED)
    assert recipients("case_dispatched") == {cast.op_a}
    assert recipients("case_handled") == {cast.bureau}  # not the administrator
    services.return_case(case=case, actor=cast.bureau, reason="证据不足")
    assert recipients("case_returned") == {cast.op_a, cast.leader_a}


def test_nobody_is_told_of_their_own_step(cast):
    colleague = make_user("bureau2", level="bureau", role="bureau_supervisor")
    case = drive(cast, new_case(cast), CaseState.HANDLED)
    services.return_case(case=case, actor=cast.bureau, reason="补充证据")
    services.report_result(assignment=unit(case), outcome="education", actor=cast.op_a)
    assert {n.user for n in Notification.objects.filter(kind="case_handled")} == {
        cast.bureau, colleague}
    assert not Notification.objects.filter(user=cast.op_a, kind="case_handled").exists()


def test_leader_approval_notices(cast):
    DistrictCasePolicy.objects.create(district=cast.world.district_a, leader_approval=True)
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    services.report_result(assignment=unit(case), outcome="education", actor=cast.op_a)
    assert recipients("case_awaiting_approval") == {cast.leader_a}
    services.reject_result(assignment=unit(case), actor=cast.leader_a, reason="请补充材料")
    assert recipients("case_rejected") == {cast.op_a}


def test_redispatch_tells_both_districts(cast):
    case = drive(cast, new_case(cast), CaseState.DISPATCHED)
    services.redispatch_case(case=case, from_district=cast.world.district_a,
                             to_district=cast.world.district_b, actor=cast.bureau,
                             reason="属地错误")
    assert recipients("case_withdrawn") == {cast.op_a}
    assert cast.op_b in recipients("case_dispatched")


def test_channel_message_after_commit(cast, memory_layer, django_capture_on_commit_callbacks):
    group = f"notify-user-{cast.op_a.pk}"
    case = new_case(cast)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.dispatch_case(case=case, districts=[cast.world.district_a], actor=cast.bureau)
    [row] = Notification.objects.filter(user=cast.op_a)

    async def listen_then_commit() -> dict:
        channel = await memory_layer.new_channel()
        await memory_layer.group_add(group, channel)
        for callback in callbacks:  # nothing is pushed before the commit
            await sync_to_async(callback)()
        return await asyncio.wait_for(memory_layer.receive(channel), timeout=5)

    # On a loop of its own in a fresh thread (a browser test may leave a loop on this one).
    with ThreadPoolExecutor(max_workers=1) as pool:
        message = pool.submit(asyncio.run, listen_then_commit()).result(timeout=30)
    assert message == {"type": "notify.message", "notification": {
        "id": row.pk, "kind": "case_dispatched", "title": row.title, "url": row.url,
        "case": {"id": case.pk, "number": case.number},
        "created_at": message["notification"]["created_at"]}}
    assert case.number in row.title and row.url.endswith(f"/{case.pk}/")


def test_mark_read(cast):
    case = drive(cast, new_case(cast), CaseState.DISPATCHED)
    services.redispatch_case(case=case, from_district=cast.world.district_a,
                             to_district=cast.world.district_b, actor=cast.bureau, reason="x")
    mine = list(Notification.objects.filter(user=cast.op_a))
    assert len(mine) == 2
    assert services.mark_read(user=cast.op_a, ids=[mine[0].pk]) == 1
    assert services.mark_read(user=cast.op_b, ids=[mine[1].pk]) == 0  # not theirs
    assert services.mark_read(user=cast.op_a) == 1
    assert not Notification.objects.filter(user=cast.op_a, read_at__isnull=True).exists()
