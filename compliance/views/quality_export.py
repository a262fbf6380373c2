"""The per vehicle and day quality table as .xlsx (openpyxl, streamed in write-only mode)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

if TYPE_CHECKING:
    from compliance.views.quality import Line

_HEADER_FONT = Font(bold=True)
_PERCENT = "0.0%"
_DECIMAL = "0.00"


def _columns() -> list[tuple[str, int, str | None]]:
    """(heading, width, number format); read at export time so the user's language applies."""
    return [
        (_("日期"), 12, None), (_("车牌号码"), 12, "@"), (_("车辆类型"), 14, None),
        (_("所属企业"), 28, None), (_("登记区县"), 12, None),
        (_("里程(km)"), 11, _DECIMAL), (_("完整轨迹里程(km)"), 16, _DECIMAL),
        (_("轨迹完整率"), 11, _PERCENT), (_("定位点总数"), 11, "0"), (_("合格定位点"), 11, "0"),
        (_("数据合格率"), 11, _PERCENT), (_("漂移点"), 9, "0"),
        (_("在线时长(小时)"), 14, _DECIMAL), (_("超速次数"), 10, "0"),
        (_("疲劳驾驶时长(小时)"), 18, _DECIMAL),
    ]


def _round(value: float | None, digits: int) -> float | None:
    # Stored rounded too: a copied cell should not carry 16 digits of float noise.
    return None if value is None else round(value, digits)


def _values(day: dt.date, line: Line) -> list[Any]:
    row = line.row
    return [day, row.vehicle.plate, line.kind_label, row.enterprise.name, row.district.name,
            _round(row.mileage_km, 3), _round(row.complete_mileage_km, 3),
            _round(line.completeness, 4), row.total_fixes, row.valid_fixes,
            _round(line.validity, 4), row.drift_fixes, _round(row.online_seconds / 3600, 2),
            row.overspeed_count, _round(row.fatigue_seconds / 3600, 2)]


def _cell(sheet: Worksheet, value: Any, number_format: str | None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # A registry name starting with "=" must stay text, never a formula (formula injection).
        cell.data_type = "s"
    if number_format:
        cell.number_format = number_format
    elif isinstance(value, dt.date):
        cell.number_format = "yyyy-mm-dd"
    return cell


def sheet_title(day: dt.date) -> str:
    return f"{_('数据质量')} {day:%Y%m%d}"


def filename(day: dt.date) -> str:
    with translation.override(None):  # the Chinese name whatever the user's language
        return f"{_('车辆数据质量')}_{day:%Y%m%d}.xlsx"


def workbook(day: dt.date, lines: Iterable[Line]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title(day))
    columns = _columns()
    for index, (_heading, width, _format) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "C2"
    header = []
    for heading, _width, _format in columns:
        cell = WriteOnlyCell(sheet, value=heading)
        cell.font = _HEADER_FONT
        header.append(cell)
    sheet.append(header)
    for line in lines:
        sheet.append([_cell(sheet, value, number_format) for value, (_h, _w, number_format)
                      in zip(_values(day, line), columns, strict=True)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
