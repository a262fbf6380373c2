"""Per vehicle and day quality figures from crafted fixes with hand-computed expectations."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection

from compliance.daily_quality import bureau_today, compute_day, day_bounds
from compliance.models import VehicleDayQuality, Violation
from fleet.geo.distance import haversine_km
from fleet.telemetry.partitions import BUREAU_TZ, maintain_partitions
from fleet.telemetry.schema import FLAG_DRIFT, FLAG_POSITIONED, FLAG_VALID
from fleet.telemetry.store import PositionRow, write_positions
from tests import factories

# A settled past day (the "today" case is tested on its own).
DAY = dt.date(2026, 10, 14)
T0 = dt.datetime(2026, 10, 14, 8, 0, tzinfo=BUREAU_TZ)
LON, LAT = 122.07, 41.12
VALID = FLAG_POSITIONED | FLAG_VALID
DRIFT = FLAG_POSITIONED | FLAG_DRIFT


def position(vehicle_id: int, at: dt.datetime, lat: float | None, *, speed: float = 40.0,
             flags: int = VALID) -> PositionRow:
    return PositionRow(vehicle_id=vehicle_id, fix_time=at, received_at=at + dt.timedelta(seconds=1),
                       longitude=None if lat is None else LON, latitude=lat, speed_kmh=speed,
                       heading=0, altitude=5, alarm=0, status=3, flags=flags, source=0x0200,
                       mileage_km=None, items=None)


def store(rows: list[PositionRow]) -> None:
    connection.ensure_connection()
    write_positions(connection.connection, rows)


def km(lat1: float, lat2: float) -> float:
    return haversine_km(lat1, LON, lat2, LON)


@pytest.fixture
def partitions(db) -> None:
    """The test days get their own daily partitions, as in production."""
    maintain_partitions(now=day_bounds(DAY - dt.timedelta(days=1))[0], ahead_days=3,
                        retention_days=100_000)


def violation(vehicle, rule: str, started_at: dt.datetime, *, review_status: str = "pending",
              measured: dict | None = None, ended: bool = True) -> Violation:
    return Violation.objects.create(
        rule=rule, vehicle=vehicle, vehicle_kind=vehicle.kind, enterprise=vehicle.enterprise,
        district=vehicle.registered_district, started_at=started_at,
        ended_at=started_at + dt.timedelta(minutes=10) if ended else None, severity="medium",
        measured=measured or {}, review_status=review_status)


# Vehicle A's day, fix by fix (seconds after 08:00, latitude offset):
#   0 +0      |  60 +0.005 (A)  | 120 +0.010 (B) | 150 no position | 180 +0.5 drift
# 240 +0.015 (C: from the 120 s fix, bridging the unpositioned report and the drift fix)
# 360 +0.042 (D: 3.0 km in 2 min — over 2 km, incomplete)
# 720 +0.051 (E: 1.0 km after a 6-minute silence, implied 10 km/h: moving, incomplete)
# 1620 +0.0515 (F: 55 m after a 15-minute silence, implied 0.2 km/h: stopped, complete)
# 1680 +0.0515 (G: 0 km)
TRACK = [(0, 0.0), (60, 0.005), (120, 0.010), (240, 0.015), (360, 0.042), (720, 0.051),
         (1620, 0.0515), (1680, 0.0515)]


def vehicle_a_day(vehicle_id: int) -> list[PositionRow]:
    rows = [position(vehicle_id, T0 + dt.timedelta(seconds=s), LAT + d,
                     speed=0.0 if s >= 1620 else 40.0) for s, d in TRACK]
    rows.append(position(vehicle_id, T0 + dt.timedelta(seconds=150), None, flags=0))
    rows.append(position(vehicle_id, T0 + dt.timedelta(seconds=180), LAT + 0.5, flags=DRIFT))
    return rows


def test_figures_of_a_crafted_day(world, partitions):
    a = world.vehicle_a
    store(vehicle_a_day(a.pk))
    violation(a, "overspeed", T0 + dt.timedelta(hours=1))
    violation(a, "overspeed", T0 + dt.timedelta(hours=2), review_status="confirmed")
    violation(a, "overspeed", T0 + dt.timedelta(hours=3), review_status="dismissed")
    violation(a, "overspeed", T0 - dt.timedelta(hours=9))  # 23:00 the day before
    violation(a, "fatigue_continuous", T0 + dt.timedelta(hours=4),
              measured={"fatigue_duration_s": 1800.0, "continuous_driving_s": 16200.0})
    violation(a, "fatigue_continuous", T0 + dt.timedelta(hours=6), ended=False)  # no figure yet
    violation(a, "fatigue_continuous", T0 + dt.timedelta(hours=8), ended=False,
              measured={"fatigue_duration_s": 600})
    violation(a, "night_ban", T0 + dt.timedelta(hours=9))

    assert compute_day(DAY) == 1
    row = VehicleDayQuality.objects.get(vehicle=a, day=DAY)

    lats = [LAT + d for _, d in TRACK]
    segments = [km(p, q) for p, q in itertools.pairwise(lats)]
    complete = [segments[i] for i in (0, 1, 2, 5, 6)]  # A, B, C, F, G
    assert segments[3] == pytest.approx(3.0, abs=0.01) and segments[4] == pytest.approx(1.0,
                                                                                       abs=0.01)
    assert row.mileage_km == pytest.approx(sum(segments), rel=1e-4)
    assert row.complete_mileage_km == pytest.approx(sum(complete), rel=1e-4)
    assert row.total_fixes == 10 and row.valid_fixes == 8
    assert row.drift_fixes == 1 and row.drift
    # 60+60+30+30+60+120 up to 360 s, then the 6-minute gap; the 15-minute silence is not online.
    assert row.online_seconds == 60 + 60 + 30 + 30 + 60 + 120 + 360 + 60
    assert row.overspeed_count == 2
    assert row.fatigue_seconds == 1800 + 600
    assert (row.vehicle_kind, row.district_id, row.enterprise_id) == (
        a.kind, a.registered_district_id, a.enterprise_id)
    # Vehicle B sent nothing: no row, which the KPIs read as "not online".
    assert not VehicleDayQuality.objects.filter(vehicle=world.vehicle_b).exists()


def test_rerun_gives_the_same_rows(world, partitions):
    store(vehicle_a_day(world.vehicle_a.pk))
    store([position(world.vehicle_b.pk, T0, LAT)])
    fields = ["id", "vehicle_id", "day", "vehicle_kind", "district_id", "enterprise_id",
              "mileage_km", "complete_mileage_km", "total_fixes", "valid_fixes", "drift_fixes",
              "online_seconds", "overspeed_count", "fatigue_seconds"]
    assert compute_day(DAY) == 2
    first = list(VehicleDayQuality.objects.order_by("vehicle_id").values(*fields))
    assert compute_day(DAY) == 2
    assert list(VehicleDayQuality.objects.order_by("vehicle_id").values(*fields)) == first
    assert VehicleDayQuality.objects.count() == 2


def test_only_the_vehicles_asked_for(world, partitions):
    store([*vehicle_a_day(world.vehicle_a.pk), position(world.vehicle_b.pk, T0, LAT)])
    assert compute_day(DAY, vehicle_ids=[world.vehicle_b.pk]) == 1
    assert list(VehicleDayQuality.objects.values_list("vehicle_id", flat=True)) == [
        world.vehicle_b.pk]
    assert compute_day(DAY, vehicle_ids=[]) == 0


def test_day_boundary_is_midnight_in_shanghai(world, partitions):
    b = world.vehicle_b.pk
    late = dt.datetime(2026, 10, 14, 23, 59, 59, tzinfo=BUREAU_TZ)
    early = dt.datetime(2026, 10, 15, 0, 0, 1, tzinfo=BUREAU_TZ)
    store([position(b, late, LAT), position(b, early, LAT + 0.0002)])
    next_day = DAY + dt.timedelta(days=1)
    assert compute_day(DAY) == 1 and compute_day(next_day) == 1
    first = VehicleDayQuality.objects.get(vehicle_id=b, day=DAY)
    second = VehicleDayQuality.objects.get(vehicle_id=b, day=next_day)
    assert first.total_fixes == 1 and second.total_fixes == 1
    # The 2-second gap is shared at midnight; the segment belongs to the day of its later fix.
    assert first.online_seconds == 1 and second.online_seconds == 1
    assert first.mileage_km == 0
    assert second.mileage_km == pytest.approx(km(LAT, LAT + 0.0002), rel=1e-4)
    # 23:59:59+08 is 15:59:59 UTC: a UTC day would have put both fixes on the 14th.
    assert late.astimezone(dt.UTC).date() == early.astimezone(dt.UTC).date() == DAY


def test_a_full_day_online_is_24_hours(world, partitions):
    a = world.vehicle_a.pk
    start, _ = day_bounds(DAY)
    # Every 5 minutes from 23:57 the day before to 00:02 the day after.
    moments = [start - dt.timedelta(minutes=3) + dt.timedelta(minutes=5 * n) for n in range(290)]
    store([position(a, m, LAT, speed=0.0) for m in moments])
    compute_day(DAY)
    row = VehicleDayQuality.objects.get(vehicle_id=a, day=DAY)
    assert row.online_seconds == 86_400
    assert row.total_fixes == 288


def test_registry_facts_are_kept_once_the_day_is_over(world, partitions):
    a = world.vehicle_a
    store([position(a.pk, T0, LAT)])
    compute_day(DAY)
    other = factories.make_enterprise(world.district_b)
    a.enterprise = other
    a.save(update_fields=["enterprise"])
    compute_day(DAY)  # a past day: the enterprise on that day stays
    row = VehicleDayQuality.objects.get(vehicle=a, day=DAY)
    assert row.enterprise_id == world.enterprise_a.pk

    today = bureau_today()
    store([position(a.pk, day_bounds(today)[0] + dt.timedelta(seconds=1), LAT)])
    compute_day(today)
    a.enterprise = world.enterprise_a
    a.save(update_fields=["enterprise"])
    compute_day(today)  # the day is still running: the registry's current facts
    row = VehicleDayQuality.objects.get(vehicle=a, day=today)
    assert row.enterprise_id == world.enterprise_a.pk


def test_scheduler_runs_yesterday_after_midnight_and_today_hourly(db):
    from fleet.scheduler import build_scheduler

    jobs = {job.id: job for job in build_scheduler().get_jobs()}
    yesterday = str(jobs["day_quality_yesterday"].trigger)
    today = str(jobs["day_quality_today"].trigger)
    assert "hour='0'" in yesterday and "minute='20'" in yesterday
    assert "minute='5'" in today and "hour=" not in today


def test_command_computes_a_range_of_days(world, partitions):
    from io import StringIO

    from django.core.management import call_command

    store([position(world.vehicle_a.pk, T0, LAT),
           position(world.vehicle_a.pk, T0 - dt.timedelta(days=1), LAT)])
    out = StringIO()
    call_command("compute_day_quality", "--day", DAY.isoformat(), "--days", "2", stdout=out)
    assert set(VehicleDayQuality.objects.values_list("day", flat=True)) == {
        DAY, DAY - dt.timedelta(days=1)}
    assert f"{DAY}: 1 vehicles" in out.getvalue()
