"""Write registry records to .xlsx with the import headings, so the file re-imports unchanged.

Reference columns are written the way the importer reads them back (enterprise name plus credit
code, district name, plate plus colour, line numbers). Personal data is masked on request; a
masked file is for reading, and re-importing it is refused by the ID/phone validators rather
than overwriting.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Model, QuerySet
from django.utils import translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from fleet import validators
from fleet.importing import cells
from fleet.importing import columns as cols
from fleet.importing.columns import SheetSpec

_HEADER_FONT = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")
_TEXT_FORMAT = "@"  # so Excel keeps 18-digit ID numbers and leading zeros as typed


def _name(obj: Any) -> str:
    return obj.name if obj is not None else ""


def _code(obj: Any) -> str:
    return obj.credit_code if obj is not None else ""


# Reference columns: how to read the value from the record. Plain columns use the field.
_REFERENCES: dict[str, dict[str, Callable[[Any], Any]]] = {
    "enterprise": {"district": lambda e: _name(e.district)},
    "vehicle": {"enterprise": lambda v: _name(v.enterprise),
                "enterprise_code": lambda v: _code(v.enterprise),
                "registered_district": lambda v: _name(v.registered_district),
                "bus_line": lambda v: v.bus_line.number if v.bus_line else "",
                "coach_line": lambda v: v.coach_line.number if v.coach_line else ""},
    "driver": {"enterprise": lambda d: _name(d.enterprise),
               "enterprise_code": lambda d: _code(d.enterprise)},
    "certificate": {"driver": lambda c: c.driver.id_number,
                    "driver_name": lambda c: c.driver.name},
    "terminal": {"plate": lambda t: t.vehicle.plate if t.vehicle else "",
                 "plate_colour": lambda t: t.vehicle.plate_colour if t.vehicle else None},
}

RELATED: dict[str, tuple[str, ...]] = {
    "enterprise": ("district",),
    "vehicle": ("enterprise", "registered_district", "bus_line", "coach_line"),
    "driver": ("enterprise",),
    "certificate": ("driver",),
    "terminal": ("vehicle",),
}


def _mask(kind: str, value: Any) -> Any:
    if not value:
        return value
    return validators.mask_id_number(value) if kind == "id" else validators.mask_phone(value)


def row_values(spec: SheetSpec, obj: Model, *, mask_personal_data: bool) -> list[Any]:
    references = _REFERENCES[spec.kind]
    values = []
    for column in spec.columns:
        read = references.get(column.key)
        value = read(obj) if read else getattr(obj, column.key)
        value = column.codec.render(value)
        if mask_personal_data and column.personal:
            value = _mask(column.personal, value)
        values.append(value)
    return values


def _text_columns(spec: SheetSpec) -> set[int]:
    return {index for index, column in enumerate(spec.columns)
            if type(column.codec) in {cells.Text, cols.Plate}}


def sheet_title(spec: SheetSpec) -> str:
    with translation.override(None):  # the Chinese msgid, whatever the user's language
        return str(spec.label)


def export_workbook(spec: SheetSpec, objects: Iterable[Model] | QuerySet, *,
                    mask_personal_data: bool) -> bytes:
    # write_only streams rows to the file: a city-wide vehicle list stays small in memory.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title(spec))
    _set_widths(sheet, spec)
    sheet.freeze_panes = "A2"
    sheet.append([_header_cell(sheet, column) for column in spec.columns])
    text_columns = _text_columns(spec)
    if isinstance(objects, QuerySet):
        objects = objects.select_related(*RELATED[spec.kind]).iterator(chunk_size=2000)
    for obj in objects:
        values = row_values(spec, obj, mask_personal_data=mask_personal_data)
        sheet.append([_cell(sheet, value, text=index in text_columns)
                      for index, value in enumerate(values)])
    return _save(workbook)


def template_workbook(spec: SheetSpec) -> bytes:
    """An empty sheet with the headings (required ones shaded) and a sheet of notes."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title(spec)
    for index, column in enumerate(spec.columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.heading)
        cell.font = _HEADER_FONT
        if column.required:
            cell.fill = _REQUIRED_FILL
        if index - 1 in _text_columns(spec):
            sheet.column_dimensions[get_column_letter(index)].number_format = _TEXT_FORMAT
    _set_widths(sheet, spec)
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    notes.append(["列", "必填", "也可写作", "可选值"])
    for column in spec.columns:
        allowed = "、".join(column.codec.labels.values()) if isinstance(
            column.codec, cells.Choice) else ""
        notes.append([column.heading, "是" if column.required else "",
                      "、".join(column.headings[1:]), allowed])
    return _save(workbook)


def _header_cell(sheet: Worksheet, column: cols.Column) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=column.heading)
    cell.font = _HEADER_FONT
    if column.required:
        cell.fill = _REQUIRED_FILL
    return cell


def _cell(sheet: Worksheet, value: Any, *, text: bool) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if not text and not value.startswith("="):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if text:
        cell.number_format = _TEXT_FORMAT
    # openpyxl stores any string starting with "=" as a formula; registry text (an address,
    # a name) must never become one in the user's Excel (formula injection).
    cell.data_type = "s"
    return cell


def _set_widths(sheet: Worksheet, spec: SheetSpec) -> None:
    for index, column in enumerate(spec.columns, start=1):
        # CJK characters are about two Latin characters wide.
        sheet.column_dimensions[get_column_letter(index)].width = max(12,
                                                                      len(column.heading) * 2 + 4)


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
