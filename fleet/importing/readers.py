"""Read an uploaded .xlsx or .csv into rows of cell values, refusing what is not one.

The format is decided by content, not by the name: an .xlsx is a zip archive, a .csv is text
(UTF-8 with or without BOM, or GBK/GB18030 as saved by Chinese Excel). Every problem becomes an
``ImportFileError`` with a message for the user, so a bad upload never turns into a 500.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

# A cap on data rows keeps one upload from holding a worker for minutes; a city's registry
# sheet is well below it and larger sets can be split.
MAX_ROWS = 100_000
ALLOWED_SUFFIXES = frozenset({".xlsx", ".csv"})
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003) and other OLE files


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message says why, in Chinese."""


@dataclass(frozen=True)
class Table:
    rows: list[tuple[int, tuple[Any, ...]]]  # (spreadsheet row number, cell values)
    sheet: str  # sheet title for .xlsx, "" for .csv


def read_table(stream: IO[bytes], filename: str, size: int | None,
               preferred_sheet: str = "") -> Table:
    """Read ``stream`` (at most ``settings.IMPORT_MAX_BYTES``) into a table of rows."""
    limit = settings.IMPORT_MAX_BYTES
    if size is not None and size > limit:
        raise ImportFileError(_too_large(limit))
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".xls":
        raise ImportFileError(_XLS)
    if suffix not in ALLOWED_SUFFIXES:
        raise ImportFileError(_("只支持 .xlsx 和 .csv 文件（当前文件：%(name)s）")
                              % {"name": filename})
    if getattr(stream, "seekable", lambda: False)():
        stream.seek(0)  # a form or a previous check may have read from it
    data = stream.read(limit + 1)  # one byte more tells an oversize stream of unknown size
    if len(data) > limit:
        raise ImportFileError(_too_large(limit))
    if not data.strip():
        raise ImportFileError(_("文件为空"))
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(data, preferred_sheet)
    if data.startswith(_OLE2_MAGIC):
        raise ImportFileError(_XLS)
    if suffix == ".xlsx":
        raise ImportFileError(_("文件扩展名为 .xlsx，但内容不是有效的 Excel 工作簿"))
    return _read_csv(data)


_XLS = gettext_lazy("不支持 .xls（Excel 97-2003）格式，请在 Excel 中另存为 .xlsx 后上传")


def _too_large(limit: int) -> str:
    return _("文件过大：不能超过 %(mb).1f MB") % {"mb": limit / 1024 / 1024}


def _read_xlsx(data: bytes, preferred_sheet: str) -> Table:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise ImportFileError(_("文件不是有效的 .xlsx 工作簿（文件可能已损坏）")) from None
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise ImportFileError(_("工作簿中没有工作表"))
        sheet = next((s for s in sheets if s.title.strip() == preferred_sheet), sheets[0])
        # Some generators write a wrong or no <dimension>; without the reset openpyxl would
        # stop reading at the size it declares.
        sheet.reset_dimensions()
        rows = list(_limited(enumerate(sheet.iter_rows(values_only=True), start=1)))
        return Table(rows=rows, sheet=sheet.title)
    except ImportFileError:
        raise
    except Exception:  # any parser failure inside a damaged workbook is the file's fault
        raise ImportFileError(_("无法读取工作簿内容（文件可能已损坏）")) from None
    finally:
        workbook.close()


def _read_csv(data: bytes) -> Table:
    if b"\x00" in data[:8192]:
        raise ImportFileError(_("文件不是 .xlsx 或 .csv 表格"))
    text = _decode(data)
    # Comma unless the start of the file clearly uses tabs or semicolons (csv.Sniffer guesses
    # wrongly on Chinese text with few columns).
    sample = text[:4096]
    delimiter = max(",\t;", key=lambda d: (sample.count(d), d == ","))
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = list(_limited((n, tuple(record)) for n, record in enumerate(reader, start=1)))
    except csv.Error as exc:
        raise ImportFileError(_("CSV 文件格式错误：%(reason)s") % {"reason": exc}) from None
    return Table(rows=rows, sheet="")


def _decode(data: bytes) -> str:
    # utf-8-sig also reads BOM-less UTF-8; Excel's "CSV (逗号分隔)" on Chinese Windows is GBK,
    # and GB18030 is its superset, so it reads every GBK file.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("无法识别 CSV 文件的编码（应为 UTF-8 或 GBK）"))


def _limited(rows: Iterator[tuple[int, tuple[Any, ...]]]
             ) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for count, row in enumerate(rows):
        if count > MAX_ROWS + 50:  # header and title rows on top of the data rows
            raise ImportFileError(_("行数过多：一次最多导入 %(max)d 行，请拆分文件")
                                  % {"max": MAX_ROWS})
        yield row
