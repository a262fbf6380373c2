"""Taxi meter trips: the records a simulated taxi produces, to a JSON-lines file or posted to
the ingest API in the shape its serializer accepts (with retries while it is unavailable)."""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fleet.ingest.serializers import BatchIn, MeterTripIn
from fleet.simulator.entities import World
from fleet.simulator.meter import HttpMeterSink, JsonLinesSink
from fleet.simulator.plan import MeterTrip
from fleet.simulator.vehicle import VehiclePlan
from tests.simulator.conftest import START

pytestmark = pytest.mark.django_db


def taxi_trips(world: World) -> tuple:
    terminal = next(t for t in world.terminals if t.vehicle.kind == "taxi"
                    and t.vehicle.in_service)
    items = itertools.takewhile(lambda i: i.t < START + 86_400,
                                VehiclePlan(world, terminal, seed=1, start=START).items())
    trips = [i for i in items if isinstance(i, MeterTrip)]
    assert len(trips) > 10
    return terminal, trips


def test_json_lines(world: World, tmp_path: Path) -> None:
    terminal, trips = taxi_trips(world)
    sink = JsonLinesSink(tmp_path / "trips.jsonl", flush_every=3)
    for trip in trips:
        sink.write(terminal, trip)
    sink.close()
    rows = [json.loads(line) for line in (tmp_path / "trips.jsonl").read_text().splitlines()]
    assert [r["trip_no"] for r in rows] == [t.trip_no for t in trips]
    assert rows[0]["plate"] == terminal.vehicle.plate
    assert rows[0]["boarded_at"] < rows[0]["alighted_at"] and rows[0]["fare_yuan"] >= 8


def test_posted_to_the_ingest_api_with_retries(world: World) -> None:
    terminal, trips = taxi_trips(world)
    received: list[dict] = []
    calls = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            calls["n"] += 1
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert self.headers["Authorization"] == "ApiKey SECRET"
            if calls["n"] == 1:  # the platform is not ready yet: the batch comes again
                self.send_response(503)
                self.end_headers()
                return
            received.extend(body["items"])
            answer = json.dumps({"accepted": len(body["items"]), "rejected": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/api/v1/ingest/meter-trips"
        sink = HttpMeterSink(url, "SECRET", batch=7, every=0.05)
        for trip in trips:
            sink.write(terminal, trip)
        sink.close(wait=30)
    finally:
        server.shutdown()
    assert sink.accepted == len(trips) == len(received) and sink.failures == 1
    assert BatchIn(data={"items": received}).is_valid()
    for item in received:
        serializer = MeterTripIn(data=item)
        assert serializer.is_valid(), serializer.errors
        assert serializer.validated_data["plate"] == terminal.vehicle.plate
