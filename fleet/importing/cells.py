"""Codecs between spreadsheet cells and Python values, one per kind of column.

``parse`` turns what a reader produced (str from CSV; str, int, float, datetime from xlsx) into
the value for the model, ``None`` for a blank cell, or raises ``CellError`` with a Chinese
message. ``render`` is the inverse used by the export, chosen so that a rendered value parses
back to the same model value (the round-trip guarantee).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from openpyxl.utils.datetime import from_excel


class CellError(ValueError):
    """A cell's content cannot be understood; the message is shown to the user."""


def cell_text(raw: Any) -> str:
    """Any cell as trimmed text; whole floats lose the ``.0`` Excel adds to numeric cells."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, dt.datetime):
        raw = raw.date() if raw.time() == dt.time() else raw
    # str.strip() also removes the full-width space (U+3000) users paste from documents.
    return str(raw).strip()


def fold(text: str) -> str:
    """Key for lenient comparison: NFKC (full-width → half-width), no whitespace, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


class Codec:
    def parse(self, raw: Any) -> Any:
        text = cell_text(raw)
        return text or None

    def render(self, value: Any) -> Any:
        return "" if value is None else value


class Text(Codec):
    """Free text; ``upper`` for identifiers typed in either case (VIN, ID number, credit code)."""

    def __init__(self, *, upper: bool = False) -> None:
        self.upper = upper

    def parse(self, raw: Any) -> str | None:
        text = cell_text(raw)
        if self.upper:
            text = unicodedata.normalize("NFKC", text).upper().replace(" ", "")
        return text or None


class Integer(Codec):
    def parse(self, raw: Any) -> int | None:
        text = cell_text(raw)
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError(_("应为整数：%(value)s") % {"value": text}) from None
        if number != number.to_integral_value() or number < 0:
            raise CellError(_("应为非负整数：%(value)s") % {"value": text})
        return int(number)


class Number(Codec):
    """Decimal quantities; parsing via ``str`` keeps 30.5 from becoming 30.499999…"""

    def parse(self, raw: Any) -> Decimal | None:
        text = cell_text(raw)
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError(_("应为数字：%(value)s") % {"value": text}) from None
        if not number.is_finite() or number < 0:
            raise CellError(_("应为非负数字：%(value)s") % {"value": text})
        return number


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?: \d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
# Excel serial numbers for 1954-10-15 … 2119-01-02: a bare number outside is not a date.
_EXCEL_SERIAL_RANGE = range(20000, 80000)


class Date(Codec):
    def parse(self, raw: Any) -> dt.date | None:
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            # A date cell that lost its number format arrives as the bare serial number.
            if int(raw) in _EXCEL_SERIAL_RANGE:
                return from_excel(raw).date()
            raise CellError(_("日期格式不正确：%(value)s") % {"value": cell_text(raw)})
        text = cell_text(raw)
        if not text:
            return None
        for pattern in _DATE_PATTERNS:
            match = pattern.match(text)
            if match:
                try:
                    return dt.date(*(int(part) for part in match.groups()))
                except ValueError:
                    break
        raise CellError(_("日期格式不正确（应为 YYYY-MM-DD、YYYY/MM/DD 或 YYYY年MM月DD日）："
                          "%(value)s") % {"value": text})


class Choice(Codec):
    """A value from a fixed list, given as its code, its Chinese label or a common synonym."""

    def __init__(self, labels: Mapping[Any, Any], synonyms: Mapping[str, Any] | None = None,
                 render_labels: bool = True) -> None:
        self.labels = {value: str(label) for value, label in labels.items()}
        self.render_labels = render_labels
        self.aliases: dict[str, Any] = {}
        for value, label in labels.items():
            self.aliases[fold(str(value))] = value
            self.aliases[fold(str(label))] = value
        for synonym, value in (synonyms or {}).items():
            self.aliases[fold(synonym)] = value

    def parse(self, raw: Any) -> Any:
        text = cell_text(raw)
        if not text:
            return None
        try:
            return self.aliases[fold(text)]
        except KeyError:
            allowed = "、".join(self.labels.values())
            raise CellError(_("无法识别“%(value)s”，可选：%(allowed)s")
                            % {"value": text, "allowed": allowed}) from None

    def render(self, value: Any) -> Any:
        if value is None or value == "":
            return ""
        return self.labels.get(value, value) if self.render_labels else value


_LIST_SEPARATORS = re.compile(r"[,，、;；/\s]+")


class TextList(Codec):
    """Several short codes in one cell, separated by commas, 、 or semicolons."""

    def parse(self, raw: Any) -> list[str] | None:
        text = cell_text(raw)
        if not text:
            return None
        return [item for item in _LIST_SEPARATORS.split(unicodedata.normalize("NFKC", text))
                if item]

    def render(self, value: Iterable[str] | None) -> str:
        return "、".join(value or ())


class YesNo(Choice):
    def __init__(self) -> None:
        super().__init__({True: "是", False: "否"},
                         {"y": True, "yes": True, "true": True, "1": True, "在用": True,
                          "启用": True, "n": False, "no": False, "false": False, "0": False,
                          "停用": False})


TEXT = Text()
UPPER = Text(upper=True)
INTEGER = Integer()
NUMBER = Number()
DATE = Date()
TEXT_LIST = TextList()
YES_NO = YesNo()
