"""Turn one spreadsheet row into a validated (unsaved) model instance, or per-cell errors.

Validation is the model's own ``full_clean`` — the same validators the forms and the API use —
so a row is refused for the same reasons, with the same Chinese messages, as a form would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.utils.translation import gettext as _

from fleet.importing.cells import CellError
from fleet.importing.columns import HeaderMatch, SheetSpec
from fleet.importing.handlers import HANDLERS
from fleet.importing.references import References

if TYPE_CHECKING:
    from accounts.models import User


@dataclass
class RowResult:
    instance: Any = None
    created: bool = False
    changed: bool = False
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column key, message)


class RowBuilder:
    """Builds the rows of one sheet; remembers natural keys to refuse duplicates in the file."""

    def __init__(self, spec: SheetSpec, header: HeaderMatch, actor: User | None) -> None:
        self.spec = spec
        self.header = header
        self.handler = HANDLERS[spec.kind](References(actor), actor)
        self.model_fields = {f.name: f for f in spec.model._meta.concrete_fields}
        self.plain = [column.key for column in spec.columns
                      if column.key in header.columns and column.key not in self.handler.managed
                      and column.key in self.model_fields]
        self.seen: dict[tuple[Any, ...], int] = {}

    def build(self, row_number: int, row: tuple[Any, ...]) -> RowResult:
        present = set(self.header.columns)
        raw = {key: row[index] if index < len(row) else None
               for key, index in self.header.columns.items()}
        parsed, errors = self._parse(raw)
        result = RowResult(errors=errors)
        failed = {key for key, _message in errors}
        if failed & set(self.spec.natural_key):
            return result  # without a usable key the row cannot be matched or created

        natural = self.handler.natural_key(parsed)
        first = self.seen.setdefault(natural, row_number)
        if first != row_number:
            result.errors.append((self.spec.natural_key[0],
                                  _("与第%(row)d行重复（同一记录在文件中出现两次）")
                                  % {"row": first}))
            return result

        instance = self.handler.find(natural) or self.spec.model()
        result.instance = instance
        result.created = instance.pk is None
        before = _snapshot(instance)
        problems = self.handler.apply(instance, parsed, present)
        result.errors += problems
        failed |= {column for column, _message in problems}
        self._assign(instance, parsed, failed)
        result.errors += self._full_clean(instance, failed)
        result.changed = not result.created and _snapshot(instance) != before
        return result

    def _parse(self, raw: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        parsed: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for key, value in raw.items():
            try:
                parsed[key] = self.spec.column(key).codec.parse(value)
            except CellError as exc:
                errors.append((key, str(exc)))
        for column in self.spec.required:
            if (column.key in parsed and parsed[column.key] is None
                    and not (column.unless and parsed.get(column.unless))):
                errors.append((column.key, _("不能为空")))
        return parsed, errors

    def _assign(self, instance: Any, parsed: dict[str, Any], failed: set[str]) -> None:
        for key in self.plain:
            if key in failed:
                continue
            value = parsed.get(key)
            if value is None:
                value = _empty_value(self.model_fields[key])
                if value is _KEEP:
                    continue
            setattr(instance, key, value)

    def _full_clean(self, instance: Any, failed: set[str]) -> list[tuple[str, str]]:
        # Fields whose cell is already reported are skipped, so a row shows one reason per
        # mistake rather than a follow-up "required" on the same column.
        exclude = {self._field_for(key) for key in failed} | set(self.handler.clean_exclude)
        for key in failed:
            exclude.update(self.handler.dependants.get(key, ()))
        try:
            instance.full_clean(exclude=exclude)
        except ValidationError as exc:
            return [(self._column_for(name), message)
                    for name, messages in exc.message_dict.items() for message in messages]
        return []

    def _field_for(self, column_key: str) -> str:
        return self.handler.column_fields.get(column_key, column_key)

    def _column_for(self, field_name: str) -> str:
        if field_name == NON_FIELD_ERRORS:
            return self.spec.natural_key[0]
        return next((key for key, name in self.handler.column_fields.items()
                     if name == field_name), field_name)


_KEEP = object()


def _empty_value(model_field: models.Field) -> Any:
    """What a blank cell stores: the field's empty value, or ``_KEEP`` for fields that cannot
    be empty (a blank 状态 leaves the stored status, or the default for a new record)."""
    if model_field.null:
        return None
    if isinstance(model_field, ArrayField):
        return []
    if isinstance(model_field, models.CharField | models.TextField) and model_field.blank:
        return ""
    return _KEEP


def _snapshot(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}
