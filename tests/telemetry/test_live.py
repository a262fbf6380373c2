"""Live updates over the websocket, through the real Redis channel layer."""

import asyncio
import datetime as dt
import gzip
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from fleet.live.publisher import LivePublisher
from fleet.models import VehicleState
from tests import factories
from tests.telemetry.fixtures import fix

pytestmark = pytest.mark.django_db(transaction=True)


def run_async(function, *args):
    """Run a coroutine on its own loop in a fresh thread: the browser tests leave Playwright's
    loop attached to the main thread of this worker."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, function(*args)).result(timeout=30)


async def connect(client) -> WebsocketCommunicator:
    cookie = client.cookies["sessionid"].value
    communicator = WebsocketCommunicator(
        application, "/ws/live/vehicles/",
        headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"host", b"127.0.0.1"),
                 (b"origin", b"http://127.0.0.1")])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def logged_in(client, user):
    client.force_login(user)
    return client


def test_district_user_receives_only_own_vehicles(world, district_a_user, bureau_user, client):
    run_async(_only_own_vehicles, world, district_a_user, bureau_user, client)


async def _only_own_vehicles(world, district_a_user, bureau_user, client):
    from django.test import Client

    a_socket = await connect(await sync_to_async(logged_in)(client, district_a_user))
    city_socket = await connect(await sync_to_async(logged_in)(Client(), bureau_user))
    publisher = LivePublisher()
    states = {world.vehicle_a.pk: fix(world.vehicle_a.pk, 0),
              world.vehicle_b.pk: fix(world.vehicle_b.pk, 0)}
    await sync_to_async(publisher.publish)(states)

    message = await a_socket.receive_json_from(timeout=3)
    assert [v["plate"] for v in message["vehicles"]] == ["辽L10001"]
    assert await a_socket.receive_nothing(timeout=0.3)

    city = await city_socket.receive_json_from(timeout=3)
    assert sorted(v["id"] for v in city["vehicles"]) == sorted(states)
    await a_socket.disconnect()
    await city_socket.disconnect()


def test_anonymous_socket_is_refused(db):
    run_async(_anonymous_refused)


async def _anonymous_refused():
    communicator = WebsocketCommunicator(application, "/ws/live/vehicles/",
                                         headers=[(b"host", b"127.0.0.1"),
                                                  (b"origin", b"http://127.0.0.1")])
    connected, _code = await communicator.connect()
    assert not connected


def test_snapshot_is_scoped(world, district_a_user, client_for):
    at = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)
    from django.contrib.gis.geos import Point

    for vehicle in (world.vehicle_a, world.vehicle_b):
        VehicleState.objects.create(vehicle=vehicle, fix_time=at, received_at=at,
                                    location=Point(122.07, 41.12, srid=4326))
    body = client_for(district_a_user).get("/fleet/live/snapshot.json").json()
    assert [v["plate"] for v in body["vehicles"]] == ["辽L10001"]
    row = body["vehicles"][0]
    assert (row["lon"], row["lat"], row["online"], row["alarm"]) == (122.07, 41.12, True, False)
    assert dt.datetime.fromisoformat(row["time"]) == at
    # Compressed for browsers that accept it (the whole city is megabytes of JSON; Django
    # leaves bodies under 200 bytes alone, so a few more vehicles).
    for n in range(3):
        vehicle = factories.make_vehicle(world.enterprise_a, plate_number=f"辽L4{n:04d}")
        VehicleState.objects.create(vehicle=vehicle, fix_time=at, received_at=at,
                                    location=Point(122.07, 41.12, srid=4326))
    client = client_for(district_a_user)
    body = client.get("/fleet/live/snapshot.json").json()
    assert len(body["vehicles"]) == 4
    zipped = client.get("/fleet/live/snapshot.json", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.content)) == body



def test_live_page_renders(world, district_a_user, client_for):
    response = client_for(district_a_user).get("/fleet/live/")
    assert response.status_code == 200
    assert "kind-labels" in response.content.decode()
