"""Card sign-in/out and waybill reports applied by the pipeline worker: terminal → gateway (real
TCP) → Redis Streams → worker → card bindings, event log, and the resolved records the rules
see, all in the batch transaction."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence

import pytest
from django.contrib.gis.geos import Point

from fleet.gateway.records import (
    CardReport,
    DriverSignIn,
    DriverSignOut,
    WaybillReport,
    WaybillUpload,
)
from fleet.jt808 import CST, DriverIdentity
from fleet.models import DriverVehicleBinding, TerminalEventLog, Waybill
from fleet.models.registry import Vehicle
from fleet.telemetry import processing, wire
from fleet.telemetry.bus import AsyncStreamPublisher
from fleet.telemetry.schema import FLAG_POSITIONED, FLAG_VALID
from fleet.telemetry.worker import PipelineWorker
from tests import factories
from tests.gateway.harness import TerminalClient
from tests.telemetry.fixtures import fix

T_IN = dt.datetime(2025, 3, 1, 7, 30, 0, tzinfo=CST)
T_OUT = dt.datetime(2025, 3, 1, 15, 45, 0, tzinfo=CST)
RECEIVED = dt.datetime(2025, 3, 1, 0, 0, tzinfo=dt.UTC)


class RecordingRules:
    """The rule stage as the worker drives it: what it was given, inside the transaction."""

    def __init__(self) -> None:
        self.seen: list[wire.BusRecord] = []
        self.flags: list[int | None] = []

    def process(self, conn: object, records: Sequence[wire.BusRecord],
                fix_flags: Sequence[int | None] | None = None) -> object:
        assert fix_flags is not None and len(fix_flags) == len(records)
        self.seen.extend(records)
        self.flags.extend(fix_flags)
        return []

    holding = False  # writes nothing, so holds nothing

    def flush(self, conn: object) -> object:
        return []

    def committed(self) -> None:
        pass

    def forget_all(self) -> None:
        pass

    def of_type(self, kind: type) -> list:
        return [r for r in self.seen if isinstance(r, kind)]


def drain(worker: PipelineWorker) -> None:
    while worker.step():
        pass


def report(vehicle_id: int | None, at: dt.datetime, certificate: str = "", *,
           card_in: bool = True, id_card: str = "", read_result: int | None = 0) -> CardReport:
    return CardReport("13912345678", vehicle_id, "辽L10001", at, RECEIVED, card_in,
                      certificate if card_in else "", id_card if card_in else "",
                      "张三" if card_in else "", "盘锦" if card_in else "",
                      dt.date(2030, 1, 1) if card_in else None,
                      read_result if card_in else None, 1)


def card_out(vehicle_id: int, at: dt.datetime) -> CardReport:
    return report(vehicle_id, at, card_in=False)


def bindings(vehicle_id: int | None = None) -> list[tuple]:
    rows = DriverVehicleBinding.objects.order_by("valid_from")
    if vehicle_id is not None:
        rows = rows.filter(vehicle_id=vehicle_id)
    return [(b.driver_id, b.vehicle_id, b.valid_from, b.valid_to) for b in rows]


def events(vehicle_id: int, kind: str) -> list[TerminalEventLog]:
    return list(TerminalEventLog.objects.filter(vehicle_id=vehicle_id, kind=kind)
                .order_by("time"))


# -- over the real path --------------------------------------------------------------------------
def test_card_in_and_out_over_tcp_open_and_close_a_binding(registry, start_gateway, make_bus,
                                                           make_leases, bus_prefix, settings):
    driver = factories.make_driver(registry.vehicle.enterprise)
    cert = factories.make_certificate(driver)
    bus = make_bus(shards=2)
    sink = AsyncStreamPublisher(settings.REDIS_URL, shards=2, prefix=bus_prefix)
    gateway = start_gateway(sink=sink)
    terminal = TerminalClient(gateway.port, registry.phone)
    assert terminal.register("辽L12345").result == 0
    terminal.authenticate()
    rules = RecordingRules()
    worker = PipelineWorker(bus, make_leases("cards", shards=2), rules=rules)
    vehicle = registry.vehicle.pk
    try:
        identity = DriverIdentity(1, T_IN, 0, "张三", cert.number, "盘锦市交通运输局",
                                  dt.date(2030, 1, 1))
        terminal.expect_ack(terminal.send(0x0702, identity))
        # The terminal saw no acknowledgement and sends it again: still one binding.
        terminal.expect_ack(terminal.send(0x0702, identity))
        drain(worker)
        binding = DriverVehicleBinding.objects.get()
        assert (binding.driver_id, binding.vehicle_id, binding.source) == (driver.pk, vehicle,
                                                                           "card")
        assert binding.valid_from == T_IN and binding.valid_to is None
        assert binding.card_certificate_number == cert.number
        sign_ins = rules.of_type(DriverSignIn)
        assert [(s.driver_id, s.binding_id, s.certificate_number) for s in sign_ins] == [
            (driver.pk, binding.pk, cert.number)] * 2
        assert not rules.of_type(CardReport)  # the rules only see resolved records

        terminal.expect_ack(terminal.send(0x0702, DriverIdentity(2, T_OUT)))
        drain(worker)
        binding.refresh_from_db()
        assert binding.valid_to == T_OUT
        assert [(s.driver_id, s.binding_id) for s in rules.of_type(DriverSignOut)] == [
            (driver.pk, binding.pk)]
        [logged_in] = events(vehicle, "card_in")
        assert (logged_in.time, logged_in.code, logged_in.detail["driver_id"]) == (
            T_IN, cert.number, driver.pk)
        [logged_out] = events(vehicle, "card_out")
        assert (logged_out.time, logged_out.detail["driver_id"]) == (T_OUT, driver.pk)
        assert bus.backlog() == 0
    finally:
        terminal.close()
        gateway.call(sink.close())


# -- the worker's semantics ----------------------------------------------------------------------
def test_redelivered_batch_after_a_crash_leaves_one_binding(world, make_bus, make_leases,
                                                            monkeypatch):
    driver = factories.make_driver(world.enterprise_a)
    cert = factories.make_certificate(driver)
    a = world.vehicle_a.pk
    bus = make_bus(shards=1)
    bus.publish([fix(a, 0), report(a, T_IN, cert.number)])

    first = PipelineWorker(bus, make_leases("w1", shards=1, ttl_ms=300))
    real_apply = processing.apply_batch

    def crash(*args: object, **kwargs: object) -> None:
        real_apply(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("killed before the commit")

    monkeypatch.setattr("fleet.telemetry.worker.apply_batch", crash)
    with pytest.raises(RuntimeError):
        first.step()
    monkeypatch.setattr("fleet.telemetry.worker.apply_batch", real_apply)
    assert bindings() == []  # rolled back with the batch

    rules = RecordingRules()
    second = PipelineWorker(bus, make_leases("w2", shards=1, ttl_ms=300), rules=rules)
    time.sleep(0.4)  # the dead worker's lease runs out
    drain(second)
    bus.publish([report(a, T_IN, cert.number)])  # and a retransmission on top
    drain(second)
    assert bindings() == [(driver.pk, a, T_IN, None)]
    binding_id = DriverVehicleBinding.objects.get().pk
    assert [(s.driver_id, s.binding_id) for s in rules.of_type(DriverSignIn)] == [
        (driver.pk, binding_id)] * 2
    assert len(events(a, "card_in")) == 1
    assert bus.backlog() == 0


def test_next_card_in_closes_the_previous_binding_and_id_card_identifies(world, make_bus,
                                                                         make_leases):
    first = factories.make_driver(world.enterprise_a, name="李四")
    second = factories.make_driver(world.enterprise_a, name="王五")
    cert = factories.make_certificate(first)
    a = world.vehicle_a.pk
    later = T_IN + dt.timedelta(hours=4)
    bus = make_bus(shards=1)
    worker = PipelineWorker(bus, make_leases("w1", shards=1))
    bus.publish([report(a, T_IN, cert.number)])
    # The second driver on a 2019 card whose certificate is unknown: the ID card number decides.
    bus.publish([report(a, later, "UNKNOWN-CERT", id_card=second.id_number.lower())])
    drain(worker)
    assert bindings() == [(first.pk, a, T_IN, later), (second.pk, a, later, None)]


def test_a_driver_signing_in_elsewhere_leaves_the_previous_vehicle(world, make_bus, make_leases):
    driver = factories.make_driver(world.enterprise_a)
    cert = factories.make_certificate(driver)
    a, b = world.vehicle_a.pk, world.vehicle_b.pk
    later = T_IN + dt.timedelta(hours=1)
    bus = make_bus(shards=1)
    worker = PipelineWorker(bus, make_leases("w1", shards=1))
    bus.publish([report(a, T_IN, cert.number), report(b, later, cert.number)])
    drain(worker)
    assert bindings() == [(driver.pk, a, T_IN, later), (driver.pk, b, later, None)]


def test_card_in_and_out_in_one_batch_apply_in_order(world, make_bus, make_leases):
    first = factories.make_driver(world.enterprise_a, name="李四")
    second = factories.make_driver(world.enterprise_a, name="王五")
    cert_1, cert_2 = factories.make_certificate(first), factories.make_certificate(second)
    a = world.vehicle_a.pk
    t1, t2 = T_IN + dt.timedelta(hours=1), T_IN + dt.timedelta(hours=2)
    bus = make_bus(shards=1)
    rules = RecordingRules()
    worker = PipelineWorker(bus, make_leases("w1", shards=1), rules=rules)
    bus.publish([report(a, T_IN, cert_1.number), fix(a, 0), card_out(a, t1),
                 report(a, t2, cert_2.number)])
    drain(worker)
    assert bindings() == [(first.pk, a, T_IN, t1), (second.pk, a, t2, None)]
    assert [r.driver_id for r in rules.seen if isinstance(r, DriverSignIn | DriverSignOut)] == [
        first.pk, first.pk, second.pk]
    # The rules get the quality flags the store gave each fix, by position; None for the rest.
    assert [(type(r).__name__, f) for r, f in zip(rules.seen, rules.flags, strict=True)] == [
        ("DriverSignIn", None), ("Fix", FLAG_POSITIONED | FLAG_VALID), ("DriverSignOut", None),
        ("DriverSignIn", None)]


def test_late_out_of_order_card_in_ends_where_the_next_sign_in_began(world, make_bus,
                                                                     make_leases):
    early = factories.make_driver(world.enterprise_a, name="李四")
    late = factories.make_driver(world.enterprise_a, name="王五")
    cert_early, cert_late = factories.make_certificate(early), factories.make_certificate(late)
    a = world.vehicle_a.pk
    next_in = T_IN + dt.timedelta(hours=4)
    bus = make_bus(shards=1)
    worker = PipelineWorker(bus, make_leases("w1", shards=1))
    bus.publish([report(a, next_in, cert_late.number)])
    drain(worker)
    bus.publish([report(a, T_IN, cert_early.number)])  # backfilled from the terminal's memory
    drain(worker)
    expected = [(early.pk, a, T_IN, next_in), (late.pk, a, next_in, None)]
    assert bindings() == expected
    bus.publish([report(a, T_IN, cert_early.number)])  # repeated: nothing changes
    drain(worker)
    assert bindings() == expected


def test_repeated_card_out_reports_the_binding_it_closed(world, make_bus, make_leases):
    driver = factories.make_driver(world.enterprise_a)
    cert = factories.make_certificate(driver)
    a = world.vehicle_a.pk
    bus = make_bus(shards=1)
    rules = RecordingRules()
    worker = PipelineWorker(bus, make_leases("w1", shards=1), rules=rules)
    bus.publish([report(a, T_IN, cert.number), card_out(a, T_OUT)])
    bus.publish([card_out(a, T_OUT)])
    drain(worker)
    binding = DriverVehicleBinding.objects.get()
    assert binding.valid_to == T_OUT
    assert [(s.driver_id, s.binding_id) for s in rules.of_type(DriverSignOut)] == [
        (driver.pk, binding.pk)] * 2
    assert len(events(a, "card_out")) == 1


def test_unknown_or_unreadable_card_opens_nothing_but_is_logged(world, make_bus, make_leases):
    driver = factories.make_driver(world.enterprise_a)
    cert = factories.make_certificate(driver)
    a = world.vehicle_a.pk
    bus = make_bus(shards=1)
    rules = RecordingRules()
    worker = PipelineWorker(bus, make_leases("w1", shards=1), rules=rules)
    bus.publish([report(a, T_IN, "NO-SUCH-CERT"),
                 report(a, T_OUT, cert.number, read_result=1),  # the card could not be read
                 report(None, T_IN, cert.number)])  # a terminal without a vehicle
    drain(worker)
    assert bindings() == []
    sign_ins = rules.of_type(DriverSignIn)
    assert [(s.vehicle_id, s.driver_id, s.binding_id, s.certificate_number, s.read_result)
            for s in sign_ins] == [(a, None, None, "NO-SUCH-CERT", 0),
                                   (a, None, None, cert.number, 1),
                                   (None, driver.pk, None, cert.number, 0)]
    logged = events(a, "card_in")
    assert [(e.code, e.detail["driver_id"]) for e in logged] == [("NO-SUCH-CERT", None),
                                                                 (cert.number, None)]


def make_waybill(vehicle: Vehicle, number: str, **fields: object) -> Waybill:
    return Waybill.objects.create(
        number=number, vehicle=vehicle, shipper="盘锦石化", consignee="大连港",
        origin_name="盘锦", origin=Point(122.07, 41.12), destination_name="大连",
        planned_start=T_IN, planned_end=T_OUT, **fields)


def test_waybill_report_links_the_open_waybill(world, make_bus, make_leases):
    a = world.vehicle_a.pk
    make_waybill(world.vehicle_a, "YD2025030100017"[:-1])  # a prefix of the reported number
    waybill = make_waybill(world.vehicle_a, "YD2025030100017")
    make_waybill(world.vehicle_b, "YD2025030100099")  # another vehicle's
    content = "运单号:YD2025030100017;YD2025030100099;货物:UN1203 汽油".encode("gbk")
    upload = WaybillUpload("13912345678", a, "辽L10001", RECEIVED, content,
                           content.decode("gbk"), 5)
    bus = make_bus(shards=1)
    rules = RecordingRules()
    worker = PipelineWorker(bus, make_leases("w1", shards=1), rules=rules)
    bus.publish([upload, upload])
    drain(worker)
    [report_seen, _] = rules.of_type(WaybillReport)
    assert (report_seen.waybill_id, report_seen.waybill_number) == (waybill.pk, waybill.number)
    assert report_seen.content == content
    [logged] = events(a, "waybill")
    assert (logged.code, logged.detail["waybill_id"]) == (waybill.number, waybill.pk)
    assert "UN1203" in logged.detail["text"]
