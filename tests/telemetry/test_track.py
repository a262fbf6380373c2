import datetime as dt

from django.db import connection

from fleet.models import TerminalEventLog
from fleet.telemetry.schema import FLAG_DRIFT, FLAG_POSITIONED, FLAG_VALID
from fleet.telemetry.store import PositionRow, write_positions

CST = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 21, 8, 0, tzinfo=CST)


def store(vehicle_id: int, minutes: int, flags: int = FLAG_POSITIONED | FLAG_VALID) -> None:
    at = T0 + dt.timedelta(minutes=minutes)
    connection.ensure_connection()
    write_positions(connection.connection, [PositionRow(
        vehicle_id, at, at, 122.0 + minutes / 1000, 41.1, 30.0 + minutes, 90, 5, 0, 3, flags,
        0x0200, None, None)])


def test_track_returns_window_without_drift(world, district_a_user, client_for):
    vid = world.vehicle_a.pk
    for minute in range(0, 60, 10):
        store(vid, minute)
    store(vid, 25, FLAG_POSITIONED | FLAG_DRIFT)
    store(vid, 35, 0)  # not positioned
    TerminalEventLog.objects.create(vehicle_id=vid, time=T0 + dt.timedelta(minutes=20),
                                    received_at=T0, kind="safety_alarm", code="dsm_phone")
    url = f"/fleet/vehicles/{vid}/track.json?start=2026-11-21T08:05:00&end=2026-11-21T08:45:00"
    body = client_for(district_a_user).get(url).json()
    assert [p["speed"] for p in body["points"]] == [40.0, 50.0, 60.0, 70.0]
    assert body["events"] == [{"t": "2026-11-21T00:20:00+00:00", "kind": "safety_alarm",
                               "code": "dsm_phone"}]


def test_track_scoped_and_validated(world, district_a_user, client_for):
    client = client_for(district_a_user)
    assert client.get(f"/fleet/vehicles/{world.vehicle_b.pk}/track.json").status_code == 404
    bad = client.get(f"/fleet/vehicles/{world.vehicle_a.pk}/track.json"
                     "?start=2026-11-21T09:00:00&end=2026-11-21T08:00:00")
    assert bad.status_code == 400
