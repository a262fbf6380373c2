"""Spreadsheets for the import/export tests, built in memory with openpyxl (no binary files)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from fleet import validators
from fleet.importing.report import ImportReport
from fleet.importing.service import import_registry

VEHICLE_HEADINGS = ["车牌号码", "车牌颜色", "车辆类型", "所属企业", "车辆识别代号", "核定座位"]


def xlsx_bytes(rows: Sequence[Sequence[Any]], *, title: str = "Sheet1") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: Sequence[Sequence[Any]], encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def run(kind: str, content: bytes, actor: User | None, *, dry_run: bool = False,
        name: str = "upload.xlsx") -> ImportReport:
    return import_registry(kind=kind, file=SimpleUploadedFile(name, content), actor=actor,
                           dry_run=dry_run)


def vin(serial: int) -> str:
    body = f"LFV2A21K0A3{serial:06d}"
    return body[:8] + validators.vin_check_character(body) + body[9:]


def bad_vin(serial: int) -> str:
    good = vin(serial)
    wrong = "0" if good[8] != "0" else "1"
    return good[:8] + wrong + good[9:]


def vehicle_row(n: int, enterprise: str, **overrides: Any) -> list[Any]:
    row = {"车牌号码": f"辽L{30000 + n:05d}", "车牌颜色": "蓝色", "车辆类型": "巡游出租汽车",
           "所属企业": enterprise, "车辆识别代号": vin(n), "核定座位": 5}
    row.update(overrides)
    return [row[heading] for heading in VEHICLE_HEADINGS]


def errors_of(report: ImportReport) -> set[tuple[int, str]]:
    return {(error.row, error.column) for error in report.errors}
