"""Import and export of registry sheets: the functions views and commands call.

An import runs every row inside one transaction, saving good rows as it goes so that later rows
see earlier ones (a duplicate, a second terminal on one vehicle), and rolls the whole
transaction back when it is a dry run or when any row is bad. A dry run and a real run therefore
produce the same report by construction, and a real run is all-or-nothing.
"""

from __future__ import annotations

import logging
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import audit
from accounts.roles import Capability
from fleet.importing import exporting, readers
from fleet.importing.cells import cell_text
from fleet.importing.columns import SPECS, HeaderMatch, SheetSpec, find_header
from fleet.importing.references import scoped
from fleet.importing.report import ImportReport, RowError
from fleet.importing.rows import RowBuilder, RowResult

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

IMPORT_ACTION = "registry_import"
EXPORT_ACTION = "registry_export"


def spec_for(kind: str) -> SheetSpec:
    try:
        return SPECS[kind]
    except KeyError:
        raise ValueError(f"unknown registry kind {kind!r}; expected {sorted(SPECS)}") from None


def import_registry(*, kind: str, file: IO[bytes], actor: User | None,
                    dry_run: bool) -> ImportReport:
    """Check (``dry_run``) or import one sheet of ``kind`` from an .xlsx/.csv upload.

    ``file`` is an uploaded file or any binary stream with a ``name`` (and ideally ``size``).
    ``actor=None`` is the system (management command without --user): full scope, no capability
    check. Problems with the file or its rows are returned in the report, never raised.
    """
    if actor is not None and not actor.can(Capability.IMPORT_REGISTRY):
        raise PermissionDenied(_("没有批量导入权限"))
    spec = spec_for(kind)
    filename = str(getattr(file, "name", "") or "")
    report = ImportReport(kind=kind, filename=filename.rsplit("/", 1)[-1], dry_run=dry_run)
    try:
        table = readers.read_table(file, filename, getattr(file, "size", None),
                                   preferred_sheet=exporting.sheet_title(spec))
    except readers.ImportFileError as exc:
        report.file_errors.append(str(exc))
        return report
    found = find_header(spec, table.rows)
    if found is None:
        report.file_errors.append(
            _("未找到表头行：前几行中没有可识别的列标题（请确认所选数据类型为“%(label)s”，"
              "并使用模板中的列标题）") % {"label": spec.label})
        return report
    header_index, header = found
    report.unknown_columns = list(header.unknown)
    if problems := _header_problems(spec, header):
        report.file_errors += problems
        return report

    with transaction.atomic():
        _import_rows(spec, header, table.rows[header_index + 1:], actor, report)
        if report.rows == 0:
            report.file_errors.append(_("表头下没有数据行"))
        if report.ok and not dry_run:
            audit.record(actor=actor, action=IMPORT_ACTION, object_type=kind,
                         detail=report.counts())
            report.committed = True
        else:
            transaction.set_rollback(True)
    return report


def _header_problems(spec: SheetSpec, header: HeaderMatch) -> list[str]:
    problems = []
    missing = [column.heading for column in spec.required if column.key not in header.columns]
    if missing:
        problems.append(_("缺少必填列：%(columns)s（请确认所选数据类型为“%(label)s”）")
                        % {"columns": "、".join(missing), "label": spec.label})
    if header.duplicates:
        problems.append(_("以下列与其他列含义相同，重复出现：%(columns)s")
                        % {"columns": "、".join(header.duplicates)})
    return problems


def _import_rows(spec: SheetSpec, header: HeaderMatch, rows: list[tuple[int, tuple[Any, ...]]],
                 actor: User | None, report: ImportReport) -> None:
    builder = RowBuilder(spec, header, actor)
    for row_number, row in rows:
        if not any(cell_text(value) for value in row):
            continue  # blank lines between or after the data
        report.rows += 1
        try:
            result = builder.build(row_number, row)
            if not result.errors and (result.created or result.changed):
                result.errors += _save(builder, result, actor)
        except Exception as exc:
            # A bug must not turn a bureau's upload into a 500; it is logged and the row refused.
            logger.exception("import of %s row %s failed", spec.kind, row_number)
            result = RowResult(errors=[("", _("该行无法处理，请检查内容或联系管理员"))])
            if isinstance(exc, DatabaseError):
                # Outside a savepoint the transaction is now unusable: every further row would
                # fail the same way, so stop here (nothing is written either way).
                report.errors.append(RowError(row_number, "—", result.errors[0][1]))
                report.file_errors.append(_("导入在第%(row)d行因数据库错误中断，未写入任何数据")
                                          % {"row": row_number})
                return
        if result.errors:
            # Left to right as in the sheet, whichever check found the problem.
            ordered = sorted(result.errors, key=lambda e: header.columns.get(e[0], len(row)))
            report.errors += [RowError(row_number, _heading(spec, header, key), message)
                              for key, message in ordered]
        elif result.created:
            report.created += 1
        else:
            report.updated += 1
            report.changed += result.changed


def _save(builder: RowBuilder, result: RowResult, actor: User | None) -> list[tuple[str, str]]:
    instance = result.instance
    try:
        with transaction.atomic():  # a savepoint: a failed row must not abort the others
            instance.save()
            if actor is not None and not actor.scope.everything:
                visible = scoped(type(instance), actor).filter(pk=instance.pk).exists()
                if not visible:
                    raise ValidationError(_("导入后该记录将不在您的管辖范围内"))
    except ValidationError as exc:
        return [(builder.handler.scope_column, message) for message in exc.messages]
    except DatabaseError as exc:
        # full_clean has already checked the constraints; this is a race or a rule the model
        # does not state. Report it against the row rather than failing the upload.
        logger.warning("import of %s row failed to save: %s", builder.spec.kind, exc)
        return [(builder.spec.natural_key[0], _("保存失败：与已有数据冲突"))]
    return []


def _heading(spec: SheetSpec, header: HeaderMatch, key: str) -> str:
    if key in header.headings:
        return header.headings[key]
    column = next((c for c in spec.columns if c.key == key), None)
    if column is not None:
        return column.heading
    try:
        return str(spec.model._meta.get_field(key).verbose_name)
    except FieldDoesNotExist:  # "" is the whole row: no column to name
        return "—"


def export_registry(*, kind: str, queryset: QuerySet, actor: User | None) -> bytes:
    """The records of ``queryset`` the actor may see, as an .xlsx in the import layout.

    ``queryset`` carries any filters; the actor's scope is applied here as well, so a caller
    cannot export beyond it. Personal data is masked unless the actor may view it (the system,
    ``actor=None``, may).
    """
    if actor is not None and not actor.can(Capability.EXPORT_REGISTRY):
        raise PermissionDenied(_("没有导出权限"))
    spec = spec_for(kind)
    if queryset.model is not spec.model:
        raise ValueError(f"a {kind} export needs a {spec.model.__name__} queryset")
    if actor is not None:
        queryset = queryset.visible_to(actor)
    mask = actor is not None and not actor.can(Capability.VIEW_PERSONAL_DATA)
    content = exporting.export_workbook(spec, queryset, mask_personal_data=mask)
    audit.record(actor=actor, action=EXPORT_ACTION, object_type=kind,
                 detail={"count": queryset.count(), "masked": mask})
    return content


def blank_template(kind: str) -> bytes:
    """An empty .xlsx with the headings of ``kind`` and a sheet explaining the columns."""
    return exporting.template_workbook(spec_for(kind))


def export_filename(kind: str, *, template: bool = False) -> str:
    label = exporting.sheet_title(spec_for(kind))
    suffix = "导入模板" if template else timezone.localdate().strftime("%Y%m%d")
    return f"{label}_{suffix}.xlsx"
