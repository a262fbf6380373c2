"""Gateway test harness: the real server on 127.0.0.1 (ephemeral port) in a background thread
with its own event loop, and terminals that are plain blocking sockets speaking through the
codec's encoder.

Tests use `transactional_db`: the gateway reads the registry from its own DB thread, which
cannot see a test transaction.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import pytest
from django.conf import settings

from fleet.gateway.config import GatewayConfig
from fleet.gateway.server import GatewayServer
from fleet.gateway.sink import InProcessSink
from fleet.jt808 import (
    CST,
    Auth,
    Header,
    Heartbeat,
    Jt808Error,
    Location,
    Message,
    MessageReader,
    PlatformResponse,
    Register,
    RegisterResponse,
    encode_message,
)
from fleet.models import Terminal, Vehicle
from tests import factories

T = TypeVar("T")

TEST_CONFIG = GatewayConfig(
    host="127.0.0.1",
    port=0,
    metrics_host="127.0.0.1",
    metrics_port=0,
    redis_url=None,
    directory_refresh_s=0,
    directory_miss_refresh_s=0.2,
    sweep_interval_s=0.05,
    shutdown_grace_s=2.0,
    sink_retry_initial_s=0.02,
    sink_retry_max_s=0.1,
)


class GatewayThread:
    """A GatewayServer running on its own loop in a daemon thread."""

    def __init__(self, config: GatewayConfig, sink: InProcessSink) -> None:
        self.config = config
        self.sink = sink
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                       name="gateway-test-loop")
        self.server = GatewayServer(config, sink)

    def start(self) -> GatewayThread:
        self.thread.start()
        self.call(self.server.start())
        return self

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def run(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the gateway's loop (to read its state safely)."""

        async def wrapper() -> T:
            return fn()

        return self.call(wrapper())

    def stop(self) -> None:
        try:
            self.call(self.server.shutdown(), timeout=15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def stats(self) -> Any:
        return self.server.stats


class TerminalClient:
    """A terminal: blocking socket, frames encoded by the codec, answers decoded by it."""

    def __init__(self, port: int, phone: str, *, version: int | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.phone = phone
        self.version = version
        self.serial = 0
        self.reader = MessageReader()
        self.inbox: list[Message] = []

    def header(self, msg_id: int, serial: int | None = None) -> Header:
        if serial is None:
            serial = self.serial
            self.serial += 1
        return Header(msg_id, self.phone, serial, self.version)

    def send(self, msg_id: int, body: Any, serial: int | None = None) -> Header:
        header = self.header(msg_id, serial)
        self.sock.sendall(encode_message(header, body))
        return header

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, timeout: float = 3.0) -> Message:
        """Next message from the gateway; TimeoutError when none, EOFError when closed."""
        self.sock.settimeout(timeout)
        while not self.inbox:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("gateway closed the connection")
            for item in self.reader.feed(data):
                assert not isinstance(item, Jt808Error), item
                self.inbox.append(item)
        return self.inbox.pop(0)

    def expect(self, msg_id: int, timeout: float = 3.0) -> Message:
        msg = self.recv(timeout)
        assert msg.header.msg_id == msg_id, f"expected 0x{msg_id:04X}, got {msg}"
        return msg

    def expect_ack(self, request: Header, result: int = 0, timeout: float = 3.0) -> None:
        msg = self.expect(0x8001, timeout)
        assert msg.body == PlatformResponse(request.serial, request.msg_id, result), msg.body

    def nothing(self, timeout: float = 0.3) -> None:
        """Assert the gateway sends nothing for `timeout` seconds."""
        with pytest.raises(TimeoutError):
            self.recv(timeout)

    def closed_by_gateway(self, timeout: float = 3.0) -> bool:
        try:
            while True:
                self.recv(timeout)
        except (EOFError, ConnectionResetError):
            # A reset is the gateway closing too: Linux answers a close with unread bytes
            # still queued (a frame sent after the one that ended the session) with RST.
            return True
        except TimeoutError:
            return False

    # -- conversations ---------------------------------------------------------------------------
    def register(self, plate: str, colour: int = 1) -> RegisterResponse:
        body = Register(21, 1100, "TEST", "MODEL-1", "T000001", colour, plate)
        self.send(0x0100, body)
        answer = self.expect(0x8100).body
        assert isinstance(answer, RegisterResponse)
        return answer

    def authenticate(self, code: str = "AUTH123") -> None:
        header = self.send(0x0102, Auth(code))
        self.expect_ack(header, 0)

    def location(self, **kwargs: Any) -> Header:
        return self.send(0x0200, sample_location(**kwargs))

    def heartbeat(self) -> Header:
        return self.send(0x0002, Heartbeat())

    def close(self) -> None:
        self.sock.close()


def sample_location(*, minute: int = 0, latitude: float = 41.12, longitude: float = 122.07,
                    items: tuple[tuple[int, bytes], ...] = (), status: int = 0x2,
                    speed: float = 42.5) -> Location:
    return Location.at(latitude=latitude, longitude=longitude, speed_kmh=speed, direction=90,
                       altitude=5, time=datetime(2025, 3, 1, 8, minute, 0, tzinfo=CST),
                       status=status, items=items)


@dataclass
class Registry:
    vehicle: Vehicle
    terminal: Terminal

    @property
    def phone(self) -> str:
        return self.terminal.sim_number


@pytest.fixture
def registry(transactional_db: None) -> Registry:
    # Not the codes of the shared `world` fixture, so tests may use both.
    district = factories.make_district("211104", "大洼区", 122.0, 40.9)
    enterprise = factories.make_enterprise(district)
    vehicle = factories.make_vehicle(enterprise, plate_number="辽L12345")
    return Registry(vehicle, factories.make_terminal(vehicle))


@pytest.fixture
def start_gateway() -> Iterator[Callable[..., GatewayThread]]:
    """`start_gateway(**config_overrides)`; every gateway started is stopped after the test."""
    started: list[GatewayThread] = []

    def start(sink: InProcessSink | None = None, **overrides: Any) -> GatewayThread:
        gw = GatewayThread(TEST_CONFIG.with_(**overrides), sink or InProcessSink()).start()
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


@pytest.fixture
def gateway(registry: Registry, start_gateway: Callable[..., GatewayThread]) -> GatewayThread:
    return start_gateway()


@pytest.fixture
def connect(gateway: GatewayThread, registry: Registry) -> Iterator[Callable[..., TerminalClient]]:
    """`connect(phone=registry.phone, version=None)`: a terminal socket to the gateway."""
    clients: list[TerminalClient] = []

    def make(phone: str | None = None, *, version: int | None = None) -> TerminalClient:
        client = TerminalClient(gateway.port, phone or registry.phone, version=version)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def terminal(connect: Callable[..., TerminalClient]) -> TerminalClient:
    """A terminal that has registered and authenticated."""
    client = connect()
    assert client.register("辽L12345").result == 0
    client.authenticate()
    return client


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A unique Redis key prefix, deleted afterwards."""
    import redis

    prefix = f"test:gateway:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
