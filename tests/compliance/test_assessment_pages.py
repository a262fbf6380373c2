"""Assessment pages, API and selectors: scoping (404 out of scope), query counts, filters."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.urls import reverse

from accounts.models import User
from compliance.assessment import selectors
from compliance.assessment.rollup import compute_month
from tests.compliance.case_support import fast_passwords  # noqa: F401
from tests.compliance.test_assessment_data import AS_OF, OCTOBER, build_month
from tests.conftest import PASSWORD


@pytest.fixture
def month(world, bureau_user, district_a_user, district_b_user, enterprise_a_user,
          monkeypatch):  # type: ignore[no-untyped-def]
    data = build_month(world, bureau_user, district_a_user, district_b_user,
                       enterprise_a_user, monkeypatch)
    compute_month(OCTOBER, as_of=AS_OF)
    return data


def officer_of(enterprise) -> User:  # type: ignore[no-untyped-def]
    return User.objects.create_user(username=f"officer{enterprise.pk}", password=PASSWORD,
                                    level="enterprise", role="enterprise_officer",
                                    enterprise=enterprise)


def test_selectors_scope(month, bureau_user, district_a_user, district_b_user,
                         enterprise_a_user) -> None:  # type: ignore[no-untyped-def]
    def names(user: User, unit: str) -> list[str]:
        return [row.unit_name for row in selectors.monthly_scores(user, month=OCTOBER,
                                                                   unit=unit)]

    assert names(bureau_user, "district") == ["双台子区", "兴隆台区"]  # by rank; 大洼区 unranked
    assert names(bureau_user, "enterprise") == ["客运公司", "危货一公司", "危货三公司"]
    assert names(district_a_user, "district") == ["双台子区"]
    assert names(district_a_user, "enterprise") == ["客运公司", "危货一公司"]
    assert names(district_b_user, "enterprise") == ["危货三公司"]
    # The taxi company's officer: its enterprise is not assessed; sees no district either.
    assert names(enterprise_a_user, "enterprise") == [] == names(enterprise_a_user, "district")
    officer = officer_of(month.e1)
    assert names(officer, "enterprise") == ["危货一公司"]
    row = selectors.monthly_scores(officer, month=OCTOBER, unit="enterprise")[0]
    assert (row.rank, row.total, row.risk_grade) == (2, 51.12, "medium")  # the city's rank
    assert row.kpis["access"] == selectors.KpiValue(value=0.75, score=0.0)
    assert [row.district_name for row in selectors.case_kpis(district_b_user, month=OCTOBER)] \
        == ["兴隆台区"]
    assert selectors.case_kpis(officer, month=OCTOBER) == []
    with pytest.raises(Http404):
        selectors.score_trend(district_b_user, unit="enterprise", unit_id=month.e1.pk,
                              until=OCTOBER)
    with pytest.raises(Http404):
        selectors.score_trend(officer, unit="district", unit_id=month.world.district_a.pk,
                              until=OCTOBER)
    assert list(selectors.KPI_LABELS) == ["access", "online", "completeness", "validity",
                                          "drift", "overspeed", "fatigue", "checkpost"]


def test_ranking_pages(month, client_for, bureau_user,
                       django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = client_for(bureau_user)
    url = reverse("compliance:assessment")
    with django_assert_max_num_queries(8):
        page = client.get(url, {"month": "2026-10"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "双台子区" in html and "82.15" in html and "50.0%" in html  # handling rate flagged
    assert "below-floor" in html and "大洼区" in html  # unranked district's case KPIs
    with django_assert_max_num_queries(8):
        page = client.get(url, {"month": "2026-10", "unit": "enterprise"})
    html = page.content.decode()
    assert html.index("客运公司") < html.index("危货一公司") < html.index("危货三公司")
    assert "risk-high" in html and "risk-medium" in html and "risk-low" in html
    page = client.get(reverse("compliance:assessment_risk"), {"month": "2026-10",
                                                               "grade": "high"})
    html = page.content.decode()
    assert "危货三公司" in html and "危货一公司" not in html
    # Bad input reads as the default month, never an error.
    assert client.get(url, {"month": "2026-13", "unit": "nonsense"}).status_code == 200


def test_unit_pages_and_scope(month, client_for, bureau_user, district_a_user,
                              district_b_user,
                              django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    district_url = reverse("compliance:assessment_unit", args=["district",
                                                               month.world.district_a.pk])
    enterprise_url = reverse("compliance:assessment_unit", args=["enterprise", month.e1.pk])
    client = client_for(bureau_user)
    with django_assert_max_num_queries(9):
        page = client.get(district_url, {"month": "2026-10"})
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "<polyline" not in html  # one month
    assert "82.15" in html and "危货一公司" in html
    page = client_for(district_a_user).get(enterprise_url, {"month": "2026-10"})
    assert page.status_code == 200 and "51.12" in page.content.decode()
    # District B sees nothing of district A: 404 on both pages; an officer on its own only.
    assert client_for(district_b_user).get(district_url).status_code == 404
    assert client_for(district_b_user).get(enterprise_url).status_code == 404
    officer = officer_of(month.e1)
    assert client_for(officer).get(enterprise_url, {"month": "2026-10"}).status_code == 200
    assert client_for(officer).get(district_url).status_code == 404
    other = reverse("compliance:assessment_unit", args=["enterprise", month.e3.pk])
    assert client_for(officer).get(other).status_code == 404
    bad = reverse("compliance:assessment_unit", args=["nonsense", 1])
    assert client_for(bureau_user).get(bad).status_code == 404
    missing = reverse("compliance:assessment_unit", args=["enterprise", 999999])
    assert client_for(bureau_user).get(missing).status_code == 404


def test_trend_line_over_months(month, client_for, bureau_user) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    compute_month(dt.date(2026, 9, 1), as_of=AS_OF)
    url = reverse("compliance:assessment_unit", args=["enterprise", month.e1.pk])
    html = client_for(bureau_user).get(url, {"month": "2026-10"}).content.decode()
    assert html.count("<polyline") == 1 and html.count("<circle") == 2


def test_api(month, client_for, bureau_user, district_b_user,
             django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    client = client_for(bureau_user)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/assessments/", {"month": "2026-10", "unit": "district"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["unit_name"], r["rank"], r["total"]) for r in results] == [
        ("双台子区", 1, 82.15), ("兴隆台区", 2, 25.0), ("大洼区", None, None)]
    assert results[0]["kpis"]["online"] == {"value": 0.8, "score": 8.0}
    assert results[0]["cases"]["received"] == 4 and results[0]["cases"]["below_floor"] is True
    own = client_for(district_b_user).get("/api/v1/assessments/", {"unit": "enterprise"})
    assert [r["unit_name"] for r in own.json()["results"]] == ["危货三公司"]
    a_row = results[0]["id"]
    assert client_for(district_b_user).get(f"/api/v1/assessments/{a_row}/").status_code == 404
    assert client.get("/api/v1/assessments/", {"month": "10-2026"}).status_code == 400
    assert client.get("/api/v1/assessments/", {"unit": "city"}).status_code == 400


def test_navigation_shows_assessment(month, client_for, district_a_user) -> None:  # type: ignore[no-untyped-def]
    html = client_for(district_a_user).get(reverse("home")).content.decode()
    assert reverse("compliance:assessment") in html
