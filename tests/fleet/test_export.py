"""Export to .xlsx: same headings as the import, round trip unchanged, scope, masking."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.urls import reverse

from accounts.models import AuditEvent, User
from fleet.importing.columns import SPECS
from fleet.importing.service import export_registry
from fleet.models import Certificate, Driver, Enterprise, Terminal, Vehicle
from tests import factories
from tests.fleet.data.lines import make_bus_line, make_coach_line
from tests.fleet.data.sheets import run, vin

pytestmark = pytest.mark.django_db

MODELS = {"enterprise": Enterprise, "vehicle": Vehicle, "driver": Driver,
          "certificate": Certificate, "terminal": Terminal}


def sheet_rows(content: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def snapshot(model: type) -> list[dict[str, Any]]:
    return [model_to_dict(obj) for obj in model.objects.order_by("pk")]


@pytest.fixture
def registry(world) -> None:
    """Records of every kind, with the optional fields filled in where the kind allows."""
    hazmat_co = factories.make_enterprise(world.district_b, kind="hazmat_carrier",
                                          name="盘锦危货运输有限公司")
    Enterprise.objects.filter(pk=hazmat_co.pk).update(
        permit_number="辽交运管许可盘字001号", permit_valid_from=dt.date(2024, 1, 1),
        permit_valid_to=dt.date(2028, 12, 31), safety_contact="李四",
        safety_contact_phone="0427-2812345", address="兴隆台区石油大街1号")
    tanker = factories.make_vehicle(hazmat_co, kind="hazmat", plate_number="辽L3000挂")
    Vehicle.objects.filter(pk=tanker.pk).update(
        hazmat_goods_classes=["2.1", "3", "8"], tank_capacity_m3=Decimal("40.50"), vin=vin(7),
        transport_cert_number="211100007", transport_cert_valid_to=dt.date(2027, 6, 30),
        status="suspended")
    ride = factories.make_vehicle(world.enterprise_a, kind="ride_hailing",
                                  plate_number="辽L40001")
    Vehicle.objects.filter(pk=ride.pk).update(ride_hailing_permit_valid_to=dt.date(2026, 5, 1))
    bus = factories.make_vehicle(world.enterprise_b, kind="bus", district=world.district_a,
                                 plate_number="辽L40002")
    Vehicle.objects.filter(pk=bus.pk).update(bus_line=make_bus_line(world.enterprise_b,
                                                                    number="12"))
    coach = factories.make_vehicle(world.enterprise_b, kind="coach", plate_number="辽L40003")
    Vehicle.objects.filter(pk=coach.pk).update(coach_line=make_coach_line(
        world.enterprise_b, number="KY001", service_type="relay", exempt=True))
    factories.make_vehicle(world.enterprise_b, kind="coach", plate_number="辽L40004")  # charter
    driver = factories.make_driver(world.enterprise_a, name="王五")
    factories.make_driver(None, name="赵六")
    factories.make_certificate(driver)
    certificate = factories.make_certificate(driver, kind="hazmat_escort")
    Certificate.objects.filter(pk=certificate.pk).update(issuer="盘锦市交通运输局",
                                                         valid_from=dt.date(2020, 1, 1))
    factories.make_terminal(world.vehicle_a)
    spare = factories.make_terminal(None)
    Terminal.objects.filter(pk=spare.pk).update(protocol_edition="2019", alarm_standard="yue",
                                                maker="70101", model="ZD-808", device_id="T1",
                                                active=False)


@pytest.mark.parametrize("kind", list(SPECS))
def test_export_reimports_as_all_updates_with_no_changes(kind, registry, bureau_user):
    model = MODELS[kind]
    before = snapshot(model)
    content = export_registry(kind=kind, queryset=model.objects.all(), actor=bureau_user)

    assert sheet_rows(content)[0] == [column.heading for column in SPECS[kind].columns]
    report = run(kind, content, bureau_user, name=f"{kind}.xlsx")

    assert report.ok, report.as_text()
    assert (report.created, report.updated, report.changed) == (0, len(before), 0)
    assert not report.unknown_columns
    assert snapshot(model) == before


def test_vehicle_export_writes_labels_and_references(registry, bureau_user):
    content = export_registry(kind="vehicle", queryset=Vehicle.objects.filter(
        plate="辽L3000挂"), actor=bureau_user)
    header, row = sheet_rows(content)
    values = dict(zip(header, row, strict=True))
    assert values["车牌颜色"] == "黄色"
    assert values["车辆类型"] == "危险货物运输车辆"
    assert values["所属企业"] == "盘锦危货运输有限公司"
    assert values["登记区县"] == "兴隆台区"
    assert values["许可危险货物类别"] == "2.1、3、8"
    assert values["道路运输证有效期至"] == dt.datetime(2027, 6, 30)
    assert values["状态"] == "停运"


def test_vehicle_export_writes_line_numbers(registry, bureau_user):
    content = export_registry(kind="vehicle", queryset=Vehicle.objects.filter(
        plate__in=["辽L40002", "辽L40003", "辽L40004"]), actor=bureau_user)
    header, *rows = sheet_rows(content)
    lines = {row[0]: (row[header.index("公交线路")], row[header.index("客运班线")])
             for row in rows}
    assert lines == {"辽L40002": ("12", None), "辽L40003": (None, "KY001"),
                     "辽L40004": (None, None)}


def test_text_that_looks_like_a_formula_stays_text(world, bureau_user):
    Enterprise.objects.filter(pk=world.enterprise_a.pk).update(address="=HYPERLINK(\"x\")")
    content = export_registry(kind="enterprise", queryset=Enterprise.objects.all(),
                              actor=bureau_user)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    cell = next(c for row in sheet.iter_rows(min_row=2) for c in row
                if c.value == "=HYPERLINK(\"x\")")
    assert cell.data_type == "s"
    report = run("enterprise", content, bureau_user)
    assert report.ok and report.changed == 0, report.as_text()


def test_personal_data_is_masked_without_the_capability(registry, bureau_user):
    analyst = User.objects.create_user("analyst", level="bureau", role="bureau_analyst")
    driver = Driver.objects.get(name="王五")

    masked = dict(zip(*sheet_rows(export_registry(
        kind="driver", queryset=Driver.objects.filter(pk=driver.pk), actor=analyst)),
        strict=True))
    assert masked["身份证号码"] == driver.masked_id_number
    assert masked["联系电话"] == driver.masked_phone

    full = dict(zip(*sheet_rows(export_registry(
        kind="driver", queryset=Driver.objects.filter(pk=driver.pk), actor=bureau_user)),
        strict=True))
    assert full["身份证号码"] == driver.id_number
    assert full["联系电话"] == driver.phone

    certificates = sheet_rows(export_registry(kind="certificate",
                                              queryset=Certificate.objects.all(), actor=analyst))
    assert all("********" in row[0] for row in certificates[1:])


def test_export_is_limited_to_the_users_scope(registry, district_a_user, world):
    content = export_registry(kind="vehicle", queryset=Vehicle.objects.all(),
                              actor=district_a_user)
    plates = {row[0] for row in sheet_rows(content)[1:]}
    assert plates == set(Vehicle.objects.filter(registered_district=world.district_a)
                         .values_list("plate", flat=True))
    assert world.vehicle_b.plate not in plates


def test_export_requires_the_capability(world):
    desk = User.objects.create_user("desk", level="bureau", role="desk_operator")
    with pytest.raises(PermissionDenied):
        export_registry(kind="vehicle", queryset=Vehicle.objects.all(), actor=desk)


def test_export_download_applies_the_list_filters_and_is_audited(registry, client_for,
                                                                  bureau_user):
    response = client_for(bureau_user).get(reverse("importing:export", args=["vehicle"]),
                                           {"kind": "hazmat"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = sheet_rows(response.content)
    assert [row[0] for row in rows[1:]] == ["辽L3000挂"]
    event = AuditEvent.objects.get(action="registry_export")
    assert (event.actor, event.object_type, event.detail) == (
        bureau_user, "vehicle", {"count": 1, "masked": False})


def test_export_download_forbidden_without_the_capability(world, client_for):
    desk = User.objects.create_user("desk", level="bureau", role="desk_operator")
    url = reverse("importing:export", args=["driver"])
    assert client_for(desk).get(url).status_code == 403


def test_unknown_kind_is_404(client_for, bureau_user):
    assert client_for(bureau_user).get(
        reverse("importing:export", args=["waybill"])).status_code == 404


def test_export_command_round_trips_through_the_import_command(registry, tmp_path, capsys):
    out = tmp_path / "terminals.xlsx"
    call_command("export_registry", "terminal", str(out))
    before = snapshot(Terminal)
    call_command("import_registry", "terminal", str(out))
    assert "更新：2（其中有变化：0）" in capsys.readouterr().out
    assert snapshot(Terminal) == before
