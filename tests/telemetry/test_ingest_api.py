import pytest
from django.db import connection

from fleet.ingest.keys import create_source
from fleet.models import MeterTrip, TerminalEventLog
from fleet.telemetry.worker import PipelineWorker


@pytest.fixture
def source(world):
    return create_source(name="滴滴出行", enterprise=None, actor=None)


@pytest.fixture
def api(client, source, settings, bus_prefix):
    settings.BUS_PREFIX = bus_prefix
    settings.PIPELINE_SHARDS = 2
    _, key = source

    def post(kind: str, items, key_override: str | None = None):
        return client.post(f"/api/v1/ingest/{kind}", {"items": items},
                           content_type="application/json",
                           HTTP_AUTHORIZATION=f"ApiKey {key_override or key}")

    return post


def run_pipeline(make_bus, make_leases) -> None:
    worker = PipelineWorker(make_bus(), make_leases("w1"))
    while worker.step():
        pass


def fix_item(seconds: int, **extra):
    item = {"plate": "辽L10001", "plate_colour": 1, "time": f"2026-11-21T08:00:{seconds:02d}+08:00",
            "lon": 122.07, "lat": 41.12, "speed_kmh": 35.5}
    item.update(extra)
    return item


def positions(vehicle_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telemetry_position WHERE vehicle_id = %s",
                       [vehicle_id])
        return cursor.fetchone()[0]


def test_valid_items_accepted_invalid_listed(api, world, make_bus, make_leases):
    response = api("fixes", [fix_item(0), fix_item(10, speed_kmh=-3), fix_item(20),
                             fix_item(30, plate="辽L99999"), fix_item(40, lat=None)])
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 3, 4]
    assert "speed_kmh" in body["rejected"][0]["errors"]
    assert body["rejected"][1]["errors"]["plate"] == ["unknown vehicle"]
    run_pipeline(make_bus, make_leases)
    assert positions(world.vehicle_a.pk) == 2


def test_resending_a_batch_is_idempotent(api, world, make_bus, make_leases):
    items = [fix_item(0), fix_item(5)]
    api("fixes", items)
    api("fixes", items)
    run_pipeline(make_bus, make_leases)
    assert positions(world.vehicle_a.pk) == 2


def test_events_and_meter_trips(api, world, make_bus, make_leases):
    api("events", [{"plate": "辽L10001", "plate_colour": 1, "time": "2026-11-21T08:00:00+08:00",
                    "kind": "order_start", "code": "A123", "detail": {"fare": 12}}] * 2)
    trip = {"plate": "辽L10001", "plate_colour": 1, "trip_number": "T1",
            "boarded_at": "2026-11-21T08:00:00+08:00", "alighted_at": "2026-11-21T08:20:00+08:00",
            "board": [122.07, 41.12], "alight": [122.1, 41.15], "distance_km": "6.4",
            "fare_yuan": "18.50"}
    reversed_trip = dict(trip, alighted_at="2026-11-21T07:00:00+08:00")
    response = api("meter-trips", [trip, trip, reversed_trip])
    assert response.json()["accepted"] == 2 and response.json()["rejected"][0]["index"] == 2
    run_pipeline(make_bus, make_leases)
    assert TerminalEventLog.objects.filter(kind="order_start").count() == 1
    stored = MeterTrip.objects.get()
    assert float(stored.fare_yuan) == 18.5 and stored.board_location.x == 122.07


def test_bad_key_and_bad_requests(api):
    assert api("fixes", [fix_item(0)], key_override="wrong").status_code in (401, 403)
    assert api("nonsense", [fix_item(0)]).status_code == 404
    assert api("fixes", []).status_code == 400
    assert api("fixes", "not a list").status_code == 400


def test_source_limited_to_its_enterprise(client, world, settings, bus_prefix):
    settings.BUS_PREFIX = bus_prefix
    _, key = create_source(name="企业A系统", enterprise=world.enterprise_a, actor=None)
    items = [fix_item(0), fix_item(5, plate="辽L20002")]
    response = client.post("/api/v1/ingest/fixes", {"items": items},
                           content_type="application/json", HTTP_AUTHORIZATION=f"ApiKey {key}")
    assert response.json()["accepted"] == 1
    assert response.json()["rejected"][0]["index"] == 1


def test_bus_down_accepts_nothing(api, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = api("fixes", [fix_item(0)])
    assert response.status_code == 503 and response.json()["accepted"] == 0


def test_ride_hailing_orders(api, world, make_bus, make_leases):
    from fleet.models import RideHailingOrder
    from tests import factories

    driver = factories.make_driver(world.enterprise_a)
    order = {"plate": "辽L10001", "plate_colour": 1, "order_id": "DD-1", "status": "started",
             "time": "2026-11-21T08:00:00+08:00", "driver_id_number": driver.id_number,
             "lon": 122.07, "lat": 41.12, "fare_yuan": None}
    unknown_driver = dict(order, order_id="DD-2", driver_id_number="211102198001010000")
    bad_status = dict(order, status="flying")
    response = api("orders", [order, order, unknown_driver, bad_status])
    assert response.json()["accepted"] == 3
    assert response.json()["rejected"][0]["index"] == 3
    run_pipeline(make_bus, make_leases)
    rows = {o.order_id: o for o in RideHailingOrder.objects.all()}
    assert set(rows) == {"DD-1", "DD-2"}
    assert rows["DD-1"].driver == driver and rows["DD-2"].driver is None
