"""Replay pages: who may use them, asking for a run, its progress and results."""

from __future__ import annotations

import datetime as dt

from compliance.models import ReplayRun
from compliance.replay_runs import execute
from tests.telemetry.fixtures import T0


def _form(**extra: object) -> dict[str, object]:
    return {"start": "2026-11-21T00:00", "end": "2026-11-22T00:00", "go": "1", **extra}


def test_district_users_may_not_replay(world, district_a_user, client_for):
    client = client_for(district_a_user)
    assert client.get("/compliance/replay/").status_code == 403
    assert client.post("/compliance/replay/", _form()).status_code == 403
    assert not ReplayRun.objects.exists()


def test_a_supervisor_queues_a_what_if_run_and_reads_its_results(world, bureau_user,
                                                                 client_for):
    client = client_for(bureau_user)
    page = client.get("/compliance/replay/")
    assert page.status_code == 200 and "开始回放" in page.content.decode()
    response = client.post("/compliance/replay/", _form(
        what_if="overspeed", p_min_duration_s="60", kinds=["hazmat"]))
    run = ReplayRun.objects.get()
    assert response.status_code == 302 and response.url == f"/compliance/replay/{run.pk}/"
    assert run.overrides == {"overspeed": {"min_duration_s": 60}}
    assert run.selection == {"kinds": ["hazmat"]} and run.created_by == bureau_user
    assert run.period_start == T0 - dt.timedelta(hours=8)
    status = client.get(f"/compliance/replay/{run.pk}/status/").json()
    assert status["state"] == "queued" and status["progress"] == 0
    execute(run)
    assert client.get(f"/compliance/replay/{run.pk}/status/").json()["state"] == "done"
    detail = client.get(f"/compliance/replay/{run.pk}/").content.decode()
    assert "按规则" in detail and "该时段没有违规" in detail


def test_an_unknown_plate_is_a_form_error_and_nothing_is_queued(world, bureau_user, client_for):
    response = client_for(bureau_user).post("/compliance/replay/", _form(plates="辽L99999"))
    assert response.status_code == 200 and "辽L99999" in response.content.decode()
    assert not ReplayRun.objects.exists()


def test_a_what_if_switch_is_as_set_yes_or_no(world, bureau_user, client_for):
    client = client_for(bureau_user)
    picked = {k: v for k, v in _form(what_if="offline_in_service", pick="1").items()
              if k != "go"}  # 显示参数: the rule's parameters, nothing queued
    page = client.post("/compliance/replay/", picked).content.decode()
    assert '<select name="p_reports_keep_online"' in page and "按现行设置" in page
    assert not ReplayRun.objects.exists()
    client.post("/compliance/replay/", _form(what_if="offline_in_service",
                                             p_reports_keep_online="0"))
    assert ReplayRun.objects.get().overrides == {"offline_in_service": {"reports_keep_online": 0}}
    client.post("/compliance/replay/", _form(what_if="offline_in_service",
                                             p_reports_keep_online=""))
    assert ReplayRun.objects.count() == 2 and ReplayRun.objects.latest("pk").overrides == {}
