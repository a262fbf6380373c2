"""The live alert feed through the real Redis channel layer: scoping, refusals, payloads."""

from __future__ import annotations

import asyncio
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from accounts.models import User
from compliance import live
from compliance.models import Violation
from compliance.runtime.detector import Detector
from compliance.services import screening
from config.asgi import application
from tests import factories
from tests.conftest import PASSWORD
from tests.telemetry.fixtures import fix

pytestmark = pytest.mark.django_db(transaction=True)
HEADERS = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


@pytest.fixture(autouse=True)
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
    communicator = WebsocketCommunicator(application, "/ws/alerts/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def received_ids(communicator: WebsocketCommunicator) -> list[int]:
    ids = []
    while not await communicator.receive_nothing(timeout=0.5):
        message = await communicator.receive_json_from()
        assert message["type"] == "violation"
        ids.append(message["violation"]["id"])
    return ids


def test_each_user_receives_only_alerts_of_their_scope(world, bureau_user, district_a_user,
                                                      district_b_user, enterprise_a_user):
    run_async(_scoped_alerts, world, bureau_user, district_a_user, district_b_user,
              enterprise_a_user)


async def _scoped_alerts(world, bureau_user, district_a_user, district_b_user, enterprise_a_user):
    sockets = {name: await connect(user) for name, user in (
        ("city", bureau_user), ("a", district_a_user), ("b", district_b_user),
        ("enterprise_a", enterprise_a_user))}
    in_a = await sync_to_async(factories.make_violation)(world.vehicle_a)
    # Vehicle B (district B's enterprise) caught in district A: district A owns it.
    b_in_a = await sync_to_async(factories.make_violation)(world.vehicle_b,
                                                           district=world.district_a)
    await sync_to_async(live.publish_new_violations)([in_a.pk, b_in_a.pk])

    assert sorted(await received_ids(sockets["city"])) == sorted([in_a.pk, b_in_a.pk])
    assert sorted(await received_ids(sockets["a"])) == sorted([in_a.pk, b_in_a.pk])
    assert await received_ids(sockets["b"]) == []
    assert await received_ids(sockets["enterprise_a"]) == [in_a.pk]
    for socket in sockets.values():
        await socket.disconnect()


def test_payload(world, bureau_user):
    run_async(_payload, world, bureau_user)


async def _payload(world, bureau_user):
    socket = await connect(bureau_user)
    violation = await sync_to_async(factories.make_violation)(world.vehicle_a, rule="dsm_phone")
    await sync_to_async(live.publish_new_violations)([violation.pk])
    message = await socket.receive_json_from(timeout=3)
    alert = message["violation"]
    assert alert == {
        "id": violation.pk, "rule": "dsm_phone", "rule_label": "接打手机", "severity": "medium",
        "plate": "辽L10001", "vehicle_kind": "taxi",
        "district": {"id": world.district_a.pk, "name": "双台子区"},
        "enterprise": "双台子出租汽车公司", "enterprise_id": world.enterprise_a.pk,
        "started_at": violation.started_at.isoformat(), "lon": 122.05, "lat": 41.12,
        "review_status": "pending",
        "url": reverse("compliance:violation_detail", args=[violation.pk]),
        "detected_at": violation.detected_at.isoformat()}
    await socket.disconnect()


def test_data_quality_records_are_not_alerts(world, bureau_user):
    run_async(_no_drift, world, bureau_user)


async def _no_drift(world, bureau_user):
    socket = await connect(bureau_user)
    drift = await sync_to_async(factories.make_violation)(world.vehicle_a, rule="gps_drift")
    await sync_to_async(live.publish_new_violations)([drift.pk])
    assert await received_ids(socket) == []
    await socket.disconnect()


def test_screening_updates_open_feeds_after_commit(world, bureau_user, district_b_user):
    run_async(_screened, world, bureau_user, district_b_user)


async def _screened(world, bureau_user, district_b_user):
    city, b = await connect(bureau_user), await connect(district_b_user)
    violation = await sync_to_async(factories.make_violation)(world.vehicle_a)
    await sync_to_async(screening.dismiss_violation)(violation=violation, actor=bureau_user,
                                                     reason="误报")
    message = await city.receive_json_from(timeout=3)
    assert message == {"type": "reviewed",
                       "violation": {"id": violation.pk, "review_status": "dismissed"}}
    assert await b.receive_nothing(timeout=0.5)
    await city.disconnect()
    await b.disconnect()


def test_refusals(world):
    run_async(_refusals)


async def _refusals():
    anonymous = WebsocketCommunicator(application, "/ws/alerts/", headers=HEADERS)
    connected, code = await anonymous.connect()
    assert (connected, code) == (False, 4401)
    desk = await sync_to_async(User.objects.create_user)(
        "desk2", password=PASSWORD, level="bureau", role="desk_operator")
    headers = await sync_to_async(session_for)(desk)
    refused = WebsocketCommunicator(application, "/ws/alerts/", headers=headers)
    connected, code = await refused.connect()
    assert (connected, code) == (False, 4403)


def test_publishing_never_raises(world, monkeypatch, caplog):
    violation = factories.make_violation(world.vehicle_a)

    class BrokenLayer:
        async def group_send(self, group, message):  # type: ignore[no-untyped-def]
            raise ConnectionError("redis is down")

    monkeypatch.setattr(live, "get_channel_layer", BrokenLayer)
    # The sends go through the process's one channel-layer loop (fleet.live.sender), which logs
    # each failed group and never raises into the pipeline.
    with caplog.at_level(logging.WARNING, logger="fleet.live.sender"):
        live.publish_new_violations([violation.pk])
        live.publish_review_changes([violation.pk])
    assert "send to alerts failed: redis is down" in caplog.text

    def no_database(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database gone")

    monkeypatch.setattr(live, "alert_rows", no_database)
    live.publish_new_violations([violation.pk])
    assert "publishing 1 new violation(s) failed" in caplog.text


def test_scope_decides_what_a_socket_passes_on(world, bureau_user, district_a_user,
                                               enterprise_a_user):
    a, b = world.district_a.pk, world.district_b.pk
    ea, eb = world.enterprise_a.pk, world.enterprise_b.pk
    assert live.in_scope(bureau_user.scope, b, eb)
    assert live.in_scope(district_a_user.scope, a, eb)  # owned by district A, whoever's vehicle
    assert not live.in_scope(district_a_user.scope, b, ea)  # A's enterprise caught in B
    assert live.in_scope(enterprise_a_user.scope, b, ea)  # its own vehicle, wherever
    assert not live.in_scope(enterprise_a_user.scope, a, eb)


def test_one_query_and_one_send_per_publish(world, monkeypatch, django_assert_num_queries):
    violations = [factories.make_violation(world.vehicle_a),
                  factories.make_violation(world.vehicle_b, district=world.district_a)]
    sent: list[tuple[str, dict]] = []

    class RecordingLayer:
        async def group_send(self, group, message):  # type: ignore[no-untyped-def]
            sent.append((group, message))

    monkeypatch.setattr(live, "get_channel_layer", RecordingLayer)
    with django_assert_num_queries(1):
        live.publish_new_violations([v.pk for v in violations])
    assert [(group, message["type"]) for group, message in sent] == [
        ("alerts", "alerts.violations")]
    assert [v["id"] for v in sent[0][1]["violations"]] == [v.pk for v in violations]
    sent.clear()
    live.publish_new_violations([])
    assert sent == []


def test_the_pipeline_alerts_from_what_it_wrote(world, bureau_user, district_b_user,
                                                monkeypatch):
    """The rule stage builds its alerts from the rows it wrote, without reading them back: the
    same payload as the read-back path, to the same scopes."""
    run_async(_pipeline_alerts, world, bureau_user, district_b_user, monkeypatch)


def _judge_speeding(vehicle_id: int) -> None:
    detector = Detector(send_warnings=False)
    # 75 km/h for a minute off any road: a hazmat overspeed (cap 60), in district A.
    fixes = [fix(vehicle_id, s, lon=122.05 + s * 0.00002, lat=41.15, speed=75.0)
             for s in range(0, 70, 10)]
    with transaction.atomic():
        connection.ensure_connection()
        detector.process(connection.connection, fixes)
        detector.flush(connection.connection)  # as the worker does when idle


def _read_back_payload(vehicle_id: int) -> dict:
    rows = live.alert_rows(Violation.objects.filter(vehicle_id=vehicle_id))
    [payload] = [live.alert_payload(row) for row in rows]
    return payload


async def _pipeline_alerts(world, bureau_user, district_b_user, monkeypatch):
    city, b = await connect(bureau_user), await connect(district_b_user)
    hazmat = await sync_to_async(factories.make_vehicle)(world.enterprise_a, kind="hazmat")
    read_back = live.alert_rows

    def no_reading(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the pipeline read its violations back")

    monkeypatch.setattr(live, "alert_rows", no_reading)
    await sync_to_async(_judge_speeding)(hazmat.pk)
    message = await city.receive_json_from(timeout=3)
    monkeypatch.setattr(live, "alert_rows", read_back)
    expected = await sync_to_async(_read_back_payload)(hazmat.pk)
    assert message == {"type": "violation", "violation": expected}
    assert expected["rule"] == "overspeed" and expected["plate"] == hazmat.plate
    assert await b.receive_nothing(timeout=0.5)
    await city.disconnect()
    await b.disconnect()
