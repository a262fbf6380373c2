import datetime as dt

from django.db import connection

from fleet.telemetry.partitions import existing_partitions, maintain_partitions

CST = dt.timezone(dt.timedelta(hours=8))


def partition_of(vehicle_id: int, moment: dt.datetime) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM telemetry_position "
                       "WHERE vehicle_id = %s AND fix_time = %s", [vehicle_id, moment])
        return cursor.fetchone()[0]


def insert(vehicle_id: int, moment: dt.datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO telemetry_position (vehicle_id, fix_time, received_at, "
                       "speed_kmh, heading, altitude, alarm, status, flags, source) "
                       "VALUES (%s, %s, %s, 0, 0, 0, 0, 0, 0, 512)", [vehicle_id, moment, moment])


def test_created_ahead_and_dropped_after_retention(db):
    now = dt.datetime(2026, 11, 21, 23, 30, tzinfo=CST)
    report = maintain_partitions(now=now, ahead_days=3, retention_days=180)
    days = set(existing_partitions())
    assert {dt.date(2026, 11, 21) + dt.timedelta(days=n) for n in range(4)} <= days
    assert len(report.created) == 4
    # Idempotent.
    assert maintain_partitions(now=now, ahead_days=3, retention_days=180).created == []

    # A fix at 23:59 local time lands in that local day's partition, not the next UTC day's.
    insert(1, dt.datetime(2026, 11, 21, 23, 59, tzinfo=CST))
    assert partition_of(1, dt.datetime(2026, 11, 21, 23, 59, tzinfo=CST)).endswith("p20261121")

    # A fix far outside every daily range is still stored (default partition).
    insert(1, dt.datetime(2031, 1, 1, tzinfo=CST))
    assert partition_of(1, dt.datetime(2031, 1, 1, tzinfo=CST)) == "telemetry_position_default"

    # 181 days later the first day is beyond retention and is dropped with its rows.
    later = now + dt.timedelta(days=181)
    report = maintain_partitions(now=later, ahead_days=1, retention_days=180)
    assert "telemetry_position_p20261121" in report.dropped
    assert dt.date(2026, 11, 21) not in existing_partitions()
    # The day exactly at the retention edge (180 days back) is kept.
    assert later.date() - dt.timedelta(days=180) == dt.date(2026, 11, 22)
    assert dt.date(2026, 11, 22) in existing_partitions()
    assert report.dropped == ["telemetry_position_p20261121"]
