"""Bulletin pages: who reads them (city-wide for districts), downloads, "generate now", queries."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from accounts.models import AuditEvent
from tests.compliance.case_support import fast_passwords, make_user  # noqa: F401
from tests.compliance.test_bulletin_support import WEEK, city_fixture  # noqa: F401

LIST = "/compliance/bulletins/"
PAGE = f"/compliance/bulletins/weekly/{WEEK.isoformat()}/"


def test_bureau_reads_the_bulletin_page(client_for, city, django_assert_max_num_queries):
    client = client_for(city.cast.bureau)
    with django_assert_max_num_queries(24):
        response = client.get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert "2026年第46周" in body and "<svg" in body and "辽L10001" in body
    data = response.context["data"]
    assert data.headline.violations.current == 4
    assert 'data-testid="preview"' in body  # not published: a live preview
    assert response.context["can_publish"] and 'data-testid="publish"' in body


def test_district_reads_the_whole_city(client_for, city):
    """A bulletin is circulated city-wide: district B sees district A's figures too."""
    response = client_for(city.cast.op_b).get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert "双台子区" in body and "辽L10001" in body
    assert not response.context["can_publish"]


def test_enterprise_officer_does_not_read_bulletins(client_for, city):
    client = client_for(city.cast.enterprise_a)
    for url in (LIST, PAGE, PAGE + "pdf/", PAGE + "xlsx/"):
        assert client.get(url).status_code == 403, url


def test_anonymous_is_sent_to_login(client):
    assert client.get(LIST).status_code == 302


@pytest.mark.parametrize("url", ["/compliance/bulletins/weekly/2026-11-10/",  # not a Monday
                                 "/compliance/bulletins/weekly/2026-13-01/",
                                 "/compliance/bulletins/daily/2026-11-09/",
                                 "/compliance/bulletins/monthly/2026-11-02/",
                                 "/compliance/bulletins/weekly/2026-11-30/"])  # not over
def test_unknown_periods_are_404(client_for, city, url):
    assert client_for(city.cast.bureau).get(url).status_code == 404


def test_list_shows_recent_periods(client_for, city, django_assert_max_num_queries):
    client = client_for(city.cast.op_a)
    with django_assert_max_num_queries(6):
        response = client.get(LIST)
    assert response.status_code == 200
    body = response.content.decode()
    assert PAGE in body  # the clock is at 2026-11-30: week 46 is among the last twelve
    assert "/compliance/bulletins/monthly/2026-10-01/" in body


def test_downloads(client_for, city):
    client = client_for(city.cast.op_a)
    response = client.get(PAGE + "xlsx/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book["主要指标"]["B2"].value == 4
    response = client.get(PAGE + "pdf/")
    assert response["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "周通报" in text
    assert AuditEvent.objects.filter(action="bulletin_download").count() == 2


def test_generate_now_is_for_bureau_supervisors_only(client_for, city):
    analyst = city.cast.analyst
    for user in (city.cast.op_a, analyst):
        response = client_for(user).post("/compliance/bulletins/publish/",
                                         {"kind": "weekly", "start": WEEK.isoformat()})
        assert response.status_code == 403


def test_generate_now_refuses_bad_periods(client_for, city):
    response = client_for(city.cast.bureau).post(
        "/compliance/bulletins/publish/", {"kind": "weekly", "start": "2026-11-10"})
    assert response.status_code == 404


def test_menu_entry(client_for, city):
    body = client_for(city.cast.op_a).get(LIST).content.decode()
    assert 'href="/compliance/bulletins/"' in body
    body = client_for(city.cast.enterprise_a).get("/").content.decode()
    assert 'href="/compliance/bulletins/"' not in body
