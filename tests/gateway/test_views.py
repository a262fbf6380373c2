"""The bureau-only gateway page and the TTS form (URLs as proposed for fleet/urls.py)."""

from __future__ import annotations

import json

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from tests.gateway.harness import TerminalClient

pytestmark = pytest.mark.urls("tests.gateway.urls")

PAGE = "/fleet/gateway/"
SEND = "/fleet/gateway/send-text/"


@pytest.fixture
def prefixed(redis_prefix):
    with override_settings(GATEWAY_REDIS_PREFIX=redis_prefix):
        yield redis_prefix


def test_page_is_bureau_only(world, bureau_user, district_a_user, enterprise_a_user, client_for,
                             prefixed):
    assert client_for(district_a_user).get(PAGE).status_code == 404
    assert client_for(enterprise_a_user).get(PAGE).status_code == 404
    assert client_for(district_a_user).post(SEND, {"plate": "辽L10001"}).status_code == 404
    response = client_for(bureau_user).get(PAGE)
    assert response.status_code == 200
    assert "没有运行中的网关进程" in response.content.decode()


def test_page_shows_snapshots(bureau_user, client_for, prefixed):
    client = redis.Redis.from_url(settings.REDIS_URL)
    snap = {"host": "gw1", "pid": 42, "connections": 1234, "authenticated": 1200,
            "frames": {"0x0200": 5000}, "frames_per_s": {"0x0200": 321.5},
            "errors": {"bad_checksum": 7}, "backpressure_waits": 0}
    client.set(f"{prefixed}stats:gw1:42", json.dumps(snap), ex=30)
    client.close()
    html = client_for(bureau_user).get(PAGE).content.decode()
    for text in ("1234", "321.5", "bad_checksum", "gw1:42", "0x0200"):
        assert text in html


def test_send_text_to_offline_terminal_reports_offline(world, bureau_user, client_for,
                                                        prefixed):
    from tests import factories

    factories.make_terminal(world.vehicle_a)
    client = client_for(bureau_user)
    response = client.post(SEND, {"plate": "辽L10001", "text": "请注意安全"})
    assert response.status_code == 302 and "?request=" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert "终端不在线" in page


def test_send_text_unknown_plate(bureau_user, client_for, prefixed):
    client = client_for(bureau_user)
    response = client.post(SEND, {"plate": "辽L77777", "text": "x"}, follow=True)
    assert "该车辆没有在用的车载终端" in response.content.decode()


def test_send_text_through_live_gateway(registry, start_gateway, bureau_user, client_for,
                                        prefixed):
    import threading

    gateway = start_gateway(redis_url=settings.REDIS_URL, redis_prefix=prefixed,
                            stats_interval_s=0.2)
    terminal = TerminalClient(gateway.port, registry.phone)
    terminal.register("辽L12345")
    terminal.authenticate()

    def answer() -> None:
        command = terminal.expect(0x8300, timeout=5)
        from fleet.jt808 import TerminalResponse

        terminal.send(0x0001, TerminalResponse(command.header.serial, 0x8300, 0))

    responder = threading.Thread(target=answer)
    responder.start()
    try:
        client = client_for(bureau_user)
        response = client.post(SEND, {"plate": "辽L12345", "text": "前方限速60"})
        responder.join(5)
        page = client.get(response["Location"]).content.decode()
        assert "终端已应答" in page and "成功/确认" in page
    finally:
        terminal.close()
