"""The bulletin page and the printed bulletin in a real browser, with screenshots for review
(in $BULLETIN_SHOTS when set, e.g. /tmp/shots/bulletins; else the test's temporary folder).
The PDF's own page is drawn by WeasyPrint; here Chromium renders the same template and base
stylesheet in print mode, which a reviewer can look at without a PDF rasteriser."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from compliance.bulletins.build import build_bulletin
from compliance.bulletins.charts import daily_chart
from compliance.documents.pdf import BASE_CSS
from tests.browser.conftest import login
from tests.compliance.case_support import fast_passwords, local  # noqa: F401
from tests.compliance.test_bulletin_outputs import MONTH, _assessment_rows
from tests.compliance.test_bulletin_support import (
    MOMENT,
    WEEK,
    city_fixture,  # noqa: F401
)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shots(tmp_path) -> Path:  # type: ignore[no-untyped-def]
    folder = Path(os.environ.get("BULLETIN_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_weekly_and_monthly_pages(request, live_server, city, monkeypatch, shots):
    tab = request.getfixturevalue("page")
    # 2 December: November is over, its review can be read.
    monkeypatch.setattr(timezone, "now", lambda: local(2026, 12, 2, 2))
    login(tab, live_server, "district_b", PASSWORD)
    tab.goto(f"{live_server.url}/compliance/bulletins/")
    tab.screenshot(path=shots / "list.png", full_page=True)
    tab.click(f"a[href='/compliance/bulletins/weekly/{WEEK.isoformat()}/']")
    assert "2026年第46周" in tab.locator("h1").inner_text()
    assert tab.locator("svg.bulletin-chart rect").count() == 7
    assert tab.get_by_test_id("cases").locator("tr.below-floor").count() == 2
    tab.screenshot(path=shots / "weekly.png", full_page=True)
    _assessment_rows(city.cast.world)
    tab.goto(f"{live_server.url}/compliance/bulletins/monthly/{MONTH.isoformat()}/")
    assert tab.get_by_test_id("assessment").locator("tbody tr").count() == 3
    tab.screenshot(path=shots / "monthly.png", full_page=True)


def test_printed_bulletin(request, city, shots):
    tab = request.getfixturevalue("page")
    data = build_bulletin("weekly", WEEK, moment=MOMENT)
    html = render_to_string("compliance/bulletins/pdf.html",
                            {"data": data, "chart": daily_chart(data)})
    # A4 landscape at 96 dpi, as the printed page lays out.
    tab.set_viewport_size({"width": 1123, "height": 794})
    tab.emulate_media(media="print")
    tab.set_content(html)
    tab.add_style_tag(content=render_to_string(BASE_CSS))  # WeasyPrint's base stylesheet
    assert tab.locator("h1").inner_text().startswith("2026年第46周")
    tab.screenshot(path=shots / "weekly_print.png", full_page=True)
    assert dt.date(2026, 11, 15).isoformat() in tab.content()
