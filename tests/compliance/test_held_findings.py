"""Findings held a little and written for several batches at once (RULES_WRITE_EVERY_S): the
bus entries behind them stay unacknowledged until they are written, so a worker dying with
findings in hand loses none of them."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace

import pytest

from compliance.engine.model import Episode
from compliance.models import RuleCheckpoint, Violation
from compliance.runtime import detector as detector_module
from compliance.runtime.detector import Detector
from fleet.telemetry.bus import GROUP, StreamBus, stream_key
from fleet.telemetry.worker import PipelineWorker
from tests import factories
from tests.telemetry.fixtures import T0, fix

LON, LAT = 122.05, 41.15  # district A of the World


def speeding(vehicle_id: int, seconds: range) -> list:
    # 75 km/h off any road, a hazmat truck: overspeed once 30 s over its 60 km/h cap.
    return [fix(vehicle_id, s, lon=LON + s * 0.00002, lat=LAT, speed=75.0) for s in seconds]


def unacknowledged(bus: StreamBus) -> int:
    return sum(bus.client.xpending(stream_key(bus.prefix, shard), GROUP)["pending"]
               for shard in range(bus.shards))


def drain(worker: PipelineWorker) -> None:
    while worker.step():
        pass


@pytest.fixture
def hazmat(world):
    return factories.make_vehicle(world.enterprise_a, kind="hazmat")


@pytest.fixture
def one_shard(make_bus, make_leases):
    """A bus of one shard and a maker of workers on it (short leases: a dead one's run out)."""
    bus = make_bus(shards=1)

    def worker(name: str) -> PipelineWorker:
        return PipelineWorker(bus, make_leases(name, shards=1, ttl_ms=300),
                              rules=Detector(send_warnings=False))

    return bus, worker


def test_a_busy_worker_writes_what_it_holds_once_the_oldest_finding_is_due(
        world, hazmat, one_shard, monkeypatch, settings):
    settings.RULES_WRITE_EVERY_S = 0.5
    clock = [1000.0]
    monkeypatch.setattr(detector_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    bus, make_worker = one_shard
    worker = make_worker("w1")
    taxi = world.vehicle_a
    bus.publish(speeding(hazmat.pk, range(0, 70, 10)))
    assert worker.step()  # busy: every step finds work, so nothing is written when idle
    assert not Violation.objects.exists()
    assert unacknowledged(bus) == 1  # its finding is held: the entry stays pending
    clock[0] += 0.4
    bus.publish([fix(taxi.pk, 0, lon=LON, lat=LAT)])
    assert worker.step()
    assert not Violation.objects.exists() and unacknowledged(bus) == 2
    clock[0] += 0.2  # the held finding is 0.6 s old: written with this batch
    bus.publish([fix(taxi.pk, 10, lon=LON, lat=LAT)])
    assert worker.step()
    assert Violation.objects.get(vehicle=hazmat).rule == "overspeed"
    assert unacknowledged(bus) == 0  # every entry behind it, of all three batches


def test_an_idle_worker_writes_what_it_holds_at_once(hazmat, one_shard, settings):
    settings.RULES_WRITE_EVERY_S = 3600
    bus, make_worker = one_shard
    worker = make_worker("w1")
    bus.publish(speeding(hazmat.pk, range(0, 70, 10)))
    assert worker.step() and not Violation.objects.exists()
    assert worker.step() == 0  # nothing more to read
    assert Violation.objects.filter(vehicle=hazmat, rule="overspeed").count() == 1
    assert unacknowledged(bus) == 0


def test_a_worker_dying_with_findings_held_loses_none(hazmat, one_shard, settings):
    settings.RULES_WRITE_EVERY_S = 3600
    bus, make_worker = one_shard
    first = make_worker("w1")
    bus.publish(speeding(hazmat.pk, range(0, 70, 10)))
    assert first.step()  # stored, judged, the finding held: then the process dies
    assert not Violation.objects.exists() and unacknowledged(bus) == 1
    second = make_worker("w2")
    time.sleep(0.4)  # the dead worker's lease runs out
    drain(second)  # the entry comes again: stored already, judged again, written
    violation = Violation.objects.get(vehicle=hazmat)
    assert violation.rule == "overspeed" and violation.started_at == T0
    assert unacknowledged(bus) == 0


def test_a_checkpoint_taken_while_a_finding_is_held_keeps_it(hazmat, one_shard, settings):
    """The state is saved past the entry that comes again, so the entry's fixes are old news
    to the next worker: the finding must come back with the state."""
    settings.RULES_WRITE_EVERY_S = 3600
    settings.RULES_CHECKPOINT_EVERY_S = 0  # every changed state saved with its batch
    bus, make_worker = one_shard
    first = make_worker("w1")
    bus.publish(speeding(hazmat.pk, range(0, 70, 10)))
    assert first.step()
    assert RuleCheckpoint.objects.get(vehicle_id=hazmat.pk).through == T0 + dt.timedelta(seconds=60)
    assert not Violation.objects.exists()
    second = make_worker("w2")
    time.sleep(0.4)
    drain(second)
    violation = Violation.objects.get(vehicle=hazmat)
    assert violation.rule == "overspeed" and violation.started_at == T0


def test_giving_up_a_shard_writes_what_is_held_first(world, hazmat, make_bus, make_leases,
                                                     settings):
    """Another worker takes over some shards: the held findings are written and their
    entries acknowledged before the states are dropped."""
    settings.RULES_WRITE_EVERY_S = 3600
    bus = make_bus(shards=2)
    leases = make_leases("w1", shards=2, ttl_ms=300)
    detector = Detector(send_warnings=False)
    worker = PipelineWorker(bus, leases, rules=detector)
    bus.publish(speeding(hazmat.pk, range(0, 70, 10)))
    assert worker.step() and detector.holding
    assert leases.owned == {0, 1}
    make_leases("w2", shards=2, ttl_ms=300).heartbeat()  # a second worker joins
    time.sleep(0.15)  # w1's next heartbeat is due: it gives a shard up
    worker.heartbeat_if_due()
    assert len(leases.owned) == 1
    assert Violation.objects.filter(vehicle=hazmat).count() == 1
    assert unacknowledged(bus) == 0 and not detector.holding and not detector.states


def test_a_finding_the_database_refuses_is_dropped_logged_and_holds_back_nothing(
        world, hazmat, one_shard, settings, caplog):
    """A value PostgreSQL cannot store (NaN is not JSON) stands for a bug in a rule: logged
    and dropped, while the other findings are written and the entries acknowledged."""
    settings.RULES_WRITE_EVERY_S = 3600
    bus, make_worker = one_shard
    worker = make_worker("w1")
    taxi = world.vehicle_a
    bus.publish([*speeding(hazmat.pk, range(0, 70, 10)), fix(taxi.pk, 0, lon=LON, lat=LAT)])
    assert worker.step()
    detector = worker.rules
    assert isinstance(detector, Detector)
    detector.states[taxi.pk].dirty.clear()
    detector.states[taxi.pk]._note(Episode("gps_drift", T0, T0,
                                           measured={"implied_speed_kmh": float("nan")}))
    detector._held.setdefault(taxi.pk, 0.0)
    assert worker.step() == 0  # idle: everything held is written
    assert list(Violation.objects.values_list("vehicle_id", "rule")) == [(hazmat.pk, "overspeed")]
    assert detector.unwritable == 1 and f"vehicle {taxi.pk} cannot be written" in caplog.text
    assert not detector.holding and unacknowledged(bus) == 0
