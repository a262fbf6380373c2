"""The dashboard's figures on a crafted data set: each user sees exactly their scope's numbers,
"today" is the Shanghai day, and the number of queries does not grow with the districts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.models import Case, MonthlyAssessment, VehicleDayQuality
from compliance.selectors_dashboard import dashboard
from fleet.models import Vehicle, VehicleState
from tests import factories
from tests.compliance.case_support import (  # noqa: F401 - fast_passwords is a fixture
    Cast,
    Clock,
    drive,
    fast_passwords,
    local,
    make_cast,
    new_case,
)

NOW = local(2026, 11, 21, 10, 0)  # Saturday 10:00 in Shanghai, 02:00 UTC


def online(vehicle, is_online: bool = True) -> VehicleState:  # type: ignore[no-untyped-def]
    return VehicleState.objects.create(vehicle=vehicle, fix_time=NOW, received_at=NOW,
                                       location=Point(122.05, 41.12, srid=4326),
                                       online=is_online)


def quality(vehicle, day: dt.date, *, valid: int, total: int, complete: float,  # type: ignore[no-untyped-def]
            mileage: float) -> VehicleDayQuality:
    return VehicleDayQuality.objects.create(
        vehicle=vehicle, day=day, vehicle_kind=vehicle.kind,
        district=vehicle.registered_district, enterprise=vehicle.enterprise,
        valid_fixes=valid, total_fixes=total, complete_mileage_km=complete, mileage_km=mileage)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


@pytest.fixture
def city(cast: Cast, monkeypatch):  # type: ignore[no-untyped-def]
    """District A: 3 vehicles (2 online, 1 scrapped and not counted), today 3 counted violations
    (2 overspeed, 1 phone) plus a dismissed one, a drift record and yesterday's; 3 open cases
    (1 overdue, 1 supervised) and an archived one. District B: 1 vehicle online, 1 violation,
    1 open overdue supervised case."""
    world = cast.world
    clock = Clock(monkeypatch, NOW - dt.timedelta(days=2))
    second_a = factories.make_vehicle(world.enterprise_a, kind="bus")
    scrapped = factories.make_vehicle(world.enterprise_a)
    Vehicle.objects.filter(pk=scrapped.pk).update(status="scrapped")
    other_enterprise = factories.make_enterprise(world.district_a, name="双台子公交公司")
    third_a = factories.make_vehicle(other_enterprise)
    online(world.vehicle_a)
    online(second_a)
    online(third_a, is_online=False)
    online(scrapped)
    online(world.vehicle_b)

    today = NOW.replace(hour=8)
    for vehicle, rule in ((world.vehicle_a, "overspeed"), (second_a, "overspeed"),
                          (third_a, "dsm_phone"), (world.vehicle_b, "overspeed")):
        factories.make_violation(vehicle, rule=rule, started_at=today)
    factories.make_violation(world.vehicle_a, rule="dsm_phone", started_at=today,
                             review_status="dismissed")
    factories.make_violation(world.vehicle_a, rule="gps_drift", started_at=today)
    # 23:59 yesterday in Shanghai is still "yesterday", though the same UTC date as today.
    factories.make_violation(world.vehicle_a, rule="dsm_smoking",
                             started_at=local(2026, 11, 20, 23, 59))

    overdue = drive(cast, new_case(cast), "accepted")
    supervised = drive(cast, new_case(cast), "dispatched")
    drive(cast, new_case(cast), "handled")
    drive(cast, new_case(cast), "archived")
    b_case = new_case(cast, vehicle=world.vehicle_b, district=world.district_b)
    clock.set(NOW)
    Case.objects.filter(pk=overdue.pk).update(deadline=NOW - dt.timedelta(hours=1))
    Case.objects.filter(pk=supervised.pk).update(supervised=True,
                                                 deadline=NOW + dt.timedelta(days=2))
    Case.objects.filter(pk=b_case.pk).update(supervised=True,
                                             deadline=NOW - dt.timedelta(hours=1))

    november, october = dt.date(2026, 11, 3), dt.date(2026, 10, 31)
    quality(world.vehicle_a, november, valid=90, total=100, complete=60.0, mileage=100.0)
    quality(second_a, november, valid=60, total=100, complete=80.0, mileage=100.0)
    quality(world.vehicle_a, october, valid=0, total=100, complete=0.0, mileage=100.0)
    quality(world.vehicle_b, november, valid=99, total=100, complete=95.0, mileage=100.0)
    return cast


def row(board, district):  # type: ignore[no-untyped-def]
    return next(r for r in board.districts if r.district_id == district.pk)


def test_bureau_sees_the_whole_city(city: Cast):
    board = dashboard(city.bureau, now=NOW)
    assert board.day == dt.date(2026, 11, 21)
    assert (board.vehicles_online, board.vehicles_total) == (3, 4)
    assert {(k.kind, k.online, k.total) for k in board.kinds} == {("taxi", 2, 3), ("bus", 1, 1)}
    assert board.violations_today == 4
    assert [(r.rule, r.count) for r in board.top_rules] == [("overspeed", 3), ("dsm_phone", 1)]
    assert board.top_rules[0].label == "超速"
    assert (board.cases_open, board.cases_overdue, board.cases_supervised) == (4, 2, 2)
    assert board.pending_screening == 5  # yesterday's smoking still waits for screening
    a, b = row(board, city.world.district_a), row(board, city.world.district_b)
    assert (a.vehicles, a.online, a.violations_today) == (3, 2, 3)
    assert (a.cases_open, a.cases_overdue, a.cases_supervised) == (3, 1, 1)
    assert a.online_rate == pytest.approx(2 / 3)
    # Ratios of the month's sums (October left out), as the KPIs compute them.
    assert a.validity == pytest.approx(150 / 200)
    assert a.completeness == pytest.approx(140 / 200)
    assert (b.vehicles, b.online, b.violations_today, b.cases_open) == (1, 1, 1, 1)
    assert b.validity == pytest.approx(0.99)


def test_district_user_sees_only_their_district(city: Cast):
    board = dashboard(city.op_a, now=NOW)
    assert [r.district_id for r in board.districts] == [city.world.district_a.pk]
    assert (board.vehicles_online, board.vehicles_total) == (2, 3)
    assert board.violations_today == 3
    # District B's overdue supervised case is never counted for A.
    assert (board.cases_open, board.cases_overdue, board.cases_supervised) == (3, 1, 1)
    assert board.pending_screening == 4

    other = dashboard(city.op_b, now=NOW)
    assert [r.district_id for r in other.districts] == [city.world.district_b.pk]
    assert (other.vehicles_total, other.violations_today, other.cases_open,
            other.cases_overdue, other.cases_supervised) == (1, 1, 1, 1, 1)


def test_enterprise_officer_sees_their_enterprise_without_cases_or_district_table(city: Cast):
    board = dashboard(city.enterprise_a, now=NOW)
    assert board.districts == []
    assert board.shows_cases is False
    assert (board.vehicles_online, board.vehicles_total) == (2, 2)
    assert board.violations_today == 2
    assert board.cases_open == 0


def test_today_follows_the_shanghai_calendar(city: Cast):
    """At 00:30 on the 22nd in Shanghai (still the 21st in UTC) the 21st's violations are
    yesterday's."""
    factories.make_violation(city.world.vehicle_a, rule="overspeed",
                             started_at=local(2026, 11, 22, 0, 10))
    board = dashboard(city.bureau, now=local(2026, 11, 22, 0, 30))
    assert board.day == dt.date(2026, 11, 22)
    assert board.violations_today == 1


def test_month_rank_column_comes_from_the_assessments(city: Cast):
    for rank, district in enumerate((city.world.district_b, city.world.district_a), start=1):
        MonthlyAssessment.objects.create(month=dt.date(2026, 11, 1), unit_type="district",
                                         district=district, total=90.0 - rank, rank=rank,
                                         computed_at=NOW)
    board = dashboard(city.bureau, now=NOW)
    assert row(board, city.world.district_a).rank == 2
    assert row(board, city.world.district_b).rank == 1


def test_queries_do_not_grow_with_districts(city: Cast, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as few:
        dashboard(city.bureau, now=NOW)
    for n in range(3):
        district = factories.make_district(f"2111{n + 50}", f"新区{n}", 122.3 + n * 0.2, 41.3)
        enterprise = factories.make_enterprise(district, name=f"新区{n}出租公司")
        vehicle = factories.make_vehicle(enterprise)
        online(vehicle)
        factories.make_violation(vehicle, started_at=NOW.replace(hour=9))
        quality(vehicle, dt.date(2026, 11, 5), valid=1, total=1, complete=1.0, mileage=1.0)
    with django_assert_max_num_queries(len(few)):
        board = dashboard(city.bureau, now=NOW)
    assert len(board.districts) == 5
    assert len(few) <= 8


def test_refresh_leaves_out_the_month_figures(city: Cast):
    board = dashboard(city.bureau, now=NOW, month_figures=False)
    assert board.violations_today == 4
    assert row(board, city.world.district_a).validity is None
