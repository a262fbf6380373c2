"""A new violation appears at the top of the alert feed in a real browser, pushed through the
real channel layer to the portal running under daphne."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from compliance.live import publish_new_violations
from tests import factories
from tests.browser.test_live_map import asgi_server  # noqa: F401 - the daphne fixture
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def publish(ids: list[int]) -> None:
    """As the pipeline worker does, from a thread of its own (Playwright's loop owns this one)."""

    def run() -> None:
        from django.db import connection

        try:
            publish_new_violations(ids)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result(timeout=30)


def test_new_violation_appears_at_the_top(page, asgi_server, world,  # noqa: F811
                                          district_a_user):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    earlier = factories.make_violation(world.vehicle_a, rule="dsm_phone")

    page.goto(f"{asgi_server}/accounts/login/")
    page.fill("#id_username", district_a_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{asgi_server}/")
    page.goto(f"{asgi_server}/compliance/alerts/")
    page.wait_for_selector("[data-alert-status].live-ok")  # websocket connected
    items = page.locator("[data-alert-list] > li")
    assert items.count() == 1
    assert items.first.get_attribute("data-alert-id") == str(earlier.pk)
    page.check("[data-alert-sound]")  # the beep must not break anything

    elsewhere = factories.make_violation(world.vehicle_b)  # district B: not for this user
    fresh = factories.make_violation(world.vehicle_a, rule="overspeed")
    publish([elsewhere.pk])
    publish([fresh.pk])
    page.wait_for_selector(f"[data-alert-list] > li[data-alert-id='{fresh.pk}']")
    assert [items.nth(i).get_attribute("data-alert-id") for i in range(items.count())] == [
        str(fresh.pk), str(earlier.pk)]
    first = items.first
    assert "fresh" in (first.get_attribute("class") or "")
    assert "超速" in first.inner_text() and "辽L10001" in first.inner_text()
    assert first.locator("a").get_attribute("href") == f"/compliance/violations/{fresh.pk}/"

    # Filters apply in the browser, to what was loaded and what arrived alike.
    page.select_option("[data-alert-filter=rule]", "dsm_phone")
    assert not first.is_visible()
    assert items.nth(1).is_visible()
    assert errors == []
