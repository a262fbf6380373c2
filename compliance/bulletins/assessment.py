"""The monthly review's assessment section, read through compliance.assessment.selectors (the
KPI module owns the scoring; the bulletin only prints it).

The section is optional by construction: when the assessment module is not installed the review
is still built, with a note saying the ranking is not included.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Level, Role
from compliance.bulletins.data import Assessment, CaseKpiLine, KpiCell, ScoreLine
from compliance.bulletins.periods import Period

SELECTORS = "compliance.assessment.selectors"


def available() -> bool:
    try:
        return importlib.util.find_spec(SELECTORS) is not None
    except ModuleNotFoundError:  # the package itself is absent
        return False


def _risk_label(grade: str | None) -> str:
    if not grade:
        return ""
    choices = importlib.import_module("compliance.models.assessment").RiskGrade
    return str(dict(choices.choices).get(grade, grade))


def _score_lines(rows: list[Any]) -> list[ScoreLine]:
    return [ScoreLine(rank=row.rank, unit_id=row.unit_id, unit_name=row.unit_name,
                      district_name=row.district_name, total=float(row.total),
                      risk_grade=row.risk_grade, risk_label=_risk_label(row.risk_grade),
                      kpis={code: KpiCell(value=None if kpi.value is None else float(kpi.value),
                                          score=float(kpi.score))
                            for code, kpi in row.kpis.items()})
            for row in sorted(rows, key=lambda row: (row.rank, row.unit_name))]


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def _case_line(row: Any) -> CaseKpiLine:
    return CaseKpiLine(district_name=str(row.district_name), received=int(row.received),
                       closed=int(row.closed), handling_rate=_optional(row.handling_rate),
                       on_time_rate=_optional(row.on_time_rate),
                       return_rate=_optional(row.return_rate),
                       supervision_count=int(row.supervision_count),
                       below_floor=bool(row.below_floor))


def _kpi_order(lines: list[ScoreLine], labels: dict[str, str]) -> list[str]:
    present = {code for line in lines for code in line.kpis}
    return [code for code in labels if code in present] + sorted(present - set(labels))


def city_reader() -> User:
    """An unsaved bureau analyst: the bulletin is city-wide whoever (or whatever: the scheduler)
    generates it, so the assessment is read with the city's scope, not the generator's."""
    return User(username="bulletin", level=Level.BUREAU, role=Role.BUREAU_ANALYST,
                is_active=True)


def monthly(period: Period) -> tuple[Assessment | None, str]:
    """(the assessment of the period's month, a note for the reader)."""
    if not available():
        return None, _("考评模块尚未启用：本期月复盘不含区县和企业考评排名。")
    selectors = importlib.import_module(SELECTORS)
    user = city_reader()
    labels = {code: str(label) for code, label in selectors.KPI_LABELS.items()}
    districts = _score_lines(selectors.monthly_scores(user, month=period.start, unit="district"))
    enterprises = _score_lines(selectors.monthly_scores(user, month=period.start,
                                                        unit="enterprise"))
    case_kpis = [_case_line(row) for row in selectors.case_kpis(user, month=period.start)]
    note = "" if districts or enterprises else _("本月考评尚未计算（每月1日计算上月考评）。")
    return Assessment(kpi_labels=labels, rate_kpis=sorted(getattr(selectors, "RATE_KPIS", ())),
                      district_kpis=_kpi_order(districts, labels),
                      enterprise_kpis=_kpi_order(enterprises, labels), districts=districts,
                      enterprises=enterprises, case_kpis=case_kpis), note
