"""0x0702 IC-card sign-in/out opens and closes card bindings; 0x0701 links a waybill."""

from __future__ import annotations

import datetime as dt

from django.contrib.gis.geos import Point

from fleet.gateway.records import DriverSignIn, DriverSignOut, WaybillReport
from fleet.jt808 import CST, DriverIdentity
from fleet.jt808 import Waybill as WaybillBody
from fleet.models import DriverVehicleBinding, Waybill
from tests import factories

T_IN = dt.datetime(2025, 3, 1, 7, 30, 0, tzinfo=CST)
T_OUT = dt.datetime(2025, 3, 1, 15, 45, 0, tzinfo=CST)


def card_in(number: str, at: dt.datetime = T_IN, id_card: str | None = None) -> DriverIdentity:
    issuer, valid_until = "盘锦市交通运输局", dt.date(2020, 1, 1)
    return DriverIdentity(1, at, 0, "张三", number, issuer, valid_until, id_card)


def of_type(records: list, kind: type) -> list:
    return [r for r in records if isinstance(r, kind)]


def test_card_in_and_out_open_and_close_a_card_binding(gateway, terminal, registry):
    driver = factories.make_driver(registry.vehicle.enterprise)
    cert = factories.make_certificate(driver)

    request = terminal.send(0x0702, card_in(cert.number))
    terminal.expect_ack(request, 0)
    binding = DriverVehicleBinding.objects.get()
    assert (binding.driver_id, binding.vehicle_id, binding.source) == (
        driver.pk, registry.vehicle.pk, "card")
    assert binding.card_certificate_number == cert.number
    assert binding.valid_from == T_IN and binding.valid_to is None

    # a terminal repeating the report (no ack seen) changes nothing
    terminal.expect_ack(terminal.send(0x0702, card_in(cert.number)), 0)
    assert DriverVehicleBinding.objects.count() == 1

    terminal.expect_ack(terminal.send(0x0702, DriverIdentity(2, T_OUT)), 0)
    binding.refresh_from_db()
    assert binding.valid_to == T_OUT
    terminal.expect_ack(terminal.send(0x0702, DriverIdentity(2, T_OUT)), 0)  # repeated: no-op
    binding.refresh_from_db()
    assert binding.valid_to == T_OUT

    records = gateway.sink.wait_for(lambda rs: len(of_type(rs, DriverSignOut)) == 2)
    sign_ins = of_type(records, DriverSignIn)
    assert [(s.driver_id, s.binding_id, s.certificate_number) for s in sign_ins] == [
        (driver.pk, binding.pk, cert.number)] * 2
    assert sign_ins[0].certificate_valid_until == dt.date(2020, 1, 1)  # expired card is data
    assert [(s.driver_id, s.binding_id) for s in of_type(records, DriverSignOut)] == [
        (driver.pk, binding.pk)] * 2


def test_next_driver_card_in_closes_previous_binding(gateway, terminal, registry):
    first = factories.make_driver(registry.vehicle.enterprise, name="李四")
    second = factories.make_driver(registry.vehicle.enterprise, name="王五")
    cert = factories.make_certificate(first)
    later = T_IN + dt.timedelta(hours=4)
    terminal.expect_ack(terminal.send(0x0702, card_in(cert.number)), 0)
    # second driver identified by the ID card number on a 2019 card (certificate unknown)
    terminal.expect_ack(terminal.send(0x0702, card_in("UNKNOWN-CERT", later,
                                                      id_card=second.id_number)), 0)
    bindings = list(DriverVehicleBinding.objects.order_by("valid_from"))
    assert [(b.driver_id, b.valid_from, b.valid_to) for b in bindings] == [
        (first.pk, T_IN, later),
        (second.pk, later, None),
    ]


def test_unknown_driver_still_reported_for_the_certificate_rule(gateway, terminal):
    terminal.expect_ack(terminal.send(0x0702, card_in("NO-SUCH-CERT")), 0)
    record = of_type(gateway.sink.wait_for(lambda rs: bool(of_type(rs, DriverSignIn))),
                     DriverSignIn)[0]
    assert (record.driver_id, record.binding_id, record.certificate_number) == (
        None, None, "NO-SUCH-CERT")
    assert DriverVehicleBinding.objects.count() == 0


def test_waybill_report_linked_to_registry_waybill(gateway, terminal, registry):
    waybill = Waybill.objects.create(
        number="YD2025030100017", vehicle=registry.vehicle, shipper="盘锦石化",
        consignee="大连港", origin_name="盘锦", origin=Point(122.07, 41.12),
        destination_name="大连", planned_start=T_IN, planned_end=T_OUT,
    )
    content = "运单号:YD2025030100017;货物:UN1203 汽油".encode("gbk")
    terminal.expect_ack(terminal.send(0x0701, WaybillBody(content)), 0)
    report = of_type(gateway.sink.wait_for(lambda rs: bool(of_type(rs, WaybillReport))),
                     WaybillReport)[0]
    assert (report.waybill_id, report.waybill_number) == (waybill.pk, "YD2025030100017")
    assert report.content == content and "UN1203" in (report.text or "")
