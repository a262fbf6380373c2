"""The dashboard in a real browser, under daphne: the figures, the map drawing the district's
vehicles from the live map's snapshot and websocket, a violation published to the alert feed
appearing live, and the figures refreshing from figures.json without a reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from fleet.models import VehicleState
from tests import factories
from tests.browser.test_alert_feed import publish
from tests.browser.test_live_map import asgi_server  # noqa: F401 - the daphne fixture
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/shots/dashboard")


def place(vehicle, lon: float, lat: float, *, online: bool = True) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    VehicleState.objects.create(vehicle=vehicle, fix_time=now, received_at=now, online=online,
                                location=Point(lon, lat, srid=4326), speed_kmh=32.0)


def test_dashboard_is_live(page, asgi_server, world, district_a_user):  # noqa: F811
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    parked = factories.make_vehicle(world.enterprise_a, kind="bus")
    place(world.vehicle_a, 122.03, 41.13)
    place(parked, 122.06, 41.16, online=False)
    place(world.vehicle_b, 122.13, 41.13)  # district B: never on A's map
    earlier = factories.make_violation(world.vehicle_a, rule="dsm_phone",
                                       started_at=timezone.now())

    page.goto(f"{asgi_server}/accounts/login/")
    page.fill("#id_username", district_a_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{asgi_server}/")
    page.wait_for_selector("[data-live-status].live-ok")  # the map's websocket
    page.wait_for_selector("[data-alert-status].live-ok")  # the alert feed's

    figures = page.locator("[data-testid=dashboard-figures]")
    assert figures.locator("[data-dash=vehicles_online]").inner_text() == "1"
    assert figures.locator("[data-dash=vehicles_total]").inner_text() == "2"
    assert figures.locator("[data-dash=online_rate]").inner_text() == "50.0%"
    assert figures.locator("[data-dash=violations_today]").inner_text() == "1"
    assert "接打手机" in figures.inner_text()
    table = page.locator("[data-testid=dashboard-districts]")
    assert "双台子区" in table.inner_text() and "兴隆台区" not in table.inner_text()

    # The map holds the district's vehicles (offline ones too, in grey) and draws them.
    assert page.evaluate("() => [...FleetLive.vehicles.keys()].sort((a, b) => a - b)") == sorted(
        [world.vehicle_a.pk, parked.pk])
    page.wait_for_function("() => document.querySelector('[data-live-status]').dataset.shown"
                           " === '2'")
    assert page.locator("#dash-map canvas").count() >= 1

    items = page.locator("[data-alert-list] > li")
    assert items.count() == 1 and items.first.get_attribute("data-alert-id") == str(earlier.pk)
    elsewhere = factories.make_violation(world.vehicle_b, started_at=timezone.now())
    fresh = factories.make_violation(world.vehicle_a, rule="overspeed", started_at=timezone.now())
    publish([elsewhere.pk])
    publish([fresh.pk])
    page.wait_for_selector(f"[data-alert-list] > li[data-alert-id='{fresh.pk}']")
    assert [items.nth(i).get_attribute("data-alert-id") for i in range(items.count())] == [
        str(fresh.pk), str(earlier.pk)]

    # The figures follow without reloading the page (the timer calls the same function).
    page.evaluate("() => FleetDashboard.refresh()")
    page.wait_for_function("() => document.querySelector('[data-dash-figures] "
                           "[data-dash=violations_today]').textContent === '2'")
    row = table.locator(f"[data-dash-row='{world.district_a.pk}']")
    assert row.locator("[data-dash=violations_today]").inner_text() == "2"
    assert "超速" in figures.locator("[data-dash-rules]").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "browser_test_district_a.png"), full_page=True)
    assert errors == []
