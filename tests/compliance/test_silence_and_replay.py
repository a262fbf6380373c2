"""The 24 h silence (server clock) and the replay command."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from compliance.models import ReplayRun, Violation
from compliance.replay_runs import ReplayRequestError, request_replay
from compliance.runtime.detector import Detector
from compliance.runtime.silence import open_silences
from fleet.telemetry.worker import PipelineWorker
from tests import factories
from tests.telemetry.fixtures import T0, fix

LON, LAT = 122.05, 41.15


def drain(worker: PipelineWorker) -> None:
    while worker.step():
        pass


@pytest.fixture
def worker(make_bus, make_leases):
    bus = make_bus()
    return bus, PipelineWorker(bus, make_leases("w1"), rules=Detector(send_warnings=False))


def test_a_day_of_silence_opens_one_episode_that_the_next_fix_closes(world, worker):
    bus, pipeline = worker
    taxi = world.vehicle_a  # any kind: "> 24 h for any vehicle"
    bus.publish([fix(taxi.pk, 0, lon=LON, lat=LAT, speed=0.0)])
    drain(pipeline)
    assert open_silences(now=T0 + dt.timedelta(hours=23)) == []
    opened = open_silences(now=T0 + dt.timedelta(hours=25))
    assert len(opened) == 1
    assert open_silences(now=T0 + dt.timedelta(hours=26)) == []  # still open: not again
    episode = Violation.objects.get(pk=opened[0])
    assert episode.rule == "offline_in_service" and episode.started_at == T0
    assert episode.ended_at is None and episode.district == world.district_a
    back = 30 * 3600
    bus.publish([fix(taxi.pk, back, lon=LON, lat=LAT, speed=0.0)])
    drain(pipeline)
    episode.refresh_from_db()
    assert episode.ended_at == T0 + dt.timedelta(seconds=back)
    assert Violation.objects.filter(rule="offline_in_service").count() == 1


def test_replay_command_reports_replayed_beside_stored(world, worker):
    bus, pipeline = worker
    hazmat = factories.make_vehicle(world.enterprise_a, kind="hazmat")
    bus.publish([fix(hazmat.pk, s, lon=LON + s * 0.00002, lat=LAT, speed=75.0)
                 for s in range(0, 70, 10)])
    drain(pipeline)
    out = StringIO()
    call_command("replay_rules", "--from", "2026-11-21", "--to", "2026-11-22",
                 "--plate", hazmat.plate, "--set", "overspeed.min_duration_s=90", stdout=out)
    text = out.getvalue()
    assert "overspeed" in text and "1 vehicles, 7 fixes" in text
    line = next(row for row in text.splitlines() if row.startswith("overspeed"))
    assert line.split()[1:] == ["0", "1"]  # none with 90 s; one stored
    run = ReplayRun.objects.get()
    assert run.state == "done" and run.progress == 1.0 and run.overrides == {
        "overspeed": {"min_duration_s": 90}}


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"end": T0 - dt.timedelta(hours=1)}, "bad_period"),
    ({"end": T0 + dt.timedelta(days=40)}, "period_too_long"),
    ({"rules": ["no_such_rule"]}, "unknown_rule"),
    ({"overrides": {"overspeed": {"min_duration_s": 99999}}}, "bad_threshold"),
    ({"overrides": {"overspeed": {"min_duration_s": 60}}, "rebuild": True},
     "rebuild_with_overrides"),
])
def test_bad_replay_requests_are_refused_with_a_code(db, kwargs, code):
    request = {"actor": None, "start": T0, "end": T0 + dt.timedelta(days=1), "selection": {},
               "overrides": {}, "rules": [], "rebuild": False, **kwargs}
    with pytest.raises(ReplayRequestError) as error:
        request_replay(**request)
    assert error.value.code == code
    assert not ReplayRun.objects.exists()
