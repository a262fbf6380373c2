"""Violation pages and API: scoping, filters, the screening queue's actions, the detail page."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.contrib.gis.geos import LineString
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from compliance.models import RuleSetting, Violation
from compliance.services import screening
from tests import factories
from tests.conftest import PASSWORD

ROW = re.compile(r'<tr data-violation="(\d+)"')


def listed(response) -> set[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    return {int(pk) for pk in ROW.findall(response.content.decode())}


@pytest.fixture
def spread(world):  # type: ignore[no-untyped-def]
    """One violation in each district, and one of vehicle B that happened in district A."""
    return {
        "a": factories.make_violation(world.vehicle_a),
        "b": factories.make_violation(world.vehicle_b, rule="dsm_phone"),
        "b_in_a": factories.make_violation(world.vehicle_b, district=world.district_a),
    }


def test_list_shows_only_the_users_scope(spread, bureau_user, district_a_user, district_b_user,
                                         enterprise_a_user, client_for):
    url = reverse("compliance:violation_list")
    assert listed(client_for(bureau_user).get(url)) == {v.pk for v in spread.values()}
    # Owned by the district where it happened, whoever registered the vehicle.
    assert listed(client_for(district_a_user).get(url)) == {spread["a"].pk, spread["b_in_a"].pk}
    assert listed(client_for(district_b_user).get(url)) == {spread["b"].pk}
    assert listed(client_for(enterprise_a_user).get(url)) == {spread["a"].pk}


def test_list_filters(spread, world, bureau_user, client_for):
    client = client_for(bureau_user)
    url = reverse("compliance:violation_list")
    assert listed(client.get(url, {"rule": "dsm_phone"})) == {spread["b"].pk}
    assert listed(client.get(url, {"district": world.district_b.pk})) == {spread["b"].pk}
    assert listed(client.get(url, {"q": "20002"})) == {spread["b"].pk, spread["b_in_a"].pk}
    assert listed(client.get(url, {"severity": "medium", "vehicle_kind": "taxi"})) == {
        spread["a"].pk, spread["b"].pk, spread["b_in_a"].pk}
    screening.confirm_violation(violation=spread["a"], actor=bureau_user)
    assert listed(client.get(url, {"review_status": "confirmed"})) == {spread["a"].pk}
    # Days are the bureau's days: 2026-11-21 23:30 UTC is the 22nd in Shanghai.
    late = factories.make_violation(world.vehicle_a,
                                    started_at=dt.datetime(2026, 11, 21, 23, 30, tzinfo=dt.UTC))
    assert listed(client.get(url, {"start": "2026-11-22", "end": "2026-11-22"})) == {late.pk}


def test_list_query_count_does_not_grow_with_rows(world, district_a_user, client_for):
    client = client_for(district_a_user)
    url = reverse("compliance:violation_list")
    factories.make_violation(world.vehicle_a)
    client.get(url)  # warm the session and the catalogues
    with CaptureQueriesContext(connection) as few:
        assert len(listed(client.get(url))) == 1
    driver = factories.make_driver(world.enterprise_a)
    for n in range(25):
        factories.make_violation(world.vehicle_a, rule="dsm_phone" if n % 2 else "overspeed",
                                 driver=driver)
    with CaptureQueriesContext(connection) as many:
        assert len(listed(client.get(url))) == 26
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_detail_is_404_out_of_scope(spread, district_a_user, district_b_user, client_for):
    url = reverse("compliance:violation_detail", args=[spread["a"].pk])
    assert client_for(district_b_user).get(url).status_code == 404
    assert client_for(district_a_user).get(url).status_code == 200
    # Territorial: B's vehicle, A's violation.
    url = reverse("compliance:violation_detail", args=[spread["b_in_a"].pk])
    assert client_for(district_b_user).get(url).status_code == 404


def test_pages_need_the_capability(world, client):
    desk = User.objects.create_user("desk1", password=PASSWORD, level="bureau",
                                    role="desk_operator")
    client.force_login(desk)
    assert client.get(reverse("compliance:violation_list")).status_code == 403
    assert client.get(reverse("compliance:alerts")).status_code == 403
    assert client.get("/api/v1/violations/").status_code == 403


def test_detail_shows_evidence_thresholds_and_times_in_shanghai(world, bureau_user, client_for):
    started = dt.datetime(2026, 11, 21, 8, 0, 5, tzinfo=dt.UTC)
    violation = factories.make_violation(
        world.vehicle_a, started_at=started, ended_at=started + dt.timedelta(seconds=3725),
        measured={"duration_s": 3725.0, "max_speed_kmh": 87.5, "limit_kmh": 60, "fixes": 12,
                  "mystery_value": "x"},
        thresholds={"min_duration_s": 30.0, "merge_gap_s": 60.0, "coach_night_factor": 0.8},
        track=LineString((122.0, 41.1), (122.05, 41.12), srid=4326),
        evidence={"events": [{"time": "2026-11-21T08:00:30+00:00", "kind": "alarm",
                              "code": "0x0002", "lon": 122.01, "lat": 41.11},
                             {"time": "bad", "kind": "dsm"}],
                  "meter_trips": [{"boarded_at": "2026-11-21T07:59:00+00:00",
                                   "alighted_at": "2026-11-21T08:20:00+00:00",
                                   "trip_number": "T-42"}],
                  "resolution": {"how": "snapped", "distance_m": 312.46}})
    page = client_for(bureau_user).get(
        reverse("compliance:violation_detail", args=[violation.pk])).content.decode()
    assert "2026-11-21 16:00:05" in page  # 08:00:05 UTC
    assert "1:02:05" in page  # the duration as h:mm:ss
    table = page[page.index('data-testid="measurements"'):page.index("</table>",
                                                                     page.index("measurements"))]
    for text in ("持续时间", "1:02:05", "最短持续时间", "0:00:30", "最高车速", "87.5 km/h",
                 "限速", "60 km/h", "定位点数", "12", "合并间隔", "0:01:00", "客车夜间限速系数",
                 "mystery_value"):
        assert text in table, text
    rows = [re.sub(r"<[^>]+>", "|", row) for row in table.split("<tr>")[2:]]
    # The limit in force at the worst fix is the measured maximum's threshold, on its row.
    speed_rows = [row for row in rows if "最高车速" in row]
    assert len(speed_rows) == 1 and "|限速|" in speed_rows[0] and "60 km/h" in speed_rows[0]
    assert sum("限速|" in row for row in rows) == 1
    assert "持续时间" in rows[0] and "最短持续时间" in rows[0]  # the engine's order, not JSONB's
    assert "内置默认值" in page
    assert "T-42" in page and "16:20:00" in page
    assert "0x0002" in page and "16:00:30" in page
    assert "归最近区县" in page and "312.5 m" in page
    map_data = json.loads(page.split('id="violation-map-data" type="application/json">')[1]
                          .split("</script>")[0])
    assert map_data["track"]["type"] == "LineString"
    assert map_data["location"] == [41.12, 122.05]
    assert [e["code"] for e in map_data["events"]] == ["0x0002"]  # the one with a position
    assert "leaflet/leaflet.js" in page and "cdn" not in page.lower()


def test_detail_names_the_setting_version(world, bureau_user, client_for):
    setting = RuleSetting.objects.create(rule="overspeed", district=world.district_a,
                                         vehicle_kind="taxi", version=3,
                                         params={"min_duration_s": 20})
    violation = factories.make_violation(world.vehicle_a, setting=setting)
    page = client_for(bureau_user).get(
        reverse("compliance:violation_detail", args=[violation.pk])).content.decode()
    setting_text = page[page.index('data-testid="setting"'):]
    setting_text = setting_text[:setting_text.index("</dd>")]
    assert "v3" in setting_text and "双台子区" in setting_text and "巡游出租汽车" in setting_text
    assert "内置默认值" not in page


def test_detail_screening_buttons_and_history(world, bureau_user, district_a_user, client_for):
    violation = factories.make_violation(world.vehicle_a)
    url = reverse("compliance:violation_detail", args=[violation.pk])
    assert 'data-testid="confirm"' not in client_for(district_a_user).get(url).content.decode()
    client = client_for(bureau_user)
    assert 'data-testid="confirm"' in client.get(url).content.decode()

    response = client.post(reverse("compliance:violation_dismiss", args=[violation.pk]),
                           {"note": "", "next": url}, follow=True)
    assert "排除违规须填写原因" in response.content.decode()
    response = client.post(reverse("compliance:violation_dismiss", args=[violation.pk]),
                           {"note": "驾驶员紧急避险", "next": url}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == url
    assert "已排除违规" in page and 'data-testid="confirm"' not in page
    history = page[page.index('data-testid="history"'):]
    assert "驾驶员紧急避险" in history and str(bureau_user) in history

    # A second click from a stale page is a conflict, said plainly.
    response = client.post(reverse("compliance:violation_confirm", args=[violation.pk]),
                           follow=True)
    assert "本次操作未生效" in response.content.decode()
    violation.refresh_from_db()
    assert violation.review_status == "dismissed"


def test_queue_lists_pending_newest_first_with_rule_counts(world, bureau_user, client_for):
    older = factories.make_violation(world.vehicle_a)
    newer = factories.make_violation(world.vehicle_b, rule="dsm_phone")
    screened = factories.make_violation(world.vehicle_a)
    screening.confirm_violation(violation=screened, actor=bureau_user)
    factories.make_violation(world.vehicle_a, rule="gps_drift")
    client = client_for(bureau_user)
    response = client.get(reverse("compliance:screening_queue"))
    page = response.content.decode()
    assert [int(pk) for pk in ROW.findall(page)] == [newer.pk, older.pk]
    counts = page[page.index('data-testid="rule-counts"'):page.index("</nav>",
                                                                     page.index("rule-counts"))]
    assert re.search(r'data-rule="overspeed">超速 <b>1</b>', counts)
    assert re.search(r'data-rule="dsm_phone">接打手机 <b>1</b>', counts)
    assert "gps_drift" not in counts
    # A rule filter narrows the rows; the counts still show every rule.
    page = client.get(reverse("compliance:screening_queue"), {"rule": "dsm_phone"}).content.decode()
    assert [int(pk) for pk in ROW.findall(page)] == [newer.pk]
    assert 'data-rule="overspeed"' in page


def test_queue_is_for_screeners_only(world, district_a_user, client_for):
    client = client_for(district_a_user)
    assert client.get(reverse("compliance:screening_queue")).status_code == 403
    violation = factories.make_violation(world.vehicle_a)
    response = client.post(reverse("compliance:screening_confirm"), {"ids": [violation.pk]})
    assert response.status_code == 403
    violation.refresh_from_db()
    assert violation.review_status == "pending"


def test_bulk_actions_report_what_happened(world, bureau_user, client_for):
    rows = [factories.make_violation(world.vehicle_a) for _ in range(2)]
    taken = factories.make_violation(world.vehicle_b)
    other = User.objects.create_user("other", password=PASSWORD, level="bureau",
                                     role="bureau_supervisor", display_name="王五")
    screening.confirm_violation(violation=taken, actor=other)
    client = client_for(bureau_user)
    queue = reverse("compliance:screening_queue") + "?vehicle_kind=taxi"

    response = client.post(reverse("compliance:screening_dismiss"),
                           {"ids": [rows[0].pk], "note": " ", "next": queue}, follow=True)
    assert "排除违规须填写原因" in response.content.decode()
    assert response.redirect_chain[-1][0] == queue

    response = client.post(reverse("compliance:screening_confirm"),
                           {"ids": [*(v.pk for v in rows), taken.pk], "note": "",
                            "next": queue}, follow=True)
    page = response.content.decode()
    assert "已确认 2 条违规" in page
    assert "1 条已被他人先行甄别" in page and "辽L20002" in page and "王五" in page
    assert set(Violation.objects.values_list("review_status", flat=True)) == {"confirmed"}

    response = client.post(reverse("compliance:screening_confirm"),
                           {"ids": [rows[0].pk], "next": "https://evil.example/"})
    assert response.url == reverse("compliance:screening_queue")


def test_alerts_page_loads_the_latest_alerts(world, district_a_user, client_for):
    mine = factories.make_violation(world.vehicle_a)
    factories.make_violation(world.vehicle_b)
    factories.make_violation(world.vehicle_a, rule="gps_drift")  # data quality, not an alert
    page = client_for(district_a_user).get(reverse("compliance:alerts")).content.decode()
    data = json.loads(page.split('id="alert-feed-data" type="application/json">')[1]
                      .split("</script>")[0])
    assert [a["id"] for a in data["alerts"]] == [mine.pk]
    alert = data["alerts"][0]
    assert alert["plate"] == "辽L10001" and alert["district"]["name"] == "双台子区"
    assert alert["url"] == reverse("compliance:violation_detail", args=[mine.pk])
    assert data["socketPath"] == "/ws/alerts/"
    assert "js/alerts.js" in page


def test_navigation_links_the_violation_list(world, district_a_user, client_for):
    home = client_for(district_a_user).get(reverse("home")).content.decode()
    assert f'href="{reverse("compliance:violation_list")}"' in home


def test_api_lists_scoped_and_filtered(spread, district_a_user, bureau_user, client_for):
    body = client_for(district_a_user).get("/api/v1/violations/").json()
    assert {r["id"] for r in body["results"]} == {spread["a"].pk, spread["b_in_a"].pk}
    assert "evidence" not in body["results"][0]
    client = client_for(bureau_user)
    body = client.get("/api/v1/violations/", {"rule": "dsm_phone"}).json()
    assert [r["id"] for r in body["results"]] == [spread["b"].pk]
    assert body["results"][0]["rule_label"] == "接打手机"


def test_api_detail_has_the_evidence_and_is_404_out_of_scope(spread, district_b_user,
                                                             bureau_user, client_for):
    url = f"/api/v1/violations/{spread['a'].pk}/"
    assert client_for(district_b_user).get(url).status_code == 404
    body = client_for(bureau_user).get(url).json()
    assert body["plate"] == "辽L10001"
    assert body["location"] == {"type": "Point", "coordinates": [122.05, 41.12]}
    assert body["setting"] is None and body["setting_version"] is None
    for key in ("measured", "thresholds", "evidence", "track", "review_note"):
        assert key in body


def test_compact_alert_panel_for_other_pages(world, district_a_user):
    from django.template.loader import render_to_string

    from compliance.views.violations import alert_feed_context

    alerts = [factories.make_violation(world.vehicle_a) for _ in range(3)]
    html = render_to_string("compliance/violations/_alert_feed.html",
                            alert_feed_context(district_a_user, limit=2, compact=True))
    assert "alert-feed compact" in html and "data-alert-filter" not in html
    assert f'href="{reverse("compliance:alerts")}"' in html
    data = json.loads(html.split('id="alert-feed-data" type="application/json">')[1]
                      .split("</script>")[0])
    assert [a["id"] for a in data["alerts"]] == [alerts[2].pk, alerts[1].pk]
