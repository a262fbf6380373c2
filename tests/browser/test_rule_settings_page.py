"""A bureau supervisor, in a real browser, changes a district's threshold through the form."""

from __future__ import annotations

import pytest

from compliance.models import RuleSetting
from compliance.rule_settings import load_snapshot
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_supervisor_edits_a_district_threshold(page, live_server, world, bureau_user):
    login(page, live_server, "bureau", PASSWORD)
    page.hover(".navmenu-label:has-text('规则')")  # the rules menu opens on hover
    page.click("nav.mainnav >> text=规则参数")
    page.click("[data-rule=overspeed] a.rule-name")

    # Pick district A, all kinds, from the matrix.
    row = page.locator(f"[data-testid=matrix] tr[data-district='{world.district_a.pk}']")
    row.locator("td[data-kind=''] a").click()
    assert page.get_by_test_id("scope-label").inner_text() == "双台子区 · 全部车型"
    assert "沿用" in page.get_by_test_id("source").inner_text()

    page.fill("#id_min_duration_s", "45")
    page.fill("#id_note", "试点延长持续时间")
    page.get_by_test_id("save").click()

    assert "已保存" in page.locator(".messages").inner_text()
    cell = page.locator(f"[data-testid=matrix] tr[data-district='{world.district_a.pk}'] "
                        "td[data-kind='']")
    assert "45 s" in cell.inner_text()
    assert "v1" in page.get_by_test_id("source").inner_text()
    assert "试点延长持续时间" in page.get_by_test_id("history").inner_text()

    row = RuleSetting.objects.get(current=True)
    assert (row.district_id, row.vehicle_kind, row.params["min_duration_s"]) == (
        world.district_a.pk, "", 45)
    snapshot = load_snapshot()
    assert snapshot.resolve("overspeed", world.district_a.pk, "taxi").params[
        "min_duration_s"] == 45
    assert snapshot.resolve("overspeed", world.district_b.pk, "taxi").params[
        "min_duration_s"] == 30


def test_district_user_sees_values_read_only(page, live_server, world, district_a_user):
    login(page, live_server, "district_a", PASSWORD)
    page.click("nav.mainnav >> text=规则参数")
    assert "双台子区" in page.locator("h1").inner_text()
    page.click("[data-rule=fatigue_continuous] a.rule-name")
    assert page.locator("[data-testid=setting-form]").count() == 0
    values = page.get_by_test_id("values").inner_text()
    assert "4 h" in values and "2 h" in values
