"""A district user, in a real browser, sees only its own district's vehicles."""

from __future__ import annotations

import pytest

from tests import factories
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_district_user_sees_only_own_vehicles(page, live_server, world, district_a_user):
    for n in range(3):
        factories.make_vehicle(world.enterprise_b, plate_number=f"辽L3{n:04d}")
    factories.make_vehicle(world.enterprise_a, plate_number="辽L19999")

    login(page, live_server, "district_a", PASSWORD)
    page.goto(f"{live_server.url}/?view=registry")  # the registry overview (home: dashboard)
    assert page.get_by_test_id("vehicle-total").inner_text() == "2"

    page.hover(".navmenu-label:has-text('登记')")  # the registry menu opens on hover
    page.click("nav.mainnav >> text=车辆")
    rows = page.locator("[data-testid=results] tbody tr")
    plates = sorted(rows.locator("a.plate").all_inner_texts())
    assert plates == ["辽L10001", "辽L19999"]
    assert "辽L20002" not in page.content()

    # Searching for another district's plate finds nothing.
    page.fill("input[name=q]", "辽L3")
    page.click("[data-testid=filters] button[type=submit]")
    assert page.locator("td.empty").count() == 1

    # Typing the URL of another district's vehicle is a 404.
    response = page.goto(f"{live_server.url}/fleet/vehicles/{world.vehicle_b.pk}/")
    assert response.status == 404
    response = page.goto(f"{live_server.url}/api/v1/vehicles/{world.vehicle_b.pk}/")
    assert response.status == 404


def test_vehicle_page_draws_the_district_map(page, live_server, world, district_a_user):
    login(page, live_server, "district_a", PASSWORD)
    page.goto(f"{live_server.url}/fleet/vehicles/{world.vehicle_a.pk}/")
    page.wait_for_selector("[data-testid=vehicle-map] path.leaflet-interactive")
    # The district boundary is drawn as a vector path (no tile server needed).
    assert page.locator("[data-testid=vehicle-map] path.leaflet-interactive").count() >= 1
    assert page.locator(".leaflet-tile").count() == 0
