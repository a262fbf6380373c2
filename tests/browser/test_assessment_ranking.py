"""The assessment pages in a real browser (Debian's Chromium through Playwright): the district
ranking with the case KPIs, the enterprise ranking with risk badges, a unit's trend chart.
Screenshots go to SCREENSHOTS_DIR/kpis when it is set."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from compliance.assessment.rollup import compute_month
from tests.compliance.case_support import fast_passwords  # noqa: F401
from tests.compliance.test_assessment_data import AS_OF, OCTOBER, build_month
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Screenshots: in SCREENSHOTS_DIR/kpis when set (to look at them), else the test's tmp."""
    folder = Path(os.environ["SCREENSHOTS_DIR"]) / "kpis" if os.environ.get(
        "SCREENSHOTS_DIR") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_ranking_in_browser(page, live_server, world, bureau_user, district_a_user,
                            district_b_user, enterprise_a_user,
                            monkeypatch, shots) -> None:  # type: ignore[no-untyped-def]
    data = build_month(world, bureau_user, district_a_user, district_b_user, enterprise_a_user,
                       monkeypatch)
    monkeypatch.undo()  # the real clock again: the login cookie must not be born expired
    for first in (dt.date(2026, 8, 1), dt.date(2026, 9, 1), OCTOBER):
        compute_month(first, as_of=AS_OF)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", bureau_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.click("text=考评通报")
    page.click("text=月度考评")
    page.fill("input[name=month]", "2026-10")
    page.click("[data-testid=filters] button[type=submit]")
    ranking = page.locator("[data-testid=ranking]")
    assert "82.15" in ranking.inner_text() and "50.0%" in ranking.inner_text()
    page.screenshot(path=str(shots / "ranking_districts.png"), full_page=True)

    page.click("[data-testid=unit-tabs] >> text=运输企业")
    assert page.locator("[data-testid=risk]").count() == 3
    page.screenshot(path=str(shots / "ranking_enterprises.png"), full_page=True)
    page.select_option("select[name=grade]", "high")
    page.click("[data-testid=filters] button[type=submit]")
    assert page.locator("[data-testid=ranking] tbody tr").count() == 1

    page.goto(f"{live_server.url}/compliance/assessment/district/{world.district_a.pk}/"
              "?month=2026-10")
    assert page.locator("[data-testid=trend] circle").count() >= 2
    page.screenshot(path=str(shots / "unit_district.png"), full_page=True)
    page.goto(f"{live_server.url}/compliance/assessment/enterprise/{data.e1.pk}/?month=2026-10")
    assert "51.12" in page.locator("[data-testid=summary]").inner_text()
    page.screenshot(path=str(shots / "unit_enterprise.png"), full_page=True)
    assert errors == []
