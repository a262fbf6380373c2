"""The data-quality page and its export: scope, filters, summary, the .xlsx."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import AuditEvent, User
from compliance.daily_quality import bureau_today
from compliance.models import VehicleDayQuality
from tests import factories
from tests.conftest import PASSWORD

DAY = dt.date(2026, 10, 14)
URL = "/compliance/quality/"


def quality(vehicle, day: dt.date = DAY, **figures) -> VehicleDayQuality:
    values = {"mileage_km": 100.0, "complete_mileage_km": 90.0, "total_fixes": 1000,
              "valid_fixes": 950, "drift_fixes": 0, "online_seconds": 36_000,
              "overspeed_count": 1, "fatigue_seconds": 1800, **figures}
    return VehicleDayQuality.objects.create(
        vehicle=vehicle, day=day, vehicle_kind=vehicle.kind,
        district=vehicle.registered_district, enterprise=vehicle.enterprise, **values)


@pytest.fixture
def rows(world):
    a = quality(world.vehicle_a, mileage_km=100.0, complete_mileage_km=60.0, drift_fixes=3,
                overspeed_count=2, fatigue_seconds=5400)
    b = quality(world.vehicle_b, total_fixes=1000, valid_fixes=700)
    return a, b


def test_bureau_sees_every_district_and_the_total(client_for, bureau_user, rows, world):
    response = client_for(bureau_user).get(URL, {"day": DAY.isoformat()})
    assert response.status_code == 200
    body = response.content.decode()
    assert world.vehicle_a.plate in body and world.vehicle_b.plate in body
    summary = {line.district: line for line in response.context["summary"]}
    assert set(summary) == {world.district_a.name, world.district_b.name}
    a = summary[world.district_a.name]
    assert (a.vehicles, a.drift_vehicles, a.overspeed) == (1, 1, 2)
    assert a.completeness == pytest.approx(0.6) and a.completeness_low
    assert a.fatigue_hours == "1.5"
    b = summary[world.district_b.name]
    assert b.validity == pytest.approx(0.7) and b.validity_low and not b.completeness_low
    total = response.context["total"]
    assert total.vehicles == 2 and total.valid_fixes == 950 + 700
    assert total.completeness == pytest.approx((60 + 90) / 200)


def test_district_b_does_not_see_district_a(client_for, district_b_user, rows, world):
    response = client_for(district_b_user).get(URL, {"day": DAY.isoformat()})
    body = response.content.decode()
    assert world.vehicle_b.plate in body
    assert world.vehicle_a.plate not in body
    assert [line.district for line in response.context["summary"]] == [world.district_b.name]
    assert response.context["total"] is None
    # Asking for district A by its id changes nothing: the choice is not offered.
    response = client_for(district_b_user).get(URL, {"day": DAY.isoformat(),
                                                      "district": world.district_a.pk})
    assert world.vehicle_a.plate not in response.content.decode()


def test_enterprise_officer_sees_own_vehicles(client_for, enterprise_a_user, rows, world):
    body = client_for(enterprise_a_user).get(URL, {"day": DAY.isoformat()}).content.decode()
    assert world.vehicle_a.plate in body and world.vehicle_b.plate not in body


def test_filters_and_sorting(client_for, bureau_user, rows, world):
    hazmat = factories.make_vehicle(world.enterprise_a, kind="hazmat")
    quality(hazmat, mileage_km=0.0, complete_mileage_km=0.0)
    client = client_for(bureau_user)

    def plates(**params) -> list[str]:
        response = client.get(URL, {"day": DAY.isoformat(), **params})
        return [line.row.vehicle.plate for line in response.context["page"]]

    assert plates(kind="hazmat") == [hazmat.plate]
    assert set(plates(enterprise=world.enterprise_b.pk)) == {world.vehicle_b.plate}
    # Five digits: a factory plate (辽L00nnn) may contain any three of them.
    assert plates(plate=world.vehicle_b.plate[-5:]) == [world.vehicle_b.plate]
    # Lowest completeness first; no mileage (no ratio) last.
    assert plates(sort="completeness") == [world.vehicle_a.plate, world.vehicle_b.plate,
                                           hazmat.plate]
    assert plates(sort="validity")[0] == world.vehicle_b.plate
    # The summary follows the filters.
    response = client.get(URL, {"day": DAY.isoformat(), "kind": "hazmat"})
    assert [line.vehicles for line in response.context["summary"]] == [1]


def test_default_day_is_yesterday(client_for, bureau_user, world):
    yesterday = bureau_today() - dt.timedelta(days=1)
    quality(world.vehicle_a, day=yesterday)
    response = client_for(bureau_user).get(URL)
    assert response.context["day"] == yesterday
    assert world.vehicle_a.plate in response.content.decode()
    assert response.context["next_day"] == bureau_today().isoformat()


def test_a_day_without_figures_says_so(client_for, bureau_user, world):
    response = client_for(bureau_user).get(URL, {"day": "2026-01-01"})
    assert response.status_code == 200 and not response.context["computed"]
    assert response.context["page"].paginator.count == 0


def test_pagination(client_for, bureau_user, world):
    for _n in range(55):
        quality(factories.make_vehicle(world.enterprise_a))
    client = client_for(bureau_user)
    first = client.get(URL, {"day": DAY.isoformat()})
    assert len(first.context["page"].object_list) == 50
    second = client.get(URL, {"day": DAY.isoformat(), "page": 2})
    assert len(second.context["page"].object_list) == 5


def test_export_opens_with_openpyxl(client_for, district_b_user, rows, world):
    response = client_for(district_b_user).get(reverse("compliance:quality_export"),
                                               {"day": DAY.isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:2] == ("日期", "车牌号码")
    assert len(values) == 2  # the heading and district B's one vehicle
    line = values[1]
    assert line[1] == world.vehicle_b.plate
    assert line[0].date() == DAY
    assert line[10] == pytest.approx(0.7)  # data validity, as a fraction formatted as %
    assert world.vehicle_a.plate not in {row[1] for row in values}
    assert AuditEvent.objects.filter(action="quality_export", actor=district_b_user).exists()


def test_export_follows_the_filters(client_for, bureau_user, rows, world):
    response = client_for(bureau_user).get(reverse("compliance:quality_export"),
                                           {"day": DAY.isoformat(),
                                            "enterprise": world.enterprise_a.pk})
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    plates = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert plates == [world.vehicle_a.plate]


def test_capabilities(client, world, client_for):
    assert client.get(URL).status_code == 302  # to the login page
    desk = User.objects.create_user(username="desk", password=PASSWORD, level="bureau",
                                    role="desk_operator")
    assert client_for(desk).get(URL).status_code == 403
    field = User.objects.create_user(username="field", password=PASSWORD, level="bureau",
                                     role="field_officer")
    page = client_for(field).get(URL)
    assert page.status_code == 200 and not page.context["can_export"]
    assert client_for(field).get(reverse("compliance:quality_export")).status_code == 403


def test_navigation_entry(client_for, bureau_user, world):
    body = client_for(bureau_user).get("/").content.decode()
    assert f'href="{URL}"' in body
