"""Coach lines and the vehicle → line fields: validation, the night-ban exemption rule, scoping,
the API, the vehicle page and the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.urls import reverse

from fleet.models import CoachLine, Vehicle
from fleet.models.geography import ZoneKind, may_be_night_ban_exempt
from tests import factories
from tests.fleet.data.lines import make_bus_line, make_coach_line, route

pytestmark = pytest.mark.django_db


def _coach_line(world, **fields) -> CoachLine:
    values = {"number": "KY900", "name": "盘锦—北京", "enterprise": world.enterprise_a,
              "district": world.district_a, "route": route(), "one_way_km": Decimal("530"),
              "service_type": "regular"}
    values.update(fields)
    return CoachLine(**values)


# --- the night-ban exemption (RULES.md §2a) ----------------------------------------------------

@pytest.mark.parametrize(("service_type", "km", "allowed"), [
    ("regular", "200", True),  # one-way ≤ 200 km
    ("regular", "200.1", False),
    ("charter", "530", False),
    ("tourism", "80", True),
    ("relay", "530", True),  # relay and shuttle lines whatever their length
    ("airport_shuttle", "300", True),
    ("rail_shuttle", "999", True),
])
def test_which_lines_may_be_exempt(service_type, km, allowed):
    assert may_be_night_ban_exempt(service_type, Decimal(km)) is allowed


def test_exempt_refused_for_a_long_regular_line(world):
    line = _coach_line(world, night_ban_exempt=True)
    with pytest.raises(ValidationError) as exc:
        line.full_clean()
    message = exc.value.message_dict["night_ban_exempt"][0]
    assert "200公里" in message and "530" in message and "班线客运" in message


def test_exempt_accepted_for_qualifying_lines(world):
    _coach_line(world, night_ban_exempt=True, one_way_km=Decimal("150")).full_clean()
    _coach_line(world, night_ban_exempt=True, service_type="relay").full_clean()
    # Not exempt is always allowed: the bureau decides, qualifying is not enough.
    _coach_line(world, one_way_km=Decimal("90")).full_clean()


def test_exempt_with_no_distance_reports_the_distance_only(world):
    line = _coach_line(world, night_ban_exempt=True, one_way_km=None)
    with pytest.raises(ValidationError) as exc:
        line.full_clean()
    assert set(exc.value.message_dict) == {"one_way_km"}


def test_hazmat_parking_is_a_zone_kind():
    assert ZoneKind.HAZMAT_PARKING == "hazmat_parking"
    assert ZoneKind.HAZMAT_PARKING.label == "危险品车辆停车场"


# --- vehicle → line ----------------------------------------------------------------------------

def test_lines_only_on_their_own_kind(world):
    bus_line = make_bus_line(world.enterprise_a)
    coach_line = make_coach_line(world.enterprise_a)
    taxi = world.vehicle_a
    taxi.bus_line, taxi.coach_line = bus_line, coach_line
    with pytest.raises(ValidationError) as exc:
        taxi.full_clean()
    assert {"bus_line", "coach_line"} <= set(exc.value.message_dict)

    bus = factories.make_vehicle(world.enterprise_a, kind="bus")
    bus.coach_line = coach_line
    with pytest.raises(ValidationError) as exc:
        bus.full_clean()
    assert set(exc.value.message_dict) == {"coach_line"}
    bus.coach_line, bus.bus_line = None, bus_line
    bus.full_clean()

    coach = factories.make_vehicle(world.enterprise_a, kind="coach")
    coach.bus_line = bus_line
    with pytest.raises(ValidationError) as exc:
        coach.full_clean()
    assert set(exc.value.message_dict) == {"bus_line"}
    coach.bus_line, coach.coach_line = None, coach_line
    coach.full_clean()
    coach.coach_line = None
    coach.full_clean()  # a charter coach has no line


def test_a_line_in_use_cannot_be_deleted(world):
    line = make_coach_line(world.enterprise_a)
    coach = factories.make_vehicle(world.enterprise_a, kind="coach")
    Vehicle.objects.filter(pk=coach.pk).update(coach_line=line)
    with pytest.raises(ProtectedError):
        line.delete()


# --- scoping -----------------------------------------------------------------------------------

@pytest.fixture
def lines(world) -> dict[str, CoachLine]:
    return {"a": make_coach_line(world.enterprise_a, world.district_a),
            "b": make_coach_line(world.enterprise_b, world.district_b),
            # Run by A's enterprise, supervised by district B.
            "a_in_b": make_coach_line(world.enterprise_a, world.district_b)}


def test_district_users_see_their_districts_coach_lines(lines, district_a_user, district_b_user,
                                                        bureau_user, enterprise_a_user):
    def seen(user) -> set[str]:
        return set(CoachLine.objects.visible_to(user).values_list("number", flat=True))

    numbers = {key: line.number for key, line in lines.items()}
    assert seen(bureau_user) == set(numbers.values())
    assert seen(district_a_user) == {numbers["a"]}
    assert seen(district_b_user) == {numbers["b"], numbers["a_in_b"]}
    assert seen(enterprise_a_user) == {numbers["a"], numbers["a_in_b"]}
    assert seen(None) == set()


# --- API, page, admin --------------------------------------------------------------------------

def test_vehicle_api_gives_the_lines(world, bureau_user, client_for):
    coach = factories.make_vehicle(world.enterprise_a, kind="coach")
    Vehicle.objects.filter(pk=coach.pk).update(
        coach_line=make_coach_line(world.enterprise_a, number="KY777", service_type="relay",
                                   exempt=True))
    bus = factories.make_vehicle(world.enterprise_a, kind="bus")
    Vehicle.objects.filter(pk=bus.pk).update(bus_line=make_bus_line(world.enterprise_a,
                                                                    number="12"))
    client = client_for(bureau_user)
    row = client.get(f"/api/v1/vehicles/{coach.pk}/").json()
    assert (row["coach_line_number"], row["night_ban_exempt"], row["bus_line"]) == (
        "KY777", True, None)
    row = client.get(f"/api/v1/vehicles/{bus.pk}/").json()
    assert (row["bus_line_number"], row["coach_line_number"], row["night_ban_exempt"]) == (
        "12", None, False)
    listed = client.get("/api/v1/vehicles/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert {r["plate"]: r["coach_line_number"] for r in rows}[coach.plate] == "KY777"


def test_vehicle_page_shows_the_line(world, bureau_user, client_for):
    coach = factories.make_vehicle(world.enterprise_a, kind="coach")
    Vehicle.objects.filter(pk=coach.pk).update(coach_line=make_coach_line(
        world.enterprise_a, number="KY778", one_way_km="120", exempt=True))
    charter = factories.make_vehicle(world.enterprise_a, kind="coach")
    bus = factories.make_vehicle(world.enterprise_a, kind="bus")
    Vehicle.objects.filter(pk=bus.pk).update(bus_line=make_bus_line(world.enterprise_a,
                                                                    number="23"))
    client = client_for(bureau_user)
    page = client.get(reverse("fleet:vehicle_detail", args=[coach.pk])).content.decode()
    assert "KY778" in page and "豁免夜间禁行" in page and "单程 120.0 公里" in page
    page = client.get(reverse("fleet:vehicle_detail", args=[charter.pk])).content.decode()
    assert 'data-testid="coach-line"' in page and "02:00–05:00 禁行" in page
    page = client.get(reverse("fleet:vehicle_detail", args=[bus.pk])).content.decode()
    assert "23路" in page and 'data-testid="bus-line"' in page
    page = client.get(reverse("fleet:vehicle_detail",
                              args=[world.vehicle_a.pk])).content.decode()
    assert 'data-testid="bus-line"' not in page and 'data-testid="coach-line"' not in page


def test_admin_pages_for_coach_lines(world, admin_client):
    line = make_coach_line(world.enterprise_a)
    assert admin_client.get("/admin/fleet/coachline/").status_code == 200
    assert admin_client.get(f"/admin/fleet/coachline/{line.pk}/change/").status_code == 200
    assert admin_client.get("/admin/fleet/coachline/add/").status_code == 200
    assert admin_client.get(f"/admin/fleet/vehicle/{world.vehicle_a.pk}/change/"
                            ).status_code == 200
