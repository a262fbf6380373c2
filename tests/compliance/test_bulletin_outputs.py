"""The bulletin's workbook (read back with openpyxl), its PDF (text read back with pypdf), the
monthly assessment section, and the management command."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from compliance.bulletins import excel, pdf
from compliance.bulletins.build import build_bulletin
from compliance.models import MonthlyAssessment
from tests.compliance.case_support import fast_passwords  # noqa: F401
from tests.compliance.test_bulletin_support import MOMENT, WEEK, city_fixture  # noqa: F401

MONTH = dt.date(2026, 11, 1)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_workbook_has_one_sheet_per_table_with_the_figures(city):
    book = load_workbook(io.BytesIO(excel.workbook(build_bulletin("weekly", WEEK,
                                                                    moment=MOMENT))))
    assert book.sheetnames == ["通报信息", "主要指标", "违规类型", "区县违规", "每日违规",
                               "企业排名", "车辆排名", "案件办理"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet["A1"].font.bold
    headline = book["主要指标"]
    assert [c.value for c in headline[2]] == ["违规总数", 4, 3, pytest.approx(1 / 3)]
    assert headline["D2"].number_format == excel.CHANGE
    rules = {row[0]: row[1:] for row in book["违规类型"].iter_rows(min_row=2, values_only=True)}
    assert rules["超速"] == (2, 3, pytest.approx(-1 / 3))
    assert rules["重车未打表"] == (1, 0, None)
    districts = book["区县违规"]
    assert [c.value for c in districts[1]] == ["区县", "本期", "上期", "变化", "在线车辆", "超速",
                                              "连续驾驶超时", "重车未打表"]
    assert [c.value for c in districts[3]] == ["兴隆台区", 2, 2, 0, 1, 0, 1, 1]
    assert book["每日违规"]["A2"].value.date() == WEEK
    vehicles = list(book["车辆排名"].iter_rows(min_row=2, values_only=True))
    assert vehicles[0] == (1, "辽L10001", "巡游出租汽车", "双台子出租汽车公司", "双台子区", 3,
                           "超速")
    cases = list(book["案件办理"].iter_rows(min_row=2, values_only=True))
    assert cases[0][:6] == ("双台子区", 2, 1, 1, 0.5, "是")
    assert cases[-1][:3] == ("全市合计", 3, 1)
    assert book["案件办理"]["A2"].font.color.rgb.endswith("C53030")  # below the 90 % floor


def test_workbook_keeps_names_as_text(city):
    city.cast.world.enterprise_a.name = "=HYPERLINK(\"http://x\")"
    city.cast.world.enterprise_a.save(update_fields=["name"])
    book = load_workbook(io.BytesIO(excel.workbook(build_bulletin("weekly", WEEK,
                                                                    moment=MOMENT))))
    cell = book["企业排名"]["B2"]
    assert cell.value == "=HYPERLINK(\"http://x\")" and cell.data_type == "s"


def test_pdf_carries_the_bulletin(city):
    text = pdf_text(pdf.document(build_bulletin("weekly", WEEK, moment=MOMENT)))
    assert "2026年第46周" in text and "周通报" in text
    for words in ("主要指标", "违规总数", "双台子区", "兴隆台区", "辽L10001", "双台子出租汽车公司",
                  "案件办理情况", "低于90%", "超速"):
        assert words in text, words
    # No personal data: the drivers' ID numbers and phones are nowhere.
    assert "身份证" not in text.replace("身份证号、电话等个人信息", "")


def _assessment_rows(world) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    kpis = {"completeness": {"value": 0.82, "score": 32.8}, "validity": {"value": 0.95,
                                                                          "score": 28.5}}
    cases = {"received": 10, "closed": 8, "handling_rate": 0.8, "on_time_rate": 0.75,
             "return_rate": 0.1, "supervision_count": 2, "below_floor": True}
    MonthlyAssessment.objects.create(month=MONTH, unit_type="district",
                                     district=world.district_a, kpis=kpis, total=88.5, rank=1,
                                     figures={"cases": cases}, computed_at=now)
    MonthlyAssessment.objects.create(month=MONTH, unit_type="district",
                                     district=world.district_b, kpis=kpis, total=70.0, rank=2,
                                     figures={}, computed_at=now)
    MonthlyAssessment.objects.create(month=MONTH, unit_type="enterprise",
                                     district=world.district_b, enterprise=world.enterprise_b,
                                     kpis={"overspeed": {"value": 1.5, "score": 8.0}},
                                     total=61.0, rank=1, risk_grade="high", computed_at=now)


def test_monthly_review_prints_the_assessment(city):
    _assessment_rows(city.cast.world)
    data = build_bulletin("monthly", MONTH, moment=MOMENT)
    review = data.assessment
    assert review is not None and data.assessment_note == ""
    assert [(line.rank, line.unit_name, line.total) for line in review.districts] == [
        (1, "双台子区", 88.5), (2, "兴隆台区", 70.0)]
    assert review.district_headings == ["轨迹完整率", "数据合格率"]
    assert review.district_rows[0][1] == ["82.0%", "95.0%"]
    enterprise = review.enterprises[0]
    assert (enterprise.unit_name, enterprise.risk_label) == ("兴隆台出租汽车公司", "高风险")
    assert review.enterprise_rows[0][1] == ["1.50"]
    assert review.case_kpis[0].below_floor and review.case_kpis[0].texts[0] == "80.0%"
    assert data.monthly_cases
    text = pdf_text(pdf.document(data))
    assert "考评排名" in text and "高风险" in text and "88.5" in text
    book = load_workbook(io.BytesIO(excel.workbook(data)))
    assert book.sheetnames[-3:] == ["区县考评", "企业考评", "案件办理考核"]
    assert [c.value for c in book["企业考评"][2]][:5] == [1, "兴隆台出租汽车公司", "兴隆台区",
                                                         "高风险", 61.0]


def test_monthly_review_without_assessment_says_so(city):
    data = build_bulletin("monthly", MONTH, moment=MOMENT)
    assert data.assessment is not None and not data.assessment.districts
    assert "尚未计算" in data.assessment_note
    assert not data.monthly_cases  # the bulletin's own case table instead


def test_weekly_bulletin_has_no_assessment(city):
    assert build_bulletin("weekly", WEEK, moment=MOMENT).assessment is None


def test_command_prints_the_files(city, tmp_path):
    out = io.StringIO()
    call_command("publish_bulletin", "--weekly", WEEK.isoformat(), "--out", str(tmp_path),
                 stdout=out)
    assert (tmp_path / "weekly-20261109.pdf").read_bytes().startswith(b"%PDF")
    book = load_workbook(tmp_path / "weekly-20261109.xlsx")
    assert book["主要指标"]["B2"].value == 4
    assert "wrote" in out.getvalue()


@pytest.mark.parametrize("args", [["--weekly", "2026-11-10"], ["--monthly", "2026-13"],
                                  ["--weekly", "2026-11-30"], ["--monthly", "2026-11", "--weekly",
                                                               "2026-11-09"]])
def test_command_refuses_bad_periods(city, args, tmp_path):
    with pytest.raises((CommandError, SystemExit)):
        call_command("publish_bulletin", *args, "--out", str(tmp_path))
    assert list(tmp_path.iterdir()) == []
