"""Commands to terminals (directly and through the Redis control channel), /metrics, snapshot."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import pytest
import redis
from django.conf import settings

from fleet.gateway.control import downlink_status, submit_downlink, wait_downlink
from fleet.gateway.downlink import DownlinkTimeout, TerminalOffline, build_downlink
from fleet.gateway.stats import load_snapshots
from fleet.jt808 import (
    LocationQueryResponse,
    PolygonArea,
    SetCircleAreas,
    TerminalResponse,
    TextMessage,
)
from tests.gateway.harness import TerminalClient, sample_location


@pytest.fixture
def rclient():
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def controlled(registry, start_gateway, redis_prefix):
    """A gateway with the Redis control channel and snapshots, and an authenticated terminal."""
    gateway = start_gateway(redis_url=settings.REDIS_URL, redis_prefix=redis_prefix,
                            stats_interval_s=0.2)
    client = TerminalClient(gateway.port, registry.phone)
    assert client.register("辽L12345").result == 0
    client.authenticate()
    yield gateway, client
    client.close()


def test_tts_text_round_trip_through_control_channel(controlled, registry, redis_prefix,
                                                      rclient):
    gateway, client = controlled
    request_id = submit_downlink(sim=registry.phone, kind="text", data={"text": "请勿疲劳驾驶"},
                                 timeout=5, client=rclient, prefix=redis_prefix)
    command = client.expect(0x8300, timeout=5)
    assert command.body == TextMessage(0x0C, "请勿疲劳驾驶")  # TTS + display
    header = client.send(0x0001, TerminalResponse(command.header.serial, 0x8300, 0))
    status = wait_downlink(request_id, timeout=5, client=rclient, prefix=redis_prefix)
    assert (status.status, status.result, status.reply_id, status.ok) == (
        "answered", 0, "0x0001", True)
    assert status.gateway == gateway.server.gateway_id
    client.nothing(0.2)  # a terminal's response is never acknowledged
    assert header.msg_id == 0x0001


def test_polygon_area_through_control_channel_and_failure_result(controlled, registry,
                                                                  redis_prefix, rclient):
    _, client = controlled
    data = {"area_id": 9, "points": [[41.1, 122.0], [41.2, 122.0], [41.2, 122.1]],
            "max_speed": 40, "name": "化工园区"}
    request_id = submit_downlink(sim=registry.phone, kind="polygon_area", data=data,
                                 timeout=5, client=rclient, prefix=redis_prefix)
    command = client.expect(0x8604, timeout=5)
    assert isinstance(command.body, PolygonArea)
    assert command.body.points[1] == (41.2, 122.0) and command.body.max_speed == 40
    client.send(0x0001, TerminalResponse(command.header.serial, 0x8604, 1))
    status = wait_downlink(request_id, timeout=5, client=rclient, prefix=redis_prefix)
    assert (status.status, status.result, status.ok) == ("answered", 1, False)


def test_command_to_offline_terminal(controlled, redis_prefix, rclient):
    request_id = submit_downlink(sim="013899999999", kind="text", data={"text": "测试"},
                                 timeout=5, client=rclient, prefix=redis_prefix)
    deadline = time.monotonic() + 3
    while (status := downlink_status(request_id, client=rclient,
                                     prefix=redis_prefix)).status != "offline":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def test_direct_downlink_areas_query_and_timeout(gateway, terminal, registry):
    sim = registry.phone
    _, body = build_downlink("circle_areas", {"areas": [
        {"area_id": 1, "latitude": 41.12, "longitude": 122.07, "radius": 500}]})
    pending = asyncio.run_coroutine_threadsafe(
        gateway.server.send_downlink(sim, body, timeout=3), gateway.loop)
    command = terminal.expect(0x8600)
    assert isinstance(command.body, SetCircleAreas)
    assert command.body.areas[0].radius == 500
    terminal.send(0x0001, TerminalResponse(command.header.serial, 0x8600, 0))
    assert pending.result(5).result == 0

    # location query: answered by 0x0201, which is also a fix
    _, query = build_downlink("location_query", {})
    pending = asyncio.run_coroutine_threadsafe(
        gateway.server.send_downlink(sim, query, timeout=3), gateway.loop)
    command = terminal.expect(0x8201)
    terminal.send(0x0201, LocationQueryResponse(command.header.serial, sample_location(minute=7)))
    response = pending.result(5)
    assert response.reply_id == 0x0201 and isinstance(response.body, LocationQueryResponse)
    fixes = gateway.sink.wait_for(lambda rs: any(getattr(r, "source", 0) == 0x0201 for r in rs))
    assert any(getattr(r, "time", None) and r.time.minute == 7 for r in fixes)

    with pytest.raises(DownlinkTimeout):
        gateway.call(gateway.server.send_downlink(sim, TextMessage(0x08, "无人应答"),
                                                  timeout=0.2))
    terminal.expect(0x8300)
    with pytest.raises(TerminalOffline):
        gateway.call(gateway.server.send_downlink("013800000000", TextMessage(0x08, "x")))


def test_bad_command_rejected_before_queueing(redis_prefix, rclient):
    with pytest.raises(ValueError):
        submit_downlink(sim="1", kind="text", data={"text": ""}, client=rclient,
                        prefix=redis_prefix)
    with pytest.raises(ValueError):
        build_downlink("polygon_area", {"area_id": 1, "points": [[1, 2]]})
    with pytest.raises(ValueError):
        build_downlink("text", {"text": "表情🚗"})  # not GBK


def test_metrics_endpoint_and_redis_snapshot(controlled, redis_prefix, rclient):
    gateway, client = controlled
    client.expect_ack(client.location(), 0)
    client.send_raw(b"\x7e\x00\x01\x02\x7e")
    client.expect_ack(client.heartbeat(), 0)
    url = f"http://127.0.0.1:{gateway.server.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    for line in (
        "jt808_gateway_connections 1",
        "jt808_gateway_connections_total 1",
        'jt808_gateway_frames_total{msg_id="0x0200"} 1',
        'jt808_gateway_frames_total{msg_id="0x0002"} 1',
        'jt808_gateway_errors_total{kind="truncated"} 1',
        'jt808_gateway_records_published_total{type="Fix"} 1',
        "# TYPE jt808_gateway_backpressure_waits_total counter",
    ):
        assert line in text.splitlines(), line
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url.replace("/metrics", "/other"), timeout=5)

    deadline = time.monotonic() + 3
    while True:
        snapshots = load_snapshots(rclient, redis_prefix)
        if snapshots and snapshots[0]["frames"].get("0x0200") == 1:
            break
        assert time.monotonic() < deadline, snapshots
        time.sleep(0.05)
    snap = snapshots[0]
    assert snap["connections"] == 1 and snap["errors"]["truncated"] == 1
    assert "0x0200" in snap["frames_per_s"]
    assert rclient.ttl(f"{redis_prefix}stats:{gateway.server.gateway_id}") > 0
    json.dumps(snap)


def test_split_command_answered_after_every_packet(gateway, terminal, registry):
    points = [[41.0 + i / 1000, 122.0 + (i % 2) / 100] for i in range(200)]
    _, body = build_downlink("polygon_area", {"area_id": 3, "points": points})
    pending = asyncio.run_coroutine_threadsafe(
        gateway.server.send_downlink(registry.phone, body, timeout=3), gateway.loop)
    packets = [terminal.expect(0x8604), terminal.expect(0x8604)]
    assert [p.header.packet_index for p in packets] == [1, 2]
    terminal.send(0x0001, TerminalResponse(packets[0].header.serial, 0x8604, 0))
    time.sleep(0.1)
    assert not pending.done()  # the second packet is not acknowledged yet
    terminal.send(0x0001, TerminalResponse(packets[1].header.serial, 0x8604, 0))
    assert pending.result(5).result == 0


def test_pending_command_fails_when_terminal_disconnects(gateway, terminal, registry):
    pending = asyncio.run_coroutine_threadsafe(
        gateway.server.send_downlink(registry.phone, TextMessage(0x08, "再见"), timeout=5),
        gateway.loop)
    terminal.expect(0x8300)
    terminal.close()
    with pytest.raises(TerminalOffline):
        pending.result(5)
