"""Malformed input, backpressure, timeouts and limits."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import SimpleNamespace

import pytest

from fleet.gateway.config import GatewayConfig
from fleet.gateway.control import ControlChannel
from fleet.gateway.records import Fix
from fleet.gateway.stats import GatewayStats, snapshot_loop
from fleet.jt808 import Header, Heartbeat, checksum, encode_message, escape, unescape
from tests.gateway.harness import TerminalClient, sample_location


def fixes(records: list) -> list[Fix]:
    return [r for r in records if isinstance(r, Fix)]


def corrupt_check(frame: bytes) -> bytes:
    """Flip the check code (the byte before the closing 0x7E; escape-safe values only)."""
    check = frame[-2]
    return frame[:-2] + bytes((check ^ 0x01 if check ^ 0x01 not in (0x7D, 0x7E) else check ^ 3,)) \
        + frame[-1:]


def _readable(client: TerminalClient) -> bool:
    try:
        client.inbox.append(client.recv(0.3))
    except TimeoutError:
        return False
    return True


def test_garbage_and_malformed_frames_counted_while_others_served(gateway, connect, registry):
    other_vehicle_terminal = connect()  # the well-behaved terminal
    assert other_vehicle_terminal.register("辽L12345").result == 0
    other_vehicle_terminal.authenticate()

    noisy = connect("013811112222")  # unknown, unauthenticated: still must not hurt anyone
    noisy.send_raw(b"GET / HTTP/1.1\r\n\r\n")  # garbage before any delimiter
    noisy.send_raw(b"\x7e\x00\x01\x02\x7e")  # too short to be a frame
    bad_check = corrupt_check(encode_message(Header(0x0002, "013811112222", 7), Heartbeat()))
    noisy.send_raw(bad_check)  # header readable: answered with result 2
    noisy.send_raw(b"\x7e\x7d\x05\x00\x7e")  # bad escape
    # a declared body length that disagrees with the bytes present
    payload = bytearray(unescape(encode_message(Header(0x0200, "013811112222", 8),
                                                b"\x00" * 30)[1:-1])[:-1])
    payload[3] ^= 0x01  # attributes' length bits, check code recomputed below
    noisy.send_raw(b"\x7e" + escape(bytes(payload) + bytes((checksum(payload),))) + b"\x7e")
    noisy.send_raw(bytes(range(256)) * 2 + b"\x7e")  # binary noise with 0x7E inside

    # frames whose header could be read are answered 'bad message' (the noise may hold some)
    answers = [noisy.expect(0x8001).body for _ in range(2)]
    assert [(a.reply_serial, a.reply_id, a.result) for a in answers] == [
        (7, 0x0002, 2),
        (8, 0x0200, 2),
    ]
    while noisy.inbox or _readable(noisy):
        assert noisy.recv(0.3).body.result == 2

    # the other terminal is served throughout, and so is the noisy connection afterwards
    other_vehicle_terminal.expect_ack(other_vehicle_terminal.location(), 0)
    assert noisy.register("辽L12345").result == 4
    errors = gateway.run(lambda: dict(gateway.stats.errors))
    for kind in ("garbage", "truncated", "bad_checksum", "bad_escape", "bad_length"):
        assert errors.get(kind, 0) >= 1, (kind, errors)
    assert errors.get("internal", 0) == 0
    assert len(fixes(gateway.sink.records())) == 1


def test_endless_errors_close_only_that_connection(registry, start_gateway):
    gateway = start_gateway(max_consecutive_errors=5)
    good = TerminalClient(gateway.port, registry.phone)
    bad = TerminalClient(gateway.port, "013811112222")
    try:
        good.register("辽L12345")
        good.authenticate()
        for _ in range(6):
            bad.send_raw(b"\x7e\x00\x01\x02\x7e")
        assert bad.closed_by_gateway()
        good.expect_ack(good.heartbeat(), 0)
        assert gateway.stats.errors["too_many_errors"] == 1
    finally:
        good.close()
        bad.close()


def test_backpressure_holds_ack_until_sink_accepts(gateway, terminal):
    gateway.sink.set_available(False)
    request = terminal.location(minute=9)
    terminal.nothing(0.4)  # no ack while the pipeline refuses
    assert fixes(gateway.sink.records()) == []
    assert gateway.run(lambda: gateway.stats.backpressure_waits) > 0

    gateway.sink.set_available(True)
    terminal.expect_ack(request, 0)
    got = fixes(gateway.sink.wait_for(lambda rs: len(fixes(rs)) >= 1))
    time.sleep(0.2)  # would a retry publish it twice?
    got = fixes(gateway.sink.records())
    assert [(f.serial, f.time.minute) for f in got] == [(request.serial, 9)]


def test_backpressure_stops_reading_the_socket(gateway, terminal):
    gateway.sink.set_available(False)
    first = terminal.location(minute=1)
    second = terminal.location(minute=2)  # sits unread in the socket meanwhile
    terminal.nothing(0.3)
    gateway.sink.set_available(True)
    terminal.expect_ack(first, 0)
    terminal.expect_ack(second, 0)
    got = fixes(gateway.sink.wait_for(lambda rs: len(fixes(rs)) == 2))
    assert [f.time.minute for f in got] == [1, 2]


def test_idle_timeout_closes_connection(registry, start_gateway):
    gateway = start_gateway(idle_timeout_s=0.4)
    client = TerminalClient(gateway.port, registry.phone)
    try:
        client.register("辽L12345")
        client.authenticate()
        started = time.monotonic()
        assert client.closed_by_gateway(timeout=3)
        assert 0.3 < time.monotonic() - started < 2.5
        assert gateway.stats.errors["idle_timeout"] == 1
        assert gateway.run(lambda: gateway.stats.connections_current) == 0
    finally:
        client.close()


def test_unauthenticated_connection_times_out(registry, start_gateway):
    gateway = start_gateway(auth_timeout_s=0.3)
    client = TerminalClient(gateway.port, registry.phone)
    try:
        client.heartbeat()
        client.expect(0x8001)
        assert client.closed_by_gateway(timeout=3)
        assert gateway.stats.errors["auth_timeout"] == 1
    finally:
        client.close()


def test_frame_rate_limit_pauses_reading_without_losing_frames(registry, start_gateway):
    gateway = start_gateway(max_frames_per_s=20)
    client = TerminalClient(gateway.port, registry.phone)
    try:
        client.register("辽L12345")
        client.authenticate()
        # 40 frames in one chunk are handled (a chunk is bounded by the read size), then the
        # connection owes ~1 s of budget: the next frame is not even read before that.
        client.send_raw(b"".join(
            encode_message(client.header(0x0200), sample_location(minute=m)) for m in range(40)
        ))
        for _ in range(40):
            client.expect(0x8001)
        started = time.monotonic()
        client.expect_ack(client.location(), 0, timeout=5)
        assert time.monotonic() - started > 0.7
        assert len(fixes(gateway.sink.records())) == 41
        assert gateway.stats.errors["rate_limited"] >= 1
    finally:
        client.close()


def test_connection_limit(registry, start_gateway):
    gateway = start_gateway(max_connections=1)
    first = TerminalClient(gateway.port, registry.phone)
    second = TerminalClient(gateway.port, registry.phone)
    try:
        first.expect_ack(first.heartbeat(), 1)
        assert second.closed_by_gateway()
        assert gateway.stats.connections_refused == 1
    finally:
        first.close()
        second.close()


def test_graceful_shutdown_closes_connections(registry, start_gateway):
    gateway = start_gateway()
    client = TerminalClient(gateway.port, registry.phone)
    try:
        client.register("辽L12345")
        client.authenticate()
        gateway.call(gateway.server.shutdown())
        assert client.closed_by_gateway()
    finally:
        client.close()


def test_unexpected_error_costs_one_frame_not_the_connection(gateway, terminal, monkeypatch):
    from fleet.gateway import session as session_module

    real = session_module.make_fix
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("bug met by an odd frame")
        return real(*args, **kwargs)

    monkeypatch.setattr(session_module, "make_fix", flaky)
    terminal.expect_ack(terminal.location(minute=1), 1)
    terminal.expect_ack(terminal.location(minute=2), 0)
    assert [f.time.minute for f in fixes(gateway.sink.records())] == [2]
    assert gateway.stats.errors["internal"] == 1


class SwallowingRedis:
    """A Redis client whose commands swallow a cancellation that lands inside them and answer
    as if nothing happened, as redis-py's asyncio client was seen to do (a gateway then never
    finished its shutdown)."""

    def __init__(self) -> None:
        self.inside = asyncio.Event()
        self.swallow = True

    async def _answer(self, result: object) -> object:
        self.inside.set()
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            if not self.swallow:
                raise
        return result

    async def xread(self, *args: object, **kwargs: object) -> object:
        return await self._answer([])

    async def set(self, *args: object, **kwargs: object) -> object:
        return await self._answer(True)


@pytest.mark.parametrize("loop", ["control", "snapshot"])
def test_background_loops_stop_when_redis_swallows_their_cancellation(loop):
    async def scenario() -> bool:
        redis = SwallowingRedis()
        if loop == "control":
            channel = ControlChannel(SimpleNamespace(config=GatewayConfig(),
                                                     stats=GatewayStats()), redis)
            channel._last = "0-0"  # as prepare() leaves it
            task = asyncio.create_task(channel.run())
        else:
            task = asyncio.create_task(snapshot_loop(GatewayStats(), redis, "k", 0.01))
        await redis.inside.wait()
        task.cancel()  # lands inside the command
        done, _ = await asyncio.wait([task], timeout=2)
        redis.swallow = False  # a loop that missed its cancellation must still end the test
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return task in done

    assert asyncio.run(scenario())
