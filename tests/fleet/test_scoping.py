"""The scoping matrix: bureau, district A, district B and enterprise A users on every list,
detail and API view of the registry. Out of scope is always a 404, never a 403 or a leak."""

from __future__ import annotations

import pytest
from django.urls import reverse

from fleet.models import Certificate, Driver, DriverVehicleBinding, Terminal, Waybill
from tests import factories


@pytest.fixture
def populated(world):
    """Give each district a driver, certificate, terminal, binding and waybill."""
    objects = {}
    for side, enterprise, vehicle in (("a", world.enterprise_a, world.vehicle_a),
                                      ("b", world.enterprise_b, world.vehicle_b)):
        driver = factories.make_driver(enterprise, name=f"驾驶员{side.upper()}")
        objects[side] = {
            "enterprise": enterprise,
            "vehicle": vehicle,
            "driver": driver,
            "certificate": factories.make_certificate(driver),
            "terminal": factories.make_terminal(vehicle),
            "binding": DriverVehicleBinding.objects.create(
                driver=driver, vehicle=vehicle, source="roster",
                valid_from="2026-01-01T00:00:00+08:00"),
            "waybill": Waybill.objects.create(
                number=f"WB-{side}", vehicle=vehicle, shipper="s", consignee="c",
                origin_name="o", destination_name="d",
                planned_start="2026-11-21T08:00:00+08:00",
                planned_end="2026-11-21T12:00:00+08:00"),
        }
    return objects


PAGES = [("fleet:vehicle_detail", "vehicle"), ("fleet:enterprise_detail", "enterprise"),
         ("fleet:driver_detail", "driver"), ("fleet:waybill_detail", "waybill")]
API = [("vehicle", "vehicle"), ("enterprise", "enterprise"), ("driver", "driver"),
       ("certificate", "certificate"), ("terminal", "terminal"), ("binding", "binding"),
       ("waybill", "waybill")]

# (user fixture, which sides it may see)
MATRIX = [("bureau_user", {"a", "b"}), ("district_a_user", {"a"}), ("district_b_user", {"b"}),
          ("enterprise_a_user", {"a"})]


@pytest.mark.parametrize(("user_fixture", "visible"), MATRIX)
@pytest.mark.parametrize(("url_name", "key"), PAGES)
def test_detail_pages(request, populated, client_for, user_fixture, visible, url_name, key):
    client = client_for(request.getfixturevalue(user_fixture))
    for side in ("a", "b"):
        response = client.get(reverse(url_name, args=[populated[side][key].pk]))
        assert response.status_code == (200 if side in visible else 404), (side, url_name)


@pytest.mark.parametrize(("user_fixture", "visible"), MATRIX)
@pytest.mark.parametrize(("url_name", "marker"), [
    ("fleet:vehicle_list", "vehicle"), ("fleet:enterprise_list", "enterprise"),
    ("fleet:driver_list", "driver"), ("fleet:waybill_list", "waybill"),
    ("fleet:terminal_list", "terminal")])
def test_list_pages(request, populated, client_for, user_fixture, visible, url_name, marker):
    client = client_for(request.getfixturevalue(user_fixture))
    body = client.get(reverse(url_name)).content.decode()
    labels = {
        "vehicle": lambda o: o.plate, "enterprise": lambda o: o.name,
        "driver": lambda o: o.name, "waybill": lambda o: o.number,
        "terminal": lambda o: o.sim_number,
    }
    for side in ("a", "b"):
        label = labels[marker](populated[side][marker])
        assert (label in body) == (side in visible), (side, url_name)


@pytest.mark.parametrize(("user_fixture", "visible"), MATRIX)
@pytest.mark.parametrize(("basename", "key"), API)
def test_api(request, populated, client_for, user_fixture, visible, basename, key):
    client = client_for(request.getfixturevalue(user_fixture))
    listed = client.get(reverse(f"{basename}-list")).json()
    listed_ids = {row["id"] for row in listed["results"]}
    for side in ("a", "b"):
        pk = populated[side][key].pk
        assert (pk in listed_ids) == (side in visible), (side, basename)
        detail = client.get(reverse(f"{basename}-detail", args=[pk]))
        assert detail.status_code == (200 if side in visible else 404), (side, basename)


def test_api_districts_scoped(world, client_for, district_a_user, bureau_user):
    codes = {d["code"] for d in client_for(district_a_user).get("/api/v1/districts/").json()[
        "results"]}
    assert codes == {"211102"}
    codes = {d["code"] for d in client_for(bureau_user).get("/api/v1/districts/").json()[
        "results"]}
    assert codes == {"211102", "211103"}


def test_anonymous_gets_nothing(populated, client):
    assert client.get("/api/v1/vehicles/").status_code in (401, 403)
    response = client.get(reverse("fleet:vehicle_list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_token_auth(populated, district_b_user, client):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=district_b_user)
    response = client.get("/api/v1/vehicles/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert [row["plate"] for row in response.json()["results"]] == ["辽L20002"]


def test_district_user_without_districts_sees_nothing(populated, client_for):
    from accounts.models import User

    user = User.objects.create_user("orphan", password="x", level="district",
                                    role="district_operator")
    assert client_for(user).get("/api/v1/vehicles/").json()["count"] == 0


def test_personal_data_masked_for_roles_without_it(populated, client_for):
    from accounts.models import User

    desk = User.objects.create_user("desk", password="x", level="bureau", role="desk_operator")
    driver = populated["a"]["driver"]
    row = client_for(desk).get(f"/api/v1/drivers/{driver.pk}/").json()
    assert row["id_number"] == driver.masked_id_number != driver.id_number
    page = client_for(desk).get(reverse("fleet:driver_detail", args=[driver.pk])).content.decode()
    assert driver.id_number not in page and driver.masked_id_number in page


def test_api_never_serves_terminal_auth_code(populated, client_for, bureau_user):
    terminal = populated["a"]["terminal"]
    row = client_for(bureau_user).get(f"/api/v1/terminals/{terminal.pk}/").json()
    assert "auth_code" not in row and terminal.auth_code not in str(row)


def test_counts(populated):
    assert Driver.objects.count() == 2 and Certificate.objects.count() == 2
    assert Terminal.objects.count() == 2


def test_list_queries_do_not_grow_with_rows(populated, client_for, bureau_user,
                                            django_assert_max_num_queries):
    client = client_for(bureau_user)
    for n in range(30):
        factories.make_vehicle(populated["a"]["enterprise"], plate_number=f"辽L3{n:04d}")
    with django_assert_max_num_queries(12):
        client.get(reverse("fleet:vehicle_list"))
