import datetime as dt

from django.db import connection

from fleet.telemetry.schema import FLAG_POSITIONED, FLAG_VALID
from fleet.telemetry.store import PositionRow, write_positions

T0 = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def row(vehicle_id: int, seconds: int, lon: float | None = 122.07, speed: float = 40.0):
    return PositionRow(vehicle_id=vehicle_id, fix_time=T0 + dt.timedelta(seconds=seconds),
                       received_at=T0 + dt.timedelta(seconds=seconds + 1), longitude=lon,
                       latitude=None if lon is None else 41.12, speed_kmh=speed, heading=90,
                       altitude=5, alarm=0, status=3, flags=FLAG_POSITIONED | FLAG_VALID,
                       source=0x0200, mileage_km=1234.5, items=b"\x01\x04\x00\x00\x30\x39")


def raw():
    connection.ensure_connection()
    return connection.connection


def count(vehicle_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM telemetry_position WHERE vehicle_id = %s",
                       [vehicle_id])
        return cursor.fetchone()[0]


def test_rows_are_stored_once(world):
    vid = world.vehicle_a.pk
    new = write_positions(raw(), [row(vid, 0), row(vid, 30), row(vid, 30)])
    assert new == {(vid, T0), (vid, T0 + dt.timedelta(seconds=30))}
    assert count(vid) == 2
    again = write_positions(raw(), [row(vid, 0), row(vid, 60)])
    assert again == {(vid, T0 + dt.timedelta(seconds=60))}
    assert count(vid) == 3


def test_point_geometry_and_unpositioned_fix(world):
    vid = world.vehicle_a.pk
    write_positions(raw(), [row(vid, 0), row(vid, 10, lon=None)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_X(geom), ST_Y(geom), items FROM telemetry_position "
                       "WHERE vehicle_id = %s ORDER BY fix_time", [vid])
        first, second = cursor.fetchall()
    assert first[0] == 122.07 and first[1] == 41.12
    assert bytes(first[2]) == b"\x01\x04\x00\x00\x30\x39"
    assert second[0] is None and second[1] is None  # never a point at (0, 0)


def test_two_writes_in_one_transaction(world):
    vid = world.vehicle_b.pk
    assert len(write_positions(raw(), [row(vid, 0)])) == 1
    assert len(write_positions(raw(), [row(vid, 5)])) == 1
    assert count(vid) == 2


def test_pipeline_write_returns_new_rows_and_moves_state_forward_only(world):
    from fleet.models import VehicleState
    from fleet.telemetry.store import write_fixes

    vid = world.vehicle_a.pk
    rows = [row(vid, 0, speed=42.3), row(vid, 30, speed=55.7), row(vid, 30, speed=1.0)]
    assert write_fixes(raw(), [r.as_tuple() for r in rows]) == [0, 1]  # the repeat: first wins
    state = VehicleState.objects.get(vehicle_id=vid)
    assert state.fix_time == T0 + dt.timedelta(seconds=30)
    assert state.speed_kmh == 55.7  # as sent, although positions keep float4
    assert state.acc_on and state.load_state == "empty" and state.location.x == 122.07
    older = row(vid, 10, speed=9.0)
    assert write_fixes(raw(), [older.as_tuple(), rows[0].as_tuple()]) == [0]
    assert VehicleState.objects.get(vehicle_id=vid).speed_kmh == 55.7  # not moved back
    unpositioned = row(vid, 60, lon=None)
    assert write_fixes(raw(), [unpositioned.as_tuple()]) == [0]
    state = VehicleState.objects.get(vehicle_id=vid)
    assert state.fix_time == T0 + dt.timedelta(seconds=60) and state.location.x == 122.07
