"""The bulletin as an .xlsx workbook: one sheet per table of the page, bold shaded header row
frozen at the top, set column widths, numbers as numbers (rates as percentages)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from compliance.bulletins.data import Assessment, BulletinData, CaseLine, Figure, ScoreLine

PERCENT = "0.0%"
CHANGE = "+0.0%;-0.0%;0.0%"
DECIMAL = "0.00"
_HEADER_FONT = Font(bold=True, color="1F2933")
_HEADER_FILL = PatternFill("solid", fgColor="EEF3FA")
_FLAG_FONT = Font(color="C53030", bold=True)


@dataclass(frozen=True)
class Column:
    heading: str
    width: int
    number_format: str | None = None


def _table(book: Workbook, title: str, columns: Sequence[Column],
           rows: Sequence[Sequence[Any]], *, flagged: Sequence[bool] = ()) -> None:
    sheet = book.create_sheet(title[:31])
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.heading)
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    for row_index, values in enumerate(rows, start=2):
        flag = row_index - 2 < len(flagged) and flagged[row_index - 2]
        for index, (value, column) in enumerate(zip(values, columns, strict=True), start=1):
            cell = sheet.cell(row=row_index, column=index, value=value)
            if isinstance(value, str):
                # A name starting with "=" stays text, never a formula (formula injection).
                cell.data_type = "s"
            if column.number_format and isinstance(value, int | float):
                cell.number_format = column.number_format
            if flag:
                cell.font = _FLAG_FONT
    sheet.freeze_panes = "A2"


def _figure_row(label: str, figure: Figure) -> list[Any]:
    return [label, figure.current, figure.previous, figure.change]


def _case_rows(lines: Sequence[CaseLine]) -> list[list[Any]]:
    return [[line.name or _("全市合计"), line.received, line.closed, line.open,
             line.handling_rate, _("是") if line.below_floor else "", line.on_time,
             line.on_time_rate, line.overdue, line.returns, line.supervisions]
            for line in lines]


def _score_sheet(book: Workbook, title: str, lines: Sequence[ScoreLine], kpis: Sequence[str],
                 review: Assessment, *, enterprise: bool) -> None:
    columns = [Column(_("排名"), 7), Column(_("企业") if enterprise else _("区县"),
                                             30 if enterprise else 12)]
    if enterprise:
        columns += [Column(_("所属区县"), 12), Column(_("风险等级"), 10)]
    columns.append(Column(_("总分"), 9, DECIMAL))
    columns += [Column(review.kpi_labels.get(code, code), 13,
                       PERCENT if code in review.rate_kpis else DECIMAL) for code in kpis]
    rows = []
    for line in lines:
        row: list[Any] = [line.rank, line.unit_name]
        if enterprise:
            row += [line.district_name, line.risk_label]
        row.append(line.total)
        row += [line.kpis[code].value if code in line.kpis else None for code in kpis]
        rows.append(row)
    _table(book, title, columns, rows)


def _assessment_sheets(book: Workbook, review: Assessment) -> None:
    _score_sheet(book, _("区县考评"), review.districts, review.district_kpis, review,
                 enterprise=False)
    _score_sheet(book, _("企业考评"), review.enterprises, review.enterprise_kpis, review,
                 enterprise=True)
    _table(book, _("案件办理考核"), [
        Column(_("区县"), 12), Column(_("受理"), 8), Column(_("办结"), 8),
        Column(_("办结率"), 9, PERCENT), Column(_("按期办结率"), 11, PERCENT),
        Column(_("退回率"), 9, PERCENT), Column(_("督办"), 8), Column(_("低于90%"), 9)],
        [[line.district_name, line.received, line.closed, line.handling_rate, line.on_time_rate,
          line.return_rate, line.supervision_count, _("是") if line.below_floor else ""]
         for line in review.case_kpis], flagged=[line.below_floor for line in review.case_kpis])


def workbook(data: BulletinData) -> bytes:
    with translation.override(settings.LANGUAGE_CODE):
        return _workbook(data)


def _workbook(data: BulletinData) -> bytes:
    book = Workbook()
    book.remove(book.active)
    book.properties.title = data.title
    local = timezone.localtime(data.generated_at).replace(tzinfo=None)
    _table(book, _("通报信息"), [Column(_("项目"), 14), Column(_("内容"), 60)], [
        [_("标题"), data.title],
        [_("统计期"), f"{data.period_start:%Y-%m-%d} — {data.period_end:%Y-%m-%d}"],
        [_("对比期"), f"{data.previous_start:%Y-%m-%d} — {data.previous_end:%Y-%m-%d}"],
        [_("生成时间"), f"{local:%Y-%m-%d %H:%M}"],
        *([[_("说明"), data.assessment_note]] if data.assessment_note else [])])
    headline = data.headline
    _table(book, _("主要指标"), [Column(_("指标"), 16), Column(_("本期"), 10),
                                 Column(_("上期"), 10), Column(_("变化"), 10, CHANGE)], [
        _figure_row(_("违规总数"), headline.violations),
        _figure_row(_("在线车辆"), headline.vehicles_online),
        _figure_row(_("受理案件"), headline.cases_received),
        _figure_row(_("办结案件"), headline.cases_closed),
        _figure_row(_("逾期案件"), headline.cases_overdue),
        _figure_row(_("督办"), headline.cases_supervised)])
    _table(book, _("违规类型"), [Column(_("违规类型"), 20), Column(_("本期"), 10),
                                 Column(_("上期"), 10), Column(_("变化"), 10, CHANGE)],
           [[line.label, line.current, line.previous, line.change] for line in data.by_rule])
    rules = data.rule_columns
    _table(book, _("区县违规"), [
        Column(_("区县"), 12), Column(_("本期"), 9), Column(_("上期"), 9),
        Column(_("变化"), 9, CHANGE), Column(_("在线车辆"), 10),
        *[Column(rule.label, max(10, 2 * len(rule.label) + 2)) for rule in rules]],
        [[line.name, line.current, line.previous, line.change, line.vehicles_online,
          *[line.by_rule.get(rule.code, 0) for rule in rules]] for line in data.by_district])
    _table(book, _("每日违规"), [Column(_("日期"), 12), Column(_("违规数"), 10)],
           [[line.day, line.count] for line in data.daily])
    _table(book, _("企业排名"), [
        Column(_("排名"), 7), Column(_("企业"), 30), Column(_("所属区县"), 12),
        Column(_("在营车辆"), 10), Column(_("违规数"), 10), Column(_("车均违规"), 10, DECIMAL)],
        [[index, line.name, line.district_name, line.vehicles, line.violations, line.per_vehicle]
         for index, line in enumerate(data.top_enterprises, start=1)])
    _table(book, _("车辆排名"), [
        Column(_("排名"), 7), Column(_("车牌号码"), 12), Column(_("车辆类型"), 14),
        Column(_("所属企业"), 30), Column(_("登记区县"), 12), Column(_("违规数"), 10),
        Column(_("主要违规类型"), 18)],
        [[index, line.plate, line.kind_label, line.enterprise_name, line.district_name,
          line.violations, line.main_rule]
         for index, line in enumerate(data.top_vehicles, start=1)])
    lines = [*data.cases, data.cases_total]
    _table(book, _("案件办理"), [
        Column(_("区县"), 12), Column(_("受理"), 8), Column(_("办结"), 8), Column(_("在办"), 8),
        Column(_("办结率"), 9, PERCENT), Column(_("低于90%"), 9), Column(_("按期办结"), 10),
        Column(_("按期办结率"), 11, PERCENT), Column(_("逾期"), 8), Column(_("退回"), 8),
        Column(_("督办"), 8)], _case_rows(lines), flagged=[line.below_floor for line in lines])
    if data.assessment is not None:
        _assessment_sheets(book, data.assessment)
    for sheet in book.worksheets:
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def filename(data: BulletinData) -> str:
    return f"{data.title}.xlsx"
