import datetime as dt

from fleet.models import VehicleState
from fleet.scheduler import build_scheduler
from fleet.telemetry import jobs

NOW = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)


def state(vehicle, seconds_ago: int) -> VehicleState:
    at = NOW - dt.timedelta(seconds=seconds_ago)
    return VehicleState.objects.create(vehicle=vehicle, fix_time=at, received_at=at)


def test_offline_sweep_marks_only_silent_vehicles(world, settings):
    settings.VEHICLE_OFFLINE_AFTER_S = 600
    state(world.vehicle_a, 601)
    state(world.vehicle_b, 599)
    assert jobs.offline_sweep(NOW) == 1
    assert not VehicleState.objects.get(vehicle=world.vehicle_a).online
    assert VehicleState.objects.get(vehicle=world.vehicle_b).online
    assert jobs.offline_sweep(NOW) == 0  # already offline: nothing to do


def test_scheduler_lists_the_jobs(db):
    # Other areas register their own jobs; these two must be among them.
    assert {job.id for job in build_scheduler().get_jobs()} >= {"partitions", "offline_sweep"}
