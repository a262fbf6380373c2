"""A fix sent through the gateway moves the vehicle on the live map, in a real browser.

The portal runs under daphne (websockets need ASGI; the live_server fixture is WSGI only),
pointed at the test database; the gateway, Redis Streams, the pipeline worker and the channel
layer are the real ones.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from fleet.live.publisher import LivePublisher
from fleet.telemetry.bus import AsyncStreamPublisher
from fleet.telemetry.worker import PipelineWorker
from tests.conftest import PASSWORD
from tests.gateway.harness import TerminalClient, sample_location

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def asgi_server(transactional_db) -> Iterator[str]:
    port = free_port()
    db = settings.DATABASES["default"]
    env = dict(os.environ, DATABASE_URL=(
        f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"),
        DJANGO_SETTINGS_MODULE="config.settings")
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "config.asgi:application"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"daphne did not start: {process.stderr.read().decode()[-2000:]}")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def test_fix_through_gateway_moves_vehicle(page, asgi_server, registry, start_gateway,
                                           make_bus, make_leases, bus_prefix):
    from accounts.models import User

    user = User.objects.create_user("dawa", password=PASSWORD, level="district",
                                    role="district_operator")
    user.districts.set([registry.vehicle.registered_district])
    vehicle_id = registry.vehicle.pk

    bus = make_bus(shards=1)
    sink = AsyncStreamPublisher(settings.REDIS_URL, shards=1, prefix=bus_prefix)
    gateway = start_gateway(sink=sink)
    worker = PipelineWorker(bus, make_leases("browser", shards=1),
                            on_commit=lambda result: LivePublisher().publish(result.states))

    def send_fix(minute: int, latitude: float, longitude: float) -> None:
        header = terminal.send(0x0200, sample_location(minute=minute, latitude=latitude,
                                                       longitude=longitude))
        terminal.expect_ack(header)
        # The worker runs in its own thread, as in its own process: Playwright's event loop
        # owns this one, and the live publisher needs async_to_sync.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(drain).result(timeout=30)

    def drain() -> None:
        from django.db import connection as thread_connection

        try:
            while worker.step():
                pass
        finally:
            thread_connection.close()

    terminal = TerminalClient(gateway.port, registry.phone)
    assert terminal.register("辽L12345").result == 0
    terminal.authenticate()
    send_fix(0, 41.10, 122.05)  # the vehicle is on the map before the page opens

    page.goto(f"{asgi_server}/accounts/login/")
    page.fill("#id_username", "dawa")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{asgi_server}/fleet/live/")
    page.wait_for_selector(".live-ok")  # websocket connected
    position = f"() => {{ const v = FleetLive.vehicles.get({vehicle_id}); return [v.lat, v.lon]; }}"
    assert page.evaluate(position) == [41.10, 122.05]
    assert page.locator("[data-count=online]").inner_text() == "1"

    send_fix(1, 41.15, 122.10)
    page.wait_for_function(
        f"() => FleetLive.vehicles.get({vehicle_id}).lat === 41.15", timeout=10_000)
    assert page.evaluate(position) == [41.15, 122.10]
    terminal.close()
    gateway.call(sink.close())
    connection.close()
