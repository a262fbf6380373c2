"""Spreadsheet import: each kind, validation with row/column reports, all-or-nothing, scope,
refusals of bad files, the portal page and the management command.

The spreadsheets are built in memory (tests/fleet/data/sheets.py); no binary fixtures.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from accounts.models import AuditEvent, User
from accounts.roles import ROLE_CAPABILITIES, Capability, Role
from fleet.models import Certificate, Driver, Enterprise, Terminal, Vehicle
from tests import factories
from tests.fleet.data.lines import make_bus_line, make_coach_line
from tests.fleet.data.sheets import (
    VEHICLE_HEADINGS,
    bad_vin,
    csv_bytes,
    errors_of,
    run,
    vehicle_row,
    vin,
    xlsx_bytes,
)

pytestmark = pytest.mark.django_db

@pytest.fixture
def importing_district_a_user(district_a_user: User, monkeypatch: pytest.MonkeyPatch) -> User:
    """A district user who may import. No district role has the capability today; the scope
    rules must hold regardless of the role table."""
    monkeypatch.setitem(ROLE_CAPABILITIES, Role.DISTRICT_OPERATOR,
                        ROLE_CAPABILITIES[Role.DISTRICT_OPERATOR] | {Capability.IMPORT_REGISTRY})
    return district_a_user


# --- a good sheet of each kind -----------------------------------------------------------------

def test_enterprise_sheet_imports(bureau_user, world):
    code = factories.credit_code(900001)
    content = xlsx_bytes([
        ["企业名称", "统一社会信用代码", "企业类型", "所属区县", "经营许可证号", "许可证有效期起",
         "许可证有效期止", "安全负责人", "联系电话", "地址"],
        ["盘锦危货运输有限公司", code, "危险货物运输企业", "211103", "辽交运管许可盘字001号",
         dt.date(2024, 1, 1), "2028/12/31", "李四", "13912345678", "兴隆台区石油大街1号"],
    ])
    report = run("enterprise", content, bureau_user)
    assert report.ok and report.committed, report.as_text()
    assert (report.created, report.updated) == (1, 0)
    enterprise = Enterprise.objects.get(credit_code=code)
    assert enterprise.kind == "hazmat_carrier"
    assert enterprise.district == world.district_b
    assert enterprise.permit_valid_to == dt.date(2028, 12, 31)
    assert enterprise.safety_contact_phone == "13912345678"


def test_vehicle_sheet_imports(bureau_user, world):
    content = xlsx_bytes([
        ["车牌号码", "车牌颜色", "车辆类型", "所属企业", "登记区县", "VIN", "核定座位",
         "核定载质量（kg）", "道路运输证号", "道路运输证有效期至", "许可危险货物类别", "罐体容积",
         "网约车运输证号", "状态"],
        ["辽L30001", "蓝色", "出租车", world.enterprise_a.name, "", vin(1), 5, None, "211100001",
         "2027年6月30日", "", None, "", "营运"],
        ["辽LD12345", 5, "网约车", world.enterprise_a.credit_code, "兴隆台区", vin(2), 5, None,
         "", None, "", None, "辽网约211100000009", ""],
        ["辽L3000挂", "黄色", "危货车", world.enterprise_b.name, "211103", "", None, 30000,
         "", "", "2.1、3，8", 40.5, "", "停运"],
    ])
    report = run("vehicle", content, bureau_user)
    assert report.ok, report.as_text()
    assert report.created == 3
    taxi = Vehicle.objects.get(plate="辽L30001", plate_colour=1)
    assert taxi.registered_district == world.district_a  # defaults to the enterprise's district
    assert taxi.transport_cert_valid_to == dt.date(2027, 6, 30)
    assert taxi.status == "in_service"
    ride = Vehicle.objects.get(plate="辽LD12345")
    assert (ride.kind, ride.plate_colour, ride.enterprise) == ("ride_hailing", 5,
                                                               world.enterprise_a)
    assert ride.registered_district == world.district_b
    hazmat = Vehicle.objects.get(plate="辽L3000挂")
    assert hazmat.hazmat_goods_classes == ["2.1", "3", "8"]
    assert hazmat.tank_capacity_m3 == Decimal("40.5")
    assert hazmat.status == "suspended"


def test_driver_sheet_imports(bureau_user, world):
    id_number = factories.id_number(501)
    content = xlsx_bytes([
        ["姓名", "身份证号码", "联系电话", "所属企业"],
        ["王五", id_number.lower(), 13800001111, world.enterprise_a.name],
        ["赵六", factories.id_number(502), "", ""],
    ])
    report = run("driver", content, bureau_user)
    assert report.ok, report.as_text()
    driver = Driver.objects.get(id_number=id_number)
    assert (driver.name, driver.phone, driver.enterprise) == ("王五", "13800001111",
                                                            world.enterprise_a)
    assert Driver.objects.get(name="赵六").enterprise is None


def test_certificate_sheet_imports(bureau_user, world):
    driver = factories.make_driver(world.enterprise_a, name="孙七")
    content = xlsx_bytes([
        ["姓名", "身份证号码", "资格类别", "从业资格证号", "发证机关", "有效期起", "有效期至"],
        ["孙七", driver.id_number, "巡游出租汽车驾驶员", "211100200001", "盘锦市交通运输局",
         "2021-03-01", "2027-02-28"],
        ["孙七", driver.id_number, "cargo_driver", "211100200002", "", "", dt.date(2026, 1, 1)],
    ])
    report = run("certificate", content, bureau_user)
    assert report.ok, report.as_text()
    certificate = Certificate.objects.get(kind="taxi_driver", number="211100200001")
    assert certificate.driver == driver
    assert (certificate.valid_from, certificate.valid_to) == (dt.date(2021, 3, 1),
                                                              dt.date(2027, 2, 28))
    assert driver.certificates.count() == 2


def test_terminal_sheet_imports(bureau_user, world):
    content = xlsx_bytes([
        ["终端手机号", "鉴权码", "制造商", "终端型号", "终端ID", "协议版本", "车牌号码",
         "车牌颜色"],
        ["013912340001", "AUTH-1", "70101", "ZD-808", "T0001", "JT/T 808-2019", "辽L10001",
         "蓝色"],
        [13912340002, "AUTH-2", "", "", "", "", "", ""],
    ])
    report = run("terminal", content, bureau_user)
    assert report.ok, report.as_text()
    bound = Terminal.objects.get(sim_number="013912340001")
    assert (bound.vehicle, bound.protocol_edition) == (world.vehicle_a, "2019")
    unbound = Terminal.objects.get(sim_number="13912340002")
    assert unbound.vehicle is None and unbound.protocol_edition == "2013"  # model default


def test_existing_records_are_updated_by_natural_key(bureau_user, world):
    content = xlsx_bytes([
        ["车牌号码", "车牌颜色", "车辆类型", "所属企业", "核定座位", "状态"],
        ["辽L 10001", "1", "taxi", world.enterprise_a.name, 4, "停运"],  # spaces are normalised
    ])
    report = run("vehicle", content, bureau_user)
    assert report.ok, report.as_text()
    assert (report.created, report.updated, report.changed) == (0, 1, 1)
    world.vehicle_a.refresh_from_db()
    assert (world.vehicle_a.seats, world.vehicle_a.status) == (4, "suspended")
    assert Vehicle.objects.count() == 2


def test_a_terminal_matches_its_sim_number_without_leading_zeros(bureau_user, world):
    terminal = factories.make_terminal(None)  # stored as "0139…"
    content = xlsx_bytes([["SIM卡号", "鉴权码"], [terminal.sim_number.lstrip("0"), "NEW"]])
    report = run("terminal", content, bureau_user)
    assert report.ok and (report.created, report.updated) == (0, 1), report.as_text()
    terminal.refresh_from_db()
    assert terminal.auth_code == "NEW"
    assert Terminal.objects.count() == 1


# --- validation, all-or-nothing ----------------------------------------------------------------

def test_hundred_vehicles_with_three_bad_rows_import_nothing(bureau_user, world):
    rows: list[list[Any]] = [VEHICLE_HEADINGS]
    for n in range(1, 101):
        rows.append(vehicle_row(n, world.enterprise_a.name))
    # Spreadsheet row = list index + 1 (the header is row 1).
    rows[14] = vehicle_row(14, world.enterprise_a.name, 车牌号码="辽L1234")  # too short
    rows[50] = vehicle_row(50, "不存在的运输公司")
    rows[87] = vehicle_row(87, world.enterprise_a.name, 车辆识别代号=bad_vin(87))
    before = Vehicle.objects.count()

    report = run("vehicle", xlsx_bytes(rows), bureau_user)

    assert not report.committed
    assert Vehicle.objects.count() == before
    assert errors_of(report) == {(15, "车牌号码"), (51, "所属企业"), (88, "车辆识别代号")}
    messages = {error.row: error.message for error in report.errors}
    assert "车牌号码格式不正确" in messages[15]
    assert "未找到企业" in messages[51]
    assert "校验位" in messages[88]
    assert report.rows == 100 and report.created == 97
    assert not AuditEvent.objects.filter(action="registry_import").exists()


def test_model_rules_are_reported_against_their_columns(bureau_user, world):
    name = world.enterprise_a.name
    content = xlsx_bytes([
        ["车牌号码", "车牌颜色", "车辆类型", "所属企业", "核定座位", "登记区县"],
        ["辽LD12345", "蓝色", "网约车", name, 5, ""],  # green plate number, blue colour
        ["辽L30002", "蓝色", "出租车", name, None, ""],  # passenger vehicle without seats
        ["辽L30003", "紫色", "出租车", name, 5, ""],  # unknown colour
        ["辽L30004", "蓝色", "出租车", name, 5, "999999"],  # unknown district
    ])
    report = run("vehicle", content, bureau_user)
    assert errors_of(report) >= {(2, "车牌颜色"), (3, "核定座位"), (4, "车牌颜色"), (5, "登记区县")}
    assert any("新能源" in e.message for e in report.errors if e.row == 2)


def test_dry_run_writes_nothing(bureau_user, world):
    rows = [VEHICLE_HEADINGS, *(vehicle_row(n, world.enterprise_a.name) for n in range(1, 6))]
    report = run("vehicle", xlsx_bytes(rows), bureau_user, dry_run=True)
    assert report.ok and report.created == 5
    assert not report.committed
    assert Vehicle.objects.count() == 2
    assert not AuditEvent.objects.exists()


def test_duplicate_key_in_the_file_is_an_error_on_the_second_row(bureau_user, world):
    rows = [VEHICLE_HEADINGS, vehicle_row(1, world.enterprise_a.name),
            vehicle_row(2, world.enterprise_a.name),
            vehicle_row(1, world.enterprise_a.name, 车辆识别代号=vin(3))]
    report = run("vehicle", xlsx_bytes(rows), bureau_user)
    assert errors_of(report) == {(4, "车牌号码")}
    assert "第2行" in report.errors[0].message
    assert Vehicle.objects.count() == 2


def test_two_active_terminals_on_one_vehicle_are_refused(bureau_user, world):
    content = xlsx_bytes([
        ["终端手机号", "鉴权码", "车牌号码", "车牌颜色"],
        ["13912340001", "A", "辽L10001", "蓝色"],
        ["13912340002", "B", "辽L10001", "蓝色"],
    ])
    report = run("terminal", content, bureau_user)
    assert errors_of(report) == {(3, "车牌号码")}
    assert not Terminal.objects.exists()


def test_certificate_for_unknown_driver_or_wrong_name(bureau_user, world):
    driver = factories.make_driver(world.enterprise_a, name="孙七")
    content = xlsx_bytes([
        ["姓名", "身份证号码", "资格类别", "从业资格证号", "有效期至"],
        ["孙七", factories.id_number(777), "巡游出租汽车驾驶员", "C1", "2030-01-01"],
        ["周八", driver.id_number, "巡游出租汽车驾驶员", "C2", "2030-01-01"],
        ["孙七", driver.id_number, "巡游出租汽车驾驶员", "C3", "2030-13-01"],
    ])
    report = run("certificate", content, bureau_user)
    assert errors_of(report) == {(2, "身份证号码"), (3, "姓名"), (4, "有效期至")}


# --- scope -------------------------------------------------------------------------------------

def test_district_user_cannot_attach_a_vehicle_to_another_districts_enterprise(
        importing_district_a_user, world):
    rows = [VEHICLE_HEADINGS,
            vehicle_row(1, world.enterprise_b.name),
            vehicle_row(2, world.enterprise_b.credit_code),
            vehicle_row(3, world.enterprise_a.name)]
    report = run("vehicle", xlsx_bytes(rows), importing_district_a_user)
    assert errors_of(report) == {(2, "所属企业"), (3, "所属企业")}
    assert all("未找到企业" in error.message for error in report.errors)
    assert Vehicle.objects.count() == 2


def test_district_user_cannot_take_over_another_districts_vehicle(
        importing_district_a_user, world):
    content = xlsx_bytes([
        ["车牌号码", "车牌颜色", "车辆类型", "所属企业", "核定座位", "登记区县"],
        [world.vehicle_b.plate, "蓝色", "出租车", world.enterprise_a.name, 5, ""],
        ["辽L30001", "蓝色", "出租车", world.enterprise_a.name, 5, "兴隆台区"],
    ])
    report = run("vehicle", content, importing_district_a_user)
    assert errors_of(report) == {(2, "车牌号码"), (3, "登记区县")}
    world.vehicle_b.refresh_from_db()
    assert world.vehicle_b.enterprise == world.enterprise_b


def test_district_user_cannot_create_a_driver_outside_their_scope(
        importing_district_a_user, world):
    content = xlsx_bytes([["姓名", "身份证号码", "所属企业"],
                          ["王五", factories.id_number(601), ""]])
    report = run("driver", content, importing_district_a_user)
    assert errors_of(report) == {(2, "所属企业")}
    assert "管辖范围" in report.errors[0].message
    assert not Driver.objects.exists()


def test_import_requires_the_capability(district_a_user, world):
    with pytest.raises(PermissionDenied):
        run("vehicle", xlsx_bytes([VEHICLE_HEADINGS]), district_a_user)


# --- file formats and refusals -----------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_utf8_and_gbk(bureau_user, world, encoding):
    rows = [VEHICLE_HEADINGS, vehicle_row(1, world.enterprise_a.name),
            vehicle_row(2, world.enterprise_b.name, 车辆类型="出租车")]
    report = run("vehicle", csv_bytes(rows, encoding), bureau_user, name="车辆.csv")
    assert report.ok, report.as_text()
    assert report.created == 2
    assert Vehicle.objects.filter(enterprise=world.enterprise_b, plate="辽L30002").exists()


def test_tab_separated_csv_with_the_enterprise_named_by_credit_code(bureau_user, world):
    content = ("车牌号码\t车牌颜色\t车辆类型\t业户名称\t统一社会信用代码\t核定座位\n"
               f"辽L30001\t1\t出租车\t\t{world.enterprise_b.credit_code}\t5\n").encode("gbk")
    report = run("vehicle", content, bureau_user, name="车辆.csv")
    assert report.ok, report.as_text()
    assert Vehicle.objects.get(plate="辽L30001").enterprise == world.enterprise_b


def test_header_detection_is_tolerant(bureau_user, world):
    content = xlsx_bytes([
        ["盘锦市出租汽车车辆信息表"],
        [],
        ["  车牌号码 ", "*车牌颜色", "车辆类型\n", "所属企业", "核定载质量（KG）", "核定座位",
         "备注", "联系人"],
        ["辽L30001", "蓝色", "出租车", world.enterprise_a.name, None, 5, "新车", "张"],
    ])
    report = run("vehicle", content, bureau_user)
    assert report.ok, report.as_text()
    assert report.unknown_columns == ["备注", "联系人"]
    assert Vehicle.objects.filter(plate="辽L30001").exists()


def test_dates_in_every_accepted_form(bureau_user, world):
    base = ["辽L3000{}", "蓝色", "出租车", world.enterprise_a.name, 5]
    dates = [dt.datetime(2027, 6, 30), "2027-06-30", "2027/6/30", "2027年06月30日", 46568]
    rows = [["车牌号码", "车牌颜色", "车辆类型", "所属企业", "核定座位", "道路运输证有效期至"]]
    rows += [[base[0].format(i), *base[1:], value] for i, value in enumerate(dates)]
    report = run("vehicle", xlsx_bytes(rows), bureau_user)
    assert report.ok, report.as_text()
    assert set(Vehicle.objects.filter(plate__startswith="辽L3000").values_list(
        "transport_cert_valid_to", flat=True)) == {dt.date(2027, 6, 30)}


def test_missing_required_column_is_a_file_error(bureau_user, world):
    report = run("vehicle", xlsx_bytes([["车牌号码", "车辆类型"], ["辽L30001", "出租车"]]),
                 bureau_user)
    assert report.file_errors and "车牌颜色" in report.file_errors[0]
    assert "所属企业" in report.file_errors[0]
    assert not report.errors


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("empty.xlsx", b"", "文件为空"),
    ("broken.xlsx", b"PK\x03\x04 this is not really a zip archive", "不是有效的 .xlsx"),
    ("renamed.xlsx", "车牌号码,车牌颜色\n".encode(), "不是有效的 Excel"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    ("picture.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "只支持 .xlsx 和 .csv"),
    ("binary.csv", b"\x00\x01\x02\x03" * 50, "不是 .xlsx 或 .csv"),
    ("title-only.csv", "盘锦市车辆信息表\n\n说明\n".encode(), "未找到表头行"),
])
def test_unusable_files_are_refused_with_a_message(bureau_user, world, name, content, expected):
    report = run("vehicle", content, bureau_user, name=name)
    assert len(report.file_errors) == 1
    assert expected in report.file_errors[0]


@override_settings(IMPORT_MAX_BYTES=1024)
def test_oversize_file_is_refused(bureau_user, world):
    report = run("vehicle", b"x" * 2048, bureau_user, name="big.csv")
    assert "文件过大" in report.file_errors[0]


def test_a_real_import_writes_one_audit_record(bureau_user, world):
    rows = [VEHICLE_HEADINGS, *(vehicle_row(n, world.enterprise_a.name) for n in range(1, 4)),
            ["辽L10001", "蓝色", "出租车", world.enterprise_a.name, "", 5]]
    report = run("vehicle", xlsx_bytes(rows), bureau_user, name="车辆台账.xlsx")
    assert report.committed
    event = AuditEvent.objects.get(action="registry_import")
    assert (event.actor, event.object_type) == (bureau_user, "vehicle")
    assert event.detail == {"filename": "车辆台账.xlsx", "rows": 4, "created": 3, "updated": 1,
                            "changed": 0}


# --- the portal page ---------------------------------------------------------------------------

def post_file(client, kind: str, content: bytes, action: str, name: str = "upload.xlsx"):
    return client.post(reverse("importing:upload"), {
        "kind": kind, "action": action, "file": SimpleUploadedFile(name, content)})


def test_page_requires_the_capability(client_for, district_a_user, enterprise_a_user, client):
    url = reverse("importing:upload")
    assert client.get(url).status_code == 302  # to the login page
    assert client_for(district_a_user).get(url).status_code == 403
    assert client_for(enterprise_a_user).post(url, {"kind": "vehicle"}).status_code == 403
    assert client_for(district_a_user).get(
        reverse("importing:template", args=["vehicle"])).status_code == 403


def test_page_shows_the_form_and_downloads(client_for, bureau_user):
    response = client_for(bureau_user).get(reverse("importing:upload"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "只检查（试导入）" in html and "导入" in html
    assert reverse("importing:template", args=["terminal"]) in html
    assert reverse("importing:export", args=["vehicle"]) in html


def test_page_dry_run_shows_the_bad_rows(client_for, bureau_user, world):
    rows = [VEHICLE_HEADINGS, vehicle_row(1, world.enterprise_a.name),
            vehicle_row(2, "不存在的运输公司")]
    response = post_file(client_for(bureau_user), "vehicle", xlsx_bytes(rows), "check")
    assert response.status_code == 200
    report = response.context["report"]
    assert report.dry_run and errors_of(report) == {(3, "所属企业")}
    html = response.content.decode()
    assert "行号" in html and "未找到企业" in html
    assert Vehicle.objects.count() == 2


def test_page_real_import_writes(client_for, bureau_user, world):
    rows = [VEHICLE_HEADINGS, vehicle_row(1, world.enterprise_a.name)]
    response = post_file(client_for(bureau_user), "vehicle", xlsx_bytes(rows), "import")
    assert response.status_code == 200
    assert response.context["report"].committed
    assert Vehicle.objects.filter(plate="辽L30001").exists()
    assert AuditEvent.objects.filter(action="registry_import", actor=bureau_user).count() == 1


@override_settings(IMPORT_MAX_BYTES=1024)
def test_page_refuses_oversize_and_non_spreadsheets_without_a_500(client_for, bureau_user):
    client = client_for(bureau_user)
    big = post_file(client, "vehicle", b"a,b\n" * 1000, "import", name="big.csv")
    assert big.status_code == 200
    assert "文件过大" in big.content.decode()
    junk = post_file(client, "vehicle", b"PK\x03\x04garbage", "import", name="x.xlsx")
    assert junk.status_code == 200
    assert "不是有效的 .xlsx" in junk.content.decode()
    empty = post_file(client, "vehicle", b"", "check", name="x.csv")
    assert empty.status_code == 200
    assert "文件为空" in empty.content.decode()


def test_blank_template_has_the_headings_and_reimports_as_no_data(client_for, bureau_user):
    response = client_for(bureau_user).get(reverse("importing:template", args=["vehicle"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    headings = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert headings[:4] == ["车牌号码", "车牌颜色", "车辆类型", "所属企业"]
    report = run("vehicle", response.content, bureau_user)
    assert report.file_errors == ["表头下没有数据行"] and not report.unknown_columns


# --- management command ------------------------------------------------------------------------

def test_command_imports_and_fails_on_bad_rows(tmp_path, world, bureau_user, capsys):
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx_bytes([VEHICLE_HEADINGS, vehicle_row(1, world.enterprise_a.name)]))
    call_command("import_registry", "vehicle", str(good), "--dry-run")
    assert Vehicle.objects.count() == 2
    call_command("import_registry", "vehicle", str(good), "--user", bureau_user.username)
    assert Vehicle.objects.count() == 3

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx_bytes([VEHICLE_HEADINGS, vehicle_row(2, "不存在的运输公司")]))
    with pytest.raises(CommandError):
        call_command("import_registry", "vehicle", str(bad))
    assert "第2行" in capsys.readouterr().out
    assert Vehicle.objects.count() == 3


def test_command_respects_the_users_capability(tmp_path, world, district_a_user):
    path = tmp_path / "v.xlsx"
    path.write_bytes(xlsx_bytes([VEHICLE_HEADINGS]))
    with pytest.raises(CommandError):
        call_command("import_registry", "vehicle", str(path), "--user", district_a_user.username)


# --- bus and coach lines -----------------------------------------------------------------------

LINE_HEADINGS = ["车牌号码", "车牌颜色", "车辆类型", "所属企业", "核定座位", "公交线路", "客运班线"]


def _line_row(plate: str, kind: str, enterprise: str, bus_line: Any = "",
              coach_line: Any = "") -> list[Any]:
    return [plate, "黄色", kind, enterprise, 45, bus_line, coach_line]


def test_vehicle_lines_import_by_number(bureau_user, world):
    make_bus_line(world.enterprise_a, number="12")
    make_coach_line(world.enterprise_a, number="KY001")
    name = world.enterprise_a.name
    content = xlsx_bytes([
        LINE_HEADINGS,
        _line_row("辽L40001", "公交车", name, bus_line=12),  # a number cell, as Excel keeps it
        _line_row("辽L40002", "客运班线", name, coach_line="KY001"),
        _line_row("辽L40003", "旅游包车", name),  # a charter coach: no line
    ])
    report = run("vehicle", content, bureau_user)
    assert report.ok, report.as_text()
    lines = dict(Vehicle.objects.filter(plate__startswith="辽L4000").values_list(
        "plate", "bus_line__number"))
    assert lines == {"辽L40001": "12", "辽L40002": None, "辽L40003": None}
    assert Vehicle.objects.get(plate="辽L40002").coach_line.number == "KY001"


def test_unknown_line_number_is_an_error_on_its_column(bureau_user, world):
    make_bus_line(world.enterprise_a, number="12")
    name = world.enterprise_a.name
    content = xlsx_bytes([
        LINE_HEADINGS,
        _line_row("辽L40001", "公交车", name, bus_line="99"),
        _line_row("辽L40002", "客运班线", name, coach_line="KY404"),
        _line_row("辽L40003", "公交车", name, bus_line="12"),
    ])
    report = run("vehicle", content, bureau_user)
    assert not report.committed
    assert errors_of(report) == {(2, "公交线路"), (3, "客运班线")}
    messages = {error.row: error.message for error in report.errors}
    assert messages[2] == "未找到公交线路：99"
    assert messages[3] == "未找到客运班线：KY404"
    assert not Vehicle.objects.filter(plate__startswith="辽L4000").exists()


def test_a_line_on_a_vehicle_of_the_wrong_kind_is_a_row_error(bureau_user, world):
    make_bus_line(world.enterprise_a, number="12")
    make_coach_line(world.enterprise_a, number="KY001")
    name = world.enterprise_a.name
    content = xlsx_bytes([
        LINE_HEADINGS,
        _line_row("辽L40001", "客运班线", name, bus_line="12"),
        _line_row("辽L40002", "公交车", name, coach_line="KY001"),
        _line_row("辽L40003", "出租车", name, bus_line="12", coach_line="KY001"),
    ])
    report = run("vehicle", content, bureau_user)
    assert errors_of(report) == {(2, "公交线路"), (3, "客运班线"), (4, "公交线路"),
                                 (4, "客运班线")}
    assert any("仅城市公交车辆" in e.message for e in report.errors if e.row == 2)


def test_blank_line_cell_clears_and_absent_column_keeps(bureau_user, world):
    line = make_bus_line(world.enterprise_a, number="12")
    bus = factories.make_vehicle(world.enterprise_a, kind="bus", plate_number="辽L40001")
    Vehicle.objects.filter(pk=bus.pk).update(bus_line=line)
    name = world.enterprise_a.name
    kept = run("vehicle", xlsx_bytes([[*VEHICLE_HEADINGS[:4], "核定座位"],
                                      ["辽L40001", "黄色", "公交车", name, 45]]), bureau_user)
    assert kept.ok and kept.changed == 0, kept.as_text()
    bus.refresh_from_db()
    assert bus.bus_line == line
    cleared = run("vehicle", xlsx_bytes([LINE_HEADINGS, _line_row("辽L40001", "公交车", name)]),
                  bureau_user)
    assert cleared.ok and cleared.changed == 1, cleared.as_text()
    bus.refresh_from_db()
    assert bus.bus_line is None


def test_district_user_cannot_use_another_districts_line(importing_district_a_user, world):
    make_bus_line(world.enterprise_b, world.district_b, number="88")
    make_bus_line(world.enterprise_a, world.district_a, number="11")
    name = world.enterprise_a.name
    content = xlsx_bytes([
        LINE_HEADINGS,
        _line_row("辽L40001", "公交车", name, bus_line="88"),
        _line_row("辽L40002", "公交车", name, bus_line="11"),
    ])
    report = run("vehicle", content, importing_district_a_user)
    assert errors_of(report) == {(2, "公交线路")}
    assert report.errors[0].message == "未找到公交线路：88"  # as if it did not exist
