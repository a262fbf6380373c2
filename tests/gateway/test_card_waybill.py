"""0x0702 IC-card sign-in/out and 0x0701 waybills: the gateway acknowledges them at once and
publishes what the terminal reported; the pipeline worker applies them (tests/telemetry/
test_cards.py). No database work on the gateway's path."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable

from fleet.gateway.records import CardReport, WaybillUpload
from fleet.jt808 import CST, DriverIdentity
from fleet.jt808 import Waybill as WaybillBody
from fleet.models import DriverVehicleBinding
from tests import factories

T_IN = dt.datetime(2025, 3, 1, 7, 30, 0, tzinfo=CST)
T_OUT = dt.datetime(2025, 3, 1, 15, 45, 0, tzinfo=CST)


def card_in(number: str, at: dt.datetime = T_IN, id_card: str | None = None) -> DriverIdentity:
    issuer, valid_until = "盘锦市交通运输局", dt.date(2020, 1, 1)
    return DriverIdentity(1, at, 0, "张三", number, issuer, valid_until, id_card)


def of_type(records: list, kind: type) -> list:
    return [r for r in records if isinstance(r, kind)]


def test_card_in_and_out_are_published_as_reported(gateway, terminal, registry):
    driver = factories.make_driver(registry.vehicle.enterprise)
    cert = factories.make_certificate(driver)
    terminal.expect_ack(terminal.send(0x0702, card_in(cert.number, id_card="211102199001011234")),
                        0)
    terminal.expect_ack(terminal.send(0x0702, DriverIdentity(2, T_OUT)), 0)
    reports = of_type(gateway.sink.wait_for(lambda rs: len(of_type(rs, CardReport)) == 2),
                      CardReport)
    sign_in, sign_out = reports
    vehicle = registry.vehicle
    assert (sign_in.vehicle_id, sign_in.plate, sign_in.card_in, sign_in.time) == (
        vehicle.pk, vehicle.plate, True, T_IN)
    assert (sign_in.certificate_number, sign_in.id_card_number, sign_in.driver_name,
            sign_in.issuer, sign_in.certificate_valid_until, sign_in.read_result) == (
        cert.number, "211102199001011234", "张三", "盘锦市交通运输局", dt.date(2020, 1, 1), 0)
    assert (sign_out.card_in, sign_out.time, sign_out.certificate_number,
            sign_out.read_result) == (False, T_OUT, "", None)
    # Applying them is the pipeline's job: the gateway wrote nothing.
    assert DriverVehicleBinding.objects.count() == 0


def test_bad_card_status_is_refused(gateway, terminal):
    terminal.expect_ack(terminal.send(0x0702, DriverIdentity(3, T_IN)), 2)
    terminal.expect_ack(terminal.heartbeat(), 0)
    assert not of_type(gateway.sink.records(), CardReport)
    assert gateway.stats.errors["bad_card_status"] == 1


def test_waybill_report_is_published_as_reported(gateway, terminal, registry):
    content = "运单号:YD2025030100017;货物:UN1203 汽油".encode("gbk")
    terminal.expect_ack(terminal.send(0x0701, WaybillBody(content)), 0)
    upload = of_type(gateway.sink.wait_for(lambda rs: bool(of_type(rs, WaybillUpload))),
                     WaybillUpload)[0]
    assert (upload.vehicle_id, upload.content) == (registry.vehicle.pk, content)
    assert "UN1203" in (upload.text or "")


class StuckDatabase:
    """A DB thread that never answers (or fails): nothing on the card path may wait for it."""

    def __init__(self) -> None:
        self.calls = 0

    async def run(self, fn: Callable[..., object], /, *args: object, **kwargs: object) -> object:
        self.calls += 1
        await asyncio.sleep(3600)
        raise RuntimeError("database unavailable")

    def close(self) -> None:
        pass


def test_card_and_waybill_reports_acknowledged_without_database(gateway, terminal):
    real_db = gateway.server.db
    stuck = StuckDatabase()
    gateway.server.db = stuck
    try:
        started = time.monotonic()
        terminal.expect_ack(terminal.send(0x0702, card_in("211100000001")), 0, timeout=1.0)
        terminal.expect_ack(terminal.send(0x0702, DriverIdentity(2, T_OUT)), 0, timeout=1.0)
        terminal.expect_ack(terminal.send(0x0701, WaybillBody(b"YD1")), 0, timeout=1.0)
        assert time.monotonic() - started < 1.0
        assert stuck.calls == 0
        records = gateway.sink.wait_for(lambda rs: len(of_type(rs, CardReport)) == 2)
        assert len(of_type(records, WaybillUpload)) == 1
    finally:
        gateway.server.db = real_db
