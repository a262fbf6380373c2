"""The columns of each sheet kind: Chinese heading, accepted synonyms, and how cells read.

The first heading is the one the template and the export write; synonyms are what bureaus'
own spreadsheets call the same column. Headings compare after ``fold`` (full-width brackets,
spaces and case do not matter) with a leading/trailing ``*`` (the "required" marker many
templates use) removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import Choices, Model
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from fleet import validators
from fleet.importing import cells
from fleet.models import Certificate, Driver, Enterprise, Terminal, Vehicle
from fleet.models.registry import (
    AlarmStandard,
    CertificateKind,
    EnterpriseKind,
    PlateColour,
    ProtocolEdition,
    VehicleKind,
    VehicleStatus,
)


def _labels(choices: type[Choices]) -> dict[Any, str]:
    """Code → Chinese label. The msgids are the Chinese the bureau's sheets use, so read them
    untranslated: an English-speaking user's export must still re-import."""
    with translation.override(None):
        return {value: str(label) for value, label in choices.choices}


class Plate(cells.Text):
    def parse(self, raw: Any) -> str | None:
        text = super().parse(raw)
        return validators.normalise_plate(text) if text else None


PLATE = Plate()

PLATE_COLOUR = cells.Choice(_labels(PlateColour), {
    "蓝": 1, "蓝牌": 1, "黄": 2, "黄牌": 2, "黑": 3, "黑牌": 3, "白": 4, "白牌": 4,
    "绿": 5, "绿色": 5, "绿牌": 5, "新能源": 5, "渐变绿": 5, "黄绿": 6, "黄绿色": 6,
    "黄绿双拼": 6, "其它": 9,
})
VEHICLE_KIND = cells.Choice(_labels(VehicleKind), {
    "出租车": "taxi", "出租汽车": "taxi", "巡游车": "taxi", "巡游出租车": "taxi",
    "网络预约出租汽车": "ride_hailing", "网约出租车": "ride_hailing",
    "公交车": "bus", "公交": "bus", "公共汽车": "bus", "公共汽电车": "bus",
    "客运班线": "coach", "包车": "coach", "客车": "coach", "班线客车": "coach",
    "旅游包车": "coach", "客运车辆": "coach",
    "危货车": "hazmat", "危险品运输车": "hazmat", "危险货物运输车": "hazmat",
    "危运车辆": "hazmat",
    "重型货车": "heavy_truck", "重货": "heavy_truck", "重型载货车": "heavy_truck",
})
VEHICLE_STATUS = cells.Choice(_labels(VehicleStatus), {
    "正常": "in_service", "在用": "in_service", "营运中": "in_service", "停业": "suspended",
    "暂停营运": "suspended", "注销": "scrapped", "已报废": "scrapped",
})
ENTERPRISE_KIND = cells.Choice(_labels(EnterpriseKind), {
    "出租车公司": "taxi_company", "出租汽车公司": "taxi_company",
    "巡游出租汽车企业": "taxi_company",
    "公交公司": "bus_company", "公共交通企业": "bus_company",
    "客运公司": "passenger_transport", "道路旅客运输企业": "passenger_transport",
    "危货企业": "hazmat_carrier", "危险品运输企业": "hazmat_carrier",
    "危险货物道路运输企业": "hazmat_carrier",
    "货运企业": "freight", "普通货运": "freight", "道路货物运输企业": "freight",
    "网约车平台公司": "ride_hailing_platform", "网络预约出租汽车经营者": "ride_hailing_platform",
})
CERTIFICATE_KIND = cells.Choice(_labels(CertificateKind), {
    "旅客运输驾驶员": "passenger_driver", "客运驾驶员": "passenger_driver",
    "货物运输驾驶员": "cargo_driver", "货运驾驶员": "cargo_driver",
    "危险货物运输驾驶员": "hazmat_driver", "危货驾驶员": "hazmat_driver",
    "危险货物运输押运人员": "hazmat_escort", "押运员": "hazmat_escort",
    "危货押运员": "hazmat_escort", "押运人员": "hazmat_escort",
    "出租汽车驾驶员": "taxi_driver", "巡游车驾驶员": "taxi_driver",
    "网约车驾驶员": "ride_hailing_driver", "网约车驾驶员证": "ride_hailing_driver",
})
PROTOCOL_EDITION = cells.Choice(_labels(ProtocolEdition), {
    "JT/T808-2011": "2011", "JT/T808-2013": "2013", "JT/T808-2019": "2019",
    "808-2011": "2011", "808-2013": "2013", "808-2019": "2019",
})
ALARM_STANDARD = cells.Choice(_labels(AlarmStandard), {
    "江苏": "su", "苏": "su", "广东": "yue", "粤": "yue",
})


@dataclass(frozen=True)
class Column:
    key: str  # the model field it fills, or a reference handled by the kind's handler
    headings: tuple[str, ...]  # first one is canonical
    codec: cells.Codec = cells.TEXT
    required: bool = False
    personal: str = ""  # "id" or "phone": masked in exports without VIEW_PERSONAL_DATA
    unless: str = ""  # a required cell may be blank when this other column is filled

    @property
    def heading(self) -> str:
        return self.headings[0]


@dataclass(frozen=True)
class SheetSpec:
    kind: str
    label: Any  # lazy Chinese name, also the sheet title
    model: type[Model]
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]  # column keys
    aliases: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        aliases: dict[str, str] = {}
        for column in self.columns:
            for heading in column.headings:
                folded = fold_heading(heading)
                # One heading naming two columns would make a sheet ambiguous: fail at start-up.
                if aliases.setdefault(folded, column.key) != column.key:
                    raise ValueError(f"{self.kind}: heading {heading!r} names two columns")
        object.__setattr__(self, "aliases", aliases)

    def column(self, key: str) -> Column:
        return next(column for column in self.columns if column.key == key)

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(column for column in self.columns if column.required)


def fold_heading(text: str) -> str:
    return cells.fold(text).strip("*:：")


_ENTERPRISE_REF = (
    Column("enterprise", ("所属企业", "企业名称", "所属企业名称", "业户名称", "经营业户")),
    Column("enterprise_code", ("所属企业统一社会信用代码", "企业统一社会信用代码",
                               "企业信用代码", "统一社会信用代码"), cells.UPPER),
)

ENTERPRISES = SheetSpec(
    kind="enterprise", label=_("企业"), model=Enterprise, natural_key=("credit_code",),
    columns=(
        Column("name", ("企业名称", "企业全称", "单位名称", "业户名称"), required=True),
        Column("credit_code", ("统一社会信用代码", "社会信用代码", "信用代码"), cells.UPPER,
               required=True),
        Column("kind", ("企业类型", "企业类别", "经营类别"), ENTERPRISE_KIND, required=True),
        Column("district", ("所属区县", "区县", "所在区县", "行政区划"), required=True),
        Column("permit_number", ("经营许可证号", "道路运输经营许可证号", "许可证号")),
        Column("permit_valid_from", ("许可证有效期起", "许可证有效期自", "许可证起始日期"),
               cells.DATE),
        Column("permit_valid_to", ("许可证有效期止", "许可证有效期至", "许可证截止日期"),
               cells.DATE),
        Column("safety_contact", ("安全负责人", "安全管理负责人")),
        Column("safety_contact_phone", ("联系电话", "安全负责人电话", "电话"), personal="phone"),
        Column("address", ("地址", "经营地址", "注册地址")),
    ),
)

VEHICLES = SheetSpec(
    kind="vehicle", label=_("车辆"), model=Vehicle, natural_key=("plate", "plate_colour"),
    columns=(
        Column("plate", ("车牌号码", "车牌号", "号牌号码", "车牌"), PLATE, required=True),
        Column("plate_colour", ("车牌颜色", "号牌颜色", "车牌颜色代码"), PLATE_COLOUR,
               required=True),
        Column("kind", ("车辆类型", "车辆类别", "行业类别"), VEHICLE_KIND, required=True),
        replace(_ENTERPRISE_REF[0], required=True, unless="enterprise_code"),
        _ENTERPRISE_REF[1],
        Column("registered_district", ("登记区县", "所属区县", "区县")),
        Column("vin", ("车辆识别代号", "VIN", "车辆识别代号/VIN", "车辆识别代码", "车架号"),
               cells.UPPER),
        Column("seats", ("核定座位", "核定座位数", "座位数", "核定载客"), cells.INTEGER),
        Column("rated_load_kg", ("核定载质量(kg)", "核定载质量", "核定载质量(千克)",
                                 "核定载重量"), cells.INTEGER),
        Column("transport_cert_number", ("道路运输证号", "运输证号")),
        Column("transport_cert_valid_to", ("道路运输证有效期至", "道路运输证有效期止",
                                           "运输证有效期至"), cells.DATE),
        Column("hazmat_goods_classes", ("许可危险货物类别", "危险货物类别", "危货类别"),
               cells.TEXT_LIST),
        Column("tank_capacity_m3", ("罐体容积(m³)", "罐体容积", "罐体容积(m3)",
                                    "罐体容积(立方米)"), cells.NUMBER),
        Column("ride_hailing_permit_number", ("网约车运输证号", "网络预约出租汽车运输证号")),
        Column("ride_hailing_permit_valid_to", ("网约车运输证有效期至", "网约车运输证有效期止"),
               cells.DATE),
        Column("status", ("状态", "车辆状态", "营运状态"), VEHICLE_STATUS),
        # By line number: only a bus has a 公交线路, only a coach a 客运班线.
        Column("bus_line", ("公交线路", "公交线路编号", "公交线路号")),
        Column("coach_line", ("客运班线", "客运班线编号", "班线编号")),
    ),
)

DRIVERS = SheetSpec(
    kind="driver", label=_("驾驶员"), model=Driver, natural_key=("id_number",),
    columns=(
        Column("name", ("姓名", "驾驶员姓名"), required=True),
        Column("id_number", ("身份证号码", "身份证号", "公民身份号码", "证件号码"), cells.UPPER,
               required=True, personal="id"),
        Column("phone", ("联系电话", "手机号码", "手机号", "电话"), personal="phone"),
        *_ENTERPRISE_REF,
    ),
)

CERTIFICATES = SheetSpec(
    kind="certificate", label=_("从业资格证"), model=Certificate, natural_key=("kind", "number"),
    columns=(
        Column("driver", ("身份证号码", "身份证号", "公民身份号码", "证件号码"), cells.UPPER,
               required=True, personal="id"),
        # Not stored: compared with the driver found by ID number to catch a mistyped ID.
        Column("driver_name", ("姓名", "驾驶员姓名")),
        Column("kind", ("资格类别", "从业资格类别", "资格证类别"), CERTIFICATE_KIND, required=True),
        Column("number", ("从业资格证号", "资格证号", "从业资格证号码", "证号"), required=True),
        Column("issuer", ("发证机关", "发证单位")),
        Column("valid_from", ("有效期起", "有效期自", "有效期开始"), cells.DATE),
        Column("valid_to", ("有效期至", "有效期止", "有效期截止"), cells.DATE, required=True),
    ),
)

TERMINALS = SheetSpec(
    kind="terminal", label=_("车载终端"), model=Terminal, natural_key=("sim_number",),
    columns=(
        Column("sim_number", ("终端手机号", "SIM卡号", "终端手机号/SIM卡号", "SIM卡号码",
                              "终端SIM卡号"), required=True),
        Column("auth_code", ("鉴权码",), required=True),
        Column("maker", ("制造商", "制造商ID", "制造商编号", "终端制造商")),
        Column("model", ("终端型号", "型号")),
        Column("device_id", ("终端ID", "终端编号")),
        Column("protocol_edition", ("协议版本", "通信协议版本"), PROTOCOL_EDITION),
        Column("alarm_standard", ("主动安全标准", "报警标准"), ALARM_STANDARD),
        Column("plate", ("车牌号码", "车牌号", "号牌号码", "车牌"), PLATE),
        Column("plate_colour", ("车牌颜色", "号牌颜色", "车牌颜色代码"), PLATE_COLOUR),
        Column("active", ("在用", "是否在用"), cells.YES_NO),
    ),
)

SPECS: dict[str, SheetSpec] = {spec.kind: spec for spec in (ENTERPRISES, VEHICLES, DRIVERS,
                                                            CERTIFICATES, TERMINALS)}
KIND_CHOICES: list[tuple[str, Any]] = [(spec.kind, spec.label) for spec in SPECS.values()]


@dataclass(frozen=True)
class HeaderMatch:
    columns: dict[str, int]  # column key → 0-based cell index
    headings: dict[str, str]  # column key → the heading as written in the file
    unknown: tuple[str, ...]
    duplicates: tuple[str, ...]

    def heading(self, spec: SheetSpec, key: str) -> str:
        return self.headings.get(key) or spec.column(key).heading


def match_header(spec: SheetSpec, cells_in_row: Iterable[Any]) -> HeaderMatch:
    columns: dict[str, int] = {}
    headings: dict[str, str] = {}
    unknown: list[str] = []
    duplicates: list[str] = []
    for index, raw in enumerate(cells_in_row):
        text = cells.cell_text(raw)
        if not text:
            continue
        key = spec.aliases.get(fold_heading(text))
        if key is None:
            unknown.append(text)
        elif key in columns:
            duplicates.append(text)
        else:
            columns[key] = index
            headings[key] = text
    return HeaderMatch(columns, headings, tuple(unknown), tuple(duplicates))


# Bureaus' sheets often carry a title row or two above the headings.
HEADER_SEARCH_ROWS = 20


def find_header(spec: SheetSpec, rows: list[tuple[int, tuple[Any, ...]]]
                ) -> tuple[int, HeaderMatch] | None:
    """(index into ``rows``, match) of the row naming most known columns among the first
    non-blank rows; ``None`` when none names any."""
    best: tuple[int, HeaderMatch] | None = None
    searched = 0
    for index, (_number, row) in enumerate(rows):
        if not any(cells.cell_text(value) for value in row):
            continue
        match = match_header(spec, row)
        if match.columns and (best is None or len(match.columns) > len(best[1].columns)):
            best = (index, match)
        searched += 1
        if searched >= HEADER_SEARCH_ROWS:
            break
    return best
