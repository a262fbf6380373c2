"""The bell: ``ws/notify/`` through the real Redis channel layer delivers a user's own
notifications (never another's) with the unread count; the notifications page and the header
count; marking read."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from compliance.models import Notification
from compliance.services.checkposts import send_checkpost
from compliance.services.instructions import issue_instruction
from config.asgi import application
from tests.compliance.case_support import fast_passwords  # noqa: F401 (fixture)

HEADERS = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


@pytest.fixture
def own_channel_layer(settings):  # type: ignore[no-untyped-def]
    """A key prefix of this test's own, so parallel test runs never see each other's groups."""
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [django_settings.REDIS_URL], "prefix": f"t{uuid.uuid4().hex[:10]}"}}}


def run_async(function, *args):  # type: ignore[no-untyped-def]
    """A coroutine on its own loop in a fresh thread (browser tests leave a loop on this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, function(*args)).result(timeout=30)


def session_for(user: User) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()), *HEADERS]


async def connect(user: User) -> WebsocketCommunicator:
    headers = await sync_to_async(session_for)(user)
    communicator = WebsocketCommunicator(application, "/ws/notify/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest.mark.django_db(transaction=True)
def test_each_user_hears_only_their_own(own_channel_layer, world, bureau_user, district_a_user,
                                        district_b_user, enterprise_a_user):
    run_async(_own_only, world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


async def _own_only(world, bureau_user, district_a_user, district_b_user, enterprise_a_user):
    a, b, enterprise = (await connect(district_a_user), await connect(district_b_user),
                        await connect(enterprise_a_user))
    checkpost = await sync_to_async(send_checkpost)(
        district=world.district_a, question="请回复在岗情况", answer_within_minutes=10,
        actor=bureau_user)
    message = await a.receive_json_from(timeout=5)
    row = await sync_to_async(Notification.objects.get)(user=district_a_user)
    assert message == {"type": "notification", "unread": 1, "notification": {
        "id": row.pk, "kind": "checkpost_sent",
        "title": "查岗：请回复在岗情况（请在 10 分钟内应答）",
        "url": f"/compliance/checkposts/desk/#checkpost-{checkpost.pk}", "case": None,
        "created_at": message["notification"]["created_at"]}}
    assert await b.receive_nothing(timeout=0.5)
    assert await enterprise.receive_nothing(timeout=0.1)

    # The enterprise's own check-post reaches the enterprise, and only it.
    await sync_to_async(send_checkpost)(enterprise=world.enterprise_a, question="监控室查岗",
                                        actor=bureau_user)
    message = await enterprise.receive_json_from(timeout=5)
    assert message["notification"]["kind"] == "checkpost_sent" and message["unread"] == 1
    assert await a.receive_nothing(timeout=0.5)
    assert await b.receive_nothing(timeout=0.1)
    for socket in (a, b, enterprise):
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
def test_unread_count_follows_marking_read(own_channel_layer, world, bureau_user,
                                           district_a_user):
    run_async(_unread, world, bureau_user, district_a_user)


async def _unread(world, bureau_user, district_a_user):
    socket = await connect(district_a_user)
    issue = sync_to_async(issue_instruction)
    deadline = timezone.now()
    await issue(title="第一条", body="b", districts=[world.district_a],
                acknowledge_by=deadline + dt.timedelta(hours=1), actor=bureau_user)
    first = await socket.receive_json_from(timeout=5)
    assert first["unread"] == 1 and first["notification"]["kind"] == "instruction_issued"
    await sync_to_async(Notification.objects.filter(user=district_a_user).update)(
        read_at=deadline)
    await issue(title="第二条", body="b", districts=[world.district_a],
                acknowledge_by=deadline + dt.timedelta(hours=1), actor=bureau_user)
    second = await socket.receive_json_from(timeout=5)
    assert second["unread"] == 1 and second["notification"]["title"] == "新指令待签收：第二条"
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
def test_anonymous_is_refused(own_channel_layer):
    run_async(_anonymous)


async def _anonymous():
    anonymous = WebsocketCommunicator(application, "/ws/notify/", headers=HEADERS)
    connected, code = await anonymous.connect()
    assert (connected, code) == (False, 4401)


def _notes(user: User, n: int, kind: str = "checkpost_sent") -> list[Notification]:
    return Notification.objects.bulk_create([
        Notification(user=user, kind=kind, title=f"通知{i}", url="/compliance/checkposts/desk/")
        for i in range(n)])


def test_header_bell_shows_the_unread_count(world, district_a_user, district_b_user, client_for):
    _notes(district_a_user, 3)
    _notes(district_b_user, 1)
    html = client_for(district_a_user).get(reverse("compliance:notifications")).content.decode()
    assert 'data-unread="3"' in html and 'data-testid="bell-count">3<' in html
    Notification.objects.filter(user=district_a_user).update(read_at="2026-01-01T00:00+08:00")
    html = client_for(district_a_user).get(reverse("compliance:notifications")).content.decode()
    assert 'data-testid="bell-count" hidden>0<' in html


def test_page_lists_own_and_marks_read(world, district_a_user, district_b_user, client_for):
    mine = _notes(district_a_user, 2)
    theirs = _notes(district_b_user, 1)
    client = client_for(district_a_user)
    html = client.get(reverse("compliance:notifications")).content.decode()
    assert f'data-notification="{mine[0].pk}"' in html
    assert f'data-notification="{theirs[0].pk}"' not in html
    client.post(reverse("compliance:notifications_read"), {"id": [theirs[0].pk]})
    assert Notification.objects.get(pk=theirs[0].pk).read_at is None  # not theirs to mark
    client.post(reverse("compliance:notifications_read"), {"id": [mine[0].pk]})
    assert Notification.objects.filter(user=district_a_user, read_at__isnull=True).count() == 1
    unread = client.get(reverse("compliance:notifications"), {"unread": "1"}).content.decode()
    assert f'data-notification="{mine[0].pk}"' not in unread
    client.post(reverse("compliance:notifications_read"), {"all": "1"})
    assert not Notification.objects.filter(user=district_a_user, read_at__isnull=True).exists()


def test_opening_marks_read_and_follows_the_link(world, district_a_user, district_b_user,
                                                 client_for):
    [mine] = _notes(district_a_user, 1)
    [theirs] = _notes(district_b_user, 1)
    client = client_for(district_a_user)
    response = client.get(reverse("compliance:notification_open", args=[mine.pk]))
    assert response.status_code == 302 and response["Location"] == "/compliance/checkposts/desk/"
    assert Notification.objects.get(pk=mine.pk).read_at is not None
    assert client.get(reverse("compliance:notification_open",
                              args=[theirs.pk])).status_code == 404
    Notification.objects.filter(pk=mine.pk).update(url="https://example.com/")
    response = client.get(reverse("compliance:notification_open", args=[mine.pk]))
    assert response["Location"] == reverse("compliance:notifications")  # no open redirect


def test_page_queries_do_not_grow(world, district_a_user, client_for,
                                  django_assert_max_num_queries):
    client = client_for(district_a_user)
    _notes(district_a_user, 2)
    client.get(reverse("compliance:notifications"))
    _notes(district_a_user, 40)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("compliance:notifications")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_case_notifications_reach_the_bell_too(own_channel_layer, world, bureau_user,
                                               district_a_user, district_b_user):
    run_async(_case_pushed, world, bureau_user, district_a_user, district_b_user)


async def _case_pushed(world, bureau_user, district_a_user, district_b_user):
    from compliance.services import cases as case_services

    a, b = await connect(district_a_user), await connect(district_b_user)

    def dispatch() -> object:
        case = case_services.open_case(source="manual", title="现场检查：拒载",
                                       vehicle=world.vehicle_a, district=world.district_a,
                                       actor=bureau_user)
        case_services.dispatch_case(case=case, districts=[world.district_a], actor=bureau_user)
        return case

    case = await sync_to_async(dispatch)()
    message = await a.receive_json_from(timeout=5)
    assert message["notification"]["kind"] == "case_dispatched"
    assert message["notification"]["case"] == {"id": case.pk, "number": case.number}
    assert await b.receive_nothing(timeout=0.5)
    await a.disconnect()
    await b.disconnect()


def test_each_row_names_what_it_is_about(world, district_a_user, client_for):
    for kind in ("checkpost_sent", "instruction_issued", "bulletin_published", "case_dispatched"):
        _notes(district_a_user, 1, kind)
    html = client_for(district_a_user).get(reverse("compliance:notifications")).content.decode()
    for family, label in (("checkpost", "查岗"), ("instruction", "指令"), ("bulletin", "通报"),
                          ("case", "案件")):
        assert f'<span class="tag family-{family}">{label}</span>' in html
