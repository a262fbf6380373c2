"""The case API: scoped reads (another district's case is a 404), actions through the services,
and the error codes (403 forbidden, 404 not_found, 409 conflict / invalid_transition, 400)."""

from __future__ import annotations

import pytest

from compliance.models import Case, CaseState, Notification
from tests import factories
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    drive,
    fast_passwords,
    make_cast,
    new_case,
)

API = "/api/v1/cases/"


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


def post(client, url: str, data: dict | None = None):  # type: ignore[no-untyped-def]
    return client.post(url, data or {}, content_type="application/json")


def test_list_and_detail_are_scoped(cast, client_for):
    case = drive(cast, new_case(cast), CaseState.DISPATCHED)
    rows = client_for(cast.op_a).get(API).json()["results"]
    assert [r["number"] for r in rows] == [case.number]
    assert rows[0]["state"] == "dispatched" and rows[0]["plate"] == "辽L10001"
    assert client_for(cast.op_b).get(API).json()["results"] == []
    assert client_for(cast.op_b).get(f"{API}{case.pk}/").status_code == 404
    assert client_for(cast.enterprise_a).get(API).status_code == 403
    detail = client_for(cast.bureau).get(f"{API}{case.pk}/").json()
    assert detail["assignments"][0]["district"] == cast.world.district_a.pk
    assert client_for(cast.bureau).get(f"{API}?state=new").json()["results"] == []


def test_the_whole_loop_through_the_api(cast, client_for):
    city, district = client_for(cast.bureau), client_for(cast.op_a)
    response = post(city, API, {"source": "manual", "title": "现场检查：拒载",
                                "vehicle": cast.world.vehicle_a.pk})
    assert response.status_code == 201, response.json()
    case = response.json()
    assert case["state"] == "new" and case["number"].startswith("XC")
    url = f"{API}{case['id']}/"

    response = post(city, f"{url}dispatch/", {"districts": [cast.world.district_a.pk]})
    assert response.json()["state"] == "dispatched"
    assert post(district, f"{url}accept/").json()["state"] == "accepted"
    response = post(district, f"{url}report/", {"outcome": "fine"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_result")
    response = post(district, f"{url}report/", {"outcome": "fine", "fine_yuan": "200.00"})
    assert response.json()["state"] == "handled"
    response = post(city, f"{url}return/", {"reason": ""})
    assert (response.status_code, response.json()["code"]) == (400, "reason_required")
    assert post(city, f"{url}return/", {"reason": "证据不足"}).json()["state"] == "returned"
    response = post(district, f"{url}report/", {"outcome": "penalty_points",
                                                "penalty_points": 3})
    assert response.json()["state"] == "handled"
    assert post(city, f"{url}verify/", {"state": "handled"}).json()["state"] == "verified"
    assert post(city, f"{url}archive/").json()["state"] == "archived"

    timeline = city.get(f"{url}timeline/").json()
    assert [e["action"] for e in timeline] == ["open", "dispatch", "accept", "report", "return",
                                               "report", "verify", "archive"]


def test_errors_carry_their_codes(cast, client_for):
    case = drive(cast, new_case(cast), CaseState.HANDLED)
    url = f"{API}{case.pk}/"
    response = post(client_for(cast.op_a), f"{url}verify/")
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    response = post(client_for(cast.op_b), f"{url}verify/")
    assert response.status_code == 404
    response = post(client_for(cast.op_b), f"{url}accept/")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    # A page that still showed "accepted": the case moved on, the client is told.
    response = post(client_for(cast.bureau), f"{url}verify/", {"state": "accepted"})
    assert (response.status_code, response.json()["code"]) == (409, "conflict")
    assert post(client_for(cast.bureau), f"{url}verify/").status_code == 200
    response = post(client_for(cast.bureau), f"{url}verify/")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    response = post(client_for(cast.op_a), f"{url}accept/")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    case.refresh_from_db()
    assert case.state == CaseState.VERIFIED


def test_district_users_cannot_open_cases(cast, client_for):
    response = post(client_for(cast.op_a), API, {"source": "manual", "title": "检查",
                                                 "vehicle": cast.world.vehicle_a.pk})
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    # An object outside the user's scope is not even found.
    response = post(client_for(cast.op_a), API, {"source": "manual", "title": "检查",
                                                 "vehicle": cast.world.vehicle_b.pk})
    assert response.status_code == 400 and "vehicle" in response.json()


def test_from_violation_is_idempotent(cast, client_for):
    violation = factories.make_violation(cast.world.vehicle_a, review_status="confirmed")
    city = client_for(cast.bureau)
    first = post(city, f"{API}from-violation/", {"violation": violation.pk}).json()
    second = post(city, f"{API}from-violation/", {"violation": violation.pk}).json()
    assert first["id"] == second["id"] and first["state"] == "dispatched"
    assert Case.objects.count() == 1


def test_inbox_supervision_and_notifications(cast, client_for):
    case = drive(cast, new_case(cast), CaseState.DISPATCHED)
    district = client_for(cast.op_a)
    inbox = district.get(f"{API}inbox/").json()
    assert inbox["counts"]["new"] == 1
    assert inbox["new"][0]["case"]["number"] == case.number
    assert client_for(cast.op_b).get(f"{API}inbox/").json()["counts"]["new"] == 0

    response = post(client_for(cast.bureau), f"{API}{case.pk}/supervise/",
                    {"reason": "重点案件", "reply_within_hours": 4})
    assert response.json()["supervised"] is True
    supervision = response.json()["supervisions"][0]
    assert supervision["automatic"] is False
    response = post(district, f"{API}{case.pk}/reply-supervision/",
                    {"supervision": supervision["id"], "reply": "已安排"})
    assert response.json()["supervisions"][0]["reply"] == "已安排"
    response = post(district, f"{API}{case.pk}/reply-supervision/",
                    {"supervision": supervision["id"], "reply": "再次"})
    assert (response.status_code, response.json()["code"]) == (409, "conflict")

    notices = district.get("/api/v1/notifications/?unread=1").json()["results"]
    assert {n["kind"] for n in notices} == {"case_dispatched", "case_supervised"}
    assert post(district, "/api/v1/notifications/read/").json() == {"marked": 2}
    assert not Notification.objects.filter(user=cast.op_a, read_at__isnull=True).exists()


def test_schema_lists_the_case_routes(cast, client_for):
    paths = client_for(cast.bureau).get("/api/v1/schema/?format=json").json()["paths"]
    for path in ("/api/v1/cases/", "/api/v1/cases/{id}/", "/api/v1/cases/{id}/accept/",
                 "/api/v1/cases/{id}/return/", "/api/v1/cases/inbox/",
                 "/api/v1/notifications/"):
        assert path in paths
