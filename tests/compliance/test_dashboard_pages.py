"""The dashboard as a page (the home URL) and its figures endpoint: who gets it, what it shows,
scoped JSON, and a bounded number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import Case
from tests import factories
from tests.compliance.case_support import (  # noqa: F401 - fast_passwords is a fixture
    Cast,
    drive,
    fast_passwords,
    make_cast,
    make_user,
    new_case,
)

FIGURES = reverse("compliance:dashboard_figures")


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    cast = make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)
    now = timezone.now()
    factories.make_violation(world.vehicle_a, rule="overspeed", started_at=now)
    factories.make_violation(world.vehicle_b, rule="dsm_phone", started_at=now)
    factories.make_violation(world.vehicle_b, rule="overspeed", started_at=now)
    overdue = drive(cast, new_case(cast), "accepted")
    Case.objects.filter(pk=overdue.pk).update(deadline=now - dt.timedelta(hours=2))
    b_case = new_case(cast, vehicle=world.vehicle_b, district=world.district_b)
    Case.objects.filter(pk=b_case.pk).update(supervised=True)
    return cast


def test_home_shows_the_dashboard_to_a_bureau_supervisor(cast: Cast, client_for):
    response = client_for(cast.bureau).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="dashboard-figures"' in html
    assert 'data-testid="dashboard-map"' in html and "js/livemap.js" in html
    assert "alert-feed compact" in html
    # Both districts in the table, each linking to its cases; the overdue count stands out.
    board = response.context["board"]
    assert [row.name for row in board.districts] == ["双台子区", "兴隆台区"]
    assert f"?district={cast.world.district_a.pk}&amp;open=true" in html
    assert 'class="dash-count dash-bad" data-dash="cases_overdue"' in html
    assert 'class="dash-count dash-warn" data-dash="cases_supervised"' in html
    assert (board.violations_today, board.cases_open, board.cases_overdue,
            board.cases_supervised) == (3, 2, 1, 1)


def test_district_user_gets_their_district_only(cast: Cast, client_for):
    response = client_for(cast.op_a).get("/")
    html = response.content.decode()
    board = response.context["board"]
    assert [row.name for row in board.districts] == ["双台子区"]
    assert "兴隆台区" not in html
    assert (board.violations_today, board.cases_open, board.cases_supervised) == (1, 1, 0)
    assert all(alert["district"]["id"] == cast.world.district_a.pk
               for alert in response.context["alert_feed"]["data"]["alerts"])


def test_figures_json_is_scoped(cast: Cast, client_for):
    city = client_for(cast.bureau).get(FIGURES).json()
    assert city["figures"]["violations_today"] == 3
    assert set(city["districts"]) == {str(cast.world.district_a.pk), str(cast.world.district_b.pk)}

    mine = client_for(cast.op_b).get(FIGURES).json()
    assert set(mine["districts"]) == {str(cast.world.district_b.pk)}
    assert mine["figures"]["violations_today"] == 2
    assert (mine["figures"]["cases_open"], mine["figures"]["cases_supervised"]) == (1, 1)
    assert mine["figures"]["cases_overdue"] == 0
    assert [r["rule"] for r in mine["top_rules"]] == ["dsm_phone", "overspeed"]
    row = mine["districts"][str(cast.world.district_b.pk)]
    # The month's quality and rank change hourly: the refresh leaves what the page shows.
    assert row["vehicles"] == 1 and "validity" not in row and "rank" not in row

    enterprise = client_for(cast.enterprise_a).get(FIGURES).json()
    assert enterprise["districts"] == {}
    assert "cases_open" not in enterprise["figures"]
    assert enterprise["figures"]["violations_today"] == 1


def test_who_may_not_see_it(cast: Cast, client, client_for):
    assert client.get(FIGURES).status_code == 302  # to the login page
    assert client.get("/").status_code == 302
    desk = client_for(cast.desk)  # registry and cases, not violations: the overview
    assert desk.get(FIGURES).status_code == 403
    assert desk.get(reverse("compliance:dashboard")).status_code == 403
    response = desk.get("/")
    assert response.status_code == 200 and "board" not in response.context
    assert response.context["overview"]["vehicle_total"] == 2
    assert client_for(cast.bureau).post(FIGURES).status_code == 405


def test_registry_overview_is_one_click_away(cast: Cast, client_for):
    response = client_for(cast.bureau).get("/?view=registry")
    assert "overview" in response.context and response.context["has_dashboard"]
    assert 'href="/"' in response.content.decode()


def test_field_officer_dashboard_has_cases_but_no_screening_link(cast: Cast, client_for):
    field = make_user("field_a", level="district", role="field_officer",
                      districts=[cast.world.district_a])
    html = client_for(field).get("/").content.decode()
    assert reverse("compliance:screening_queue") not in html
    assert "?review_status=pending" in html


def test_page_queries_are_bounded(cast: Cast, client_for, django_assert_max_num_queries):
    client = client_for(cast.bureau)
    client.get("/")  # sessions, translations: warm
    for n in range(4):
        district = factories.make_district(f"2111{n + 60}", f"新区{n}", 122.3 + n * 0.2, 41.3)
        vehicle = factories.make_vehicle(factories.make_enterprise(district))
        factories.make_violation(vehicle, started_at=timezone.now())
    # session, user, notifications bell, districts, vehicles, violations, backlog, cases,
    # quality, ranks, alert feed: the same for six districts as for two.
    with django_assert_max_num_queries(14):
        response = client.get("/")
    assert len(response.context["board"].districts) == 6
    with django_assert_max_num_queries(10):
        client.get(FIGURES)
