"""Monthly KPIs, scores, ranks, case KPIs and risk grades, worked out by hand.

The data set is test_assessment_data's October 2026. City-wide (region) figures first:
online assessed vehicles = H1, H2, C1, C2, H5 = 5 (the taxi's row is not an assessed kind);
overspeed episodes = 2 (H1) + 4 + 3 (C1, C2) + 8 (H5) = 17 → R = 17 / 5 = 3.4 per vehicle;
fatigue = 1 h (H1) + 0.5 h (H5) = 1.5 h → R = 1.5 / 5 = 0.3 h per vehicle.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from compliance.assessment import formulas
from compliance.assessment.rollup import compute_month
from compliance.assessment.selectors import case_kpis, monthly_scores, score_trend
from compliance.models import MonthlyAssessment
from tests.compliance.case_support import fast_passwords  # noqa: F401
from tests.compliance.test_assessment_data import AS_OF, OCTOBER, build_month


@pytest.fixture
def month(world, bureau_user, district_a_user, district_b_user, enterprise_a_user,
          monkeypatch):  # type: ignore[no-untyped-def]
    return build_month(world, bureau_user, district_a_user, district_b_user,
                       enterprise_a_user, monkeypatch)


def scores(row: MonthlyAssessment) -> dict[str, float]:
    return {key: kpi["score"] for key, kpi in row.kpis.items()}


def values(row: MonthlyAssessment) -> dict[str, float | None]:
    return {key: kpi["value"] for key, kpi in row.kpis.items()}


# --- Pure formulas ----------------------------------------------------------------------------


def test_relative_score_three_branches_and_zero_average() -> None:
    # R = 2, weight 20: E = 1 ≤ R → 10 + (2−1)/2×10 = 15; E = 3 → (4−3)/2×10 = 5; E = 4 → 0.
    assert formulas.relative_score(1, 2, 20) == 15
    assert formulas.relative_score(0, 2, 20) == 20
    assert formulas.relative_score(2, 2, 20) == 10
    assert formulas.relative_score(3, 2, 20) == 5
    assert formulas.relative_score(4, 2, 20) == 0
    assert formulas.relative_score(9, 2, 20) == 0
    # Scaled to another weight: 15 of 20 → 7.5 of 10.
    assert formulas.relative_score(1, 2, 10) == 7.5
    # R = 0: nobody overspeed, so E = 0 too: full points. No vehicle online: zero.
    assert formulas.relative_score(0, 0, 20) == 20
    assert formulas.relative_score(None, 2, 20) == 0


def test_rate_floors_and_drift_ceiling() -> None:
    assert formulas.rate_score(0.95, 5, 0.90) == pytest.approx(4.75)
    assert formulas.rate_score(0.90, 5, 0.90) == pytest.approx(4.5)  # at the floor: scores
    assert formulas.rate_score(0.899, 5, 0.90) == 0  # below: zero
    assert formulas.rate_score(None, 5, 0.90) == 0
    assert formulas.drift_score(0.05, 10, 0.05) == pytest.approx(9.5)  # at the ceiling
    assert formulas.drift_score(0.0501, 10, 0.05) == 0
    assert formulas.drift_score(0.0, 15, 0.05) == 15
    assert formulas.checkpost_score(None, 10, True) == 10
    assert formulas.checkpost_score(None, 10, False) == 0


def test_risk_grade_is_the_worst_measure() -> None:
    limits = {"high": {"violations_per_vehicle": 3, "fatigue_hours_per_vehicle": 2,
                       "unresolved_cases": 5},
              "medium": {"violations_per_vehicle": 1, "fatigue_hours_per_vehicle": 0.5,
                         "unresolved_cases": 1}}
    grade = formulas.risk_grade
    assert grade(violations_per_vehicle=0.9, fatigue_hours_per_vehicle=0.4,
                 unresolved_cases=0, thresholds=limits) == "low"
    assert grade(violations_per_vehicle=0, fatigue_hours_per_vehicle=0,
                 unresolved_cases=1, thresholds=limits) == "medium"
    assert grade(violations_per_vehicle=0, fatigue_hours_per_vehicle=2.0,
                 unresolved_cases=0, thresholds=limits) == "high"


# --- The crafted month ------------------------------------------------------------------------


def test_enterprise_scores_by_hand(month) -> None:  # type: ignore[no-untyped-def]
    assert compute_month(OCTOBER, as_of=AS_OF) == 3 + 3  # 3 districts + 3 assessed enterprises
    rows = {row.enterprise_id: row for row in MonthlyAssessment.objects.filter(
        month=OCTOBER, unit_type="enterprise")}
    assert set(rows) == {month.e1.pk, month.e2.pk, month.e3.pk}  # taxi companies: not assessed

    e1 = rows[month.e1.pk]
    # E1: required H1 H2 H3 H7 = 4 (H4 suspended); connected H1 H2 (reported) + H3 (terminal) = 3
    #   access 3/4 = 75 % < 90 % → 0
    #   online 2/3 → 5 × 2/3 = 3.33
    #   completeness (90 + 50) / (100 + 100) = 70 %, at the floor → 15 × 0.7 = 10.5
    #   validity (950 + 850 + 100) / 2100 = 90.476 % → 15 × 0.90476 = 13.57
    #   drift 1 drift vehicle-day / 3 online vehicle-days = 33 % > 5 % → 0
    #   overspeed E = 2 / 2 = 1.0 ≤ R 3.4 → 10 + (3.4 − 1) / 3.4 × 10 = 17.0588 → 17.06
    #   fatigue E = 1 h / 2 = 0.5, R 0.3 < E < 0.6 → (0.6 − 0.5) / 0.3 × 10 = 3.33
    #   check-posts: 3 sent, 1 answered in 10 min (one late, one never) → 10 × 1/3 = 3.33
    assert scores(e1) == {"access": 0, "online": 3.33, "completeness": 10.5, "validity": 13.57,
                          "drift": 0, "overspeed": 17.06, "fatigue": 3.33, "checkpost": 3.33}
    assert values(e1)["access"] == pytest.approx(0.75)
    assert values(e1)["completeness"] == pytest.approx(0.7)
    assert values(e1)["drift"] == pytest.approx(1 / 3, abs=1e-6)
    assert values(e1)["overspeed"] == pytest.approx(1.0)
    assert values(e1)["fatigue"] == pytest.approx(0.5)
    assert e1.total == 51.12 and e1.rank == 2

    e2 = rows[month.e2.pk]
    # E2: C1, C2 both connected and online → access 5, online 5
    #   completeness (20×9.5 + 20×4) / (20×10 + 20×5) = 270 / 300 = 90 % → 13.5
    #   validity (20×99 + 20×81) / 4000 = 90 % → 13.5
    #   drift 1 / 40 vehicle-days = 2.5 % ≤ 5 % → 10 × (1 − 0.025) = 9.75
    #   overspeed E = 7 / 2 = 3.5: R 3.4 < E < 6.8 → (6.8 − 3.5) / 3.4 × 10 = 9.7059 → 9.71
    #   fatigue E = 0 → 10 + (0.3 − 0) / 0.3 × 10 = 20
    #   check-posts 2 / 2 → 10
    assert scores(e2) == {"access": 5, "online": 5, "completeness": 13.5, "validity": 13.5,
                          "drift": 9.75, "overspeed": 9.71, "fatigue": 20, "checkpost": 10}
    assert e2.total == 86.46 and e2.rank == 1

    e3 = rows[month.e3.pk]
    # E3: H5 reports, H6 silent with a terminal → access 2/2 → 5; online 1/2 → 2.5
    #   completeness 30/50 = 60 % < 70 % → 0; validity 350/500 = 70 % < 80 % → 0
    #   drift 0/1 → 10; overspeed E = 8 ≥ 2R = 6.8 → 0; fatigue E = 0.5 → 3.33
    #   check-posts: the only October one is still in its window at AS_OF → none judged → 10
    assert scores(e3) == {"access": 5, "online": 2.5, "completeness": 0, "validity": 0,
                          "drift": 10, "overspeed": 0, "fatigue": 3.33, "checkpost": 10}
    assert values(e3)["checkpost"] is None
    assert e3.total == 30.83 and e3.rank == 3
    assert e3.district_id == month.world.district_b.pk


def test_district_scores_by_hand(month) -> None:  # type: ignore[no-untyped-def]
    compute_month(OCTOBER, as_of=AS_OF)
    rows = {row.district_id: row for row in MonthlyAssessment.objects.filter(
        month=OCTOBER, unit_type="district")}
    a = rows[month.world.district_a.pk]
    # District A (E1 + E2; district weights access 5, online 10, drift 15, completeness 40,
    # validity 30): required 6, connected 5 → 83.3 % < 90 % → 0; online 4/5 → 10 × 0.8 = 8
    #   completeness (140 + 270) / (200 + 300) = 82 % → 40 × 0.82 = 32.8
    #   validity (1900 + 3600) / (2100 + 4000) = 90.16 % → 30 × 0.9016 = 27.05
    #   drift (1 + 1) / (3 + 40) vehicle-days = 4.65 % ≤ 5 % → 15 × 41/43 = 14.30
    assert scores(a) == {"access": 0, "online": 8, "completeness": 32.8, "validity": 27.05,
                         "drift": 14.3}
    assert a.total == 82.15 and a.rank == 1
    b = rows[month.world.district_b.pk]
    # District B (E3): access 5, online 10 × 0.5 = 5, completeness 0, validity 0, drift 15.
    assert scores(b) == {"access": 5, "online": 5, "completeness": 0, "validity": 0,
                         "drift": 15}
    assert b.total == 25 and b.rank == 2
    c = rows[month.district_c.pk]  # no 两客一危 vehicle: not assessed, not ranked
    assert c.total is None and c.rank is None and c.kpis == {}


def test_case_kpis_by_hand(month, bureau_user) -> None:  # type: ignore[no-untyped-def]
    compute_month(OCTOBER, as_of=AS_OF)
    rows = {row.district_name: row for row in case_kpis(bureau_user, month=OCTOBER)}
    a = rows["双台子区"]
    # A received: c1, c2, c3, c7 (c4 not due by AS_OF, c5 withdrawn, c6 September) = 4
    # closed: c1 (in time), c2 (late) = 2 → 50 % < 90 % → flagged; on time 1 / 2
    # submitted: reports of c1, c3, c2 = 3; returned: c3 → 1/3
    # 督办 in October: c7 by hand, c7 / c3 / c6 automatic (A's late assignments) = 4
    assert (a.received, a.closed, a.supervision_count) == (4, 2, 4)
    assert a.handling_rate == pytest.approx(0.5) and a.below_floor
    assert a.on_time_rate == pytest.approx(0.5)
    assert a.return_rate == pytest.approx(1 / 3)
    b = rows["兴隆台区"]
    # B received c7 and c5 (both past their sign-for deadline), closed none; 督办: c7 by hand,
    # c7 and c5 automatic = 3.
    assert (b.received, b.closed, b.supervision_count) == (2, 0, 3)
    assert b.handling_rate == 0 and b.below_floor
    assert b.on_time_rate is None and b.return_rate is None
    c = rows["大洼区"]
    assert (c.received, c.handling_rate, c.below_floor) == (0, None, False)


def test_risk_grades_by_hand(month, bureau_user) -> None:  # type: ignore[no-untyped-def]
    compute_month(OCTOBER, as_of=AS_OF)
    grades = {row.unit_name: row.risk_grade
              for row in monthly_scores(bureau_user, month=OCTOBER, unit="enterprise")}
    # E1: 3 counted violations / 2 online = 1.5 (≥ 1: medium), fatigue 0.5 h (medium),
    #     open cases of its hazmat trucks c3, c4, c6 = 3 (medium) → medium
    # E2: nothing → low.  E3: 3 violations / 1 online = 3.0 ≥ 3 → high
    assert grades == {"客运公司": "low", "危货一公司": "medium", "危货三公司": "high"}
    e1 = MonthlyAssessment.objects.get(month=OCTOBER, enterprise=month.e1)
    assert e1.figures["risk"] == {"violations": 3, "violations_per_vehicle": 1.5,
                                  "fatigue_hours_per_vehicle": 0.5, "unresolved_cases": 3}


def test_settings_choices(month, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ASSESSMENT_DRIFT_BASIS = "vehicles"
    settings.ASSESSMENT_CONNECTED_BY = "reported"
    compute_month(OCTOBER, as_of=AS_OF)
    e2 = MonthlyAssessment.objects.get(month=OCTOBER, enterprise=month.e2)
    # Drift by vehicles: C2 drifted on some day → 1 / 2 = 50 % > 5 % → 0
    assert e2.kpis["drift"] == {"value": 0.5, "score": 0}
    e1 = MonthlyAssessment.objects.get(month=OCTOBER, enterprise=month.e1)
    # Connected = reported: H3's terminal never sent anything → connected 2 / 4; online 2/2 → 5
    assert e1.kpis["access"] == {"value": 0.5, "score": 0}
    assert e1.kpis["online"] == {"value": 1.0, "score": 5}


def test_zero_regional_average_gives_full_points(month) -> None:  # type: ignore[no-untyped-def]
    # September: only H1's one parked day, no overspeed, no fatigue: R = 0 → 20 each.
    compute_month(dt.date(2026, 9, 1), as_of=AS_OF)
    e1 = MonthlyAssessment.objects.get(month=dt.date(2026, 9, 1), enterprise=month.e1)
    assert e1.kpis["overspeed"] == {"value": 0.0, "score": 20}
    assert e1.kpis["fatigue"] == {"value": 0.0, "score": 20}
    assert e1.figures["region"]["overspeed"] == 0


def test_recompute_replaces_the_month_only(month, bureau_user) -> None:  # type: ignore[no-untyped-def]
    compute_month(dt.date(2026, 9, 1), as_of=AS_OF)
    compute_month(OCTOBER, as_of=AS_OF)
    first_ids = set(MonthlyAssessment.objects.filter(month=OCTOBER).values_list("pk", flat=True))
    compute_month(OCTOBER, as_of=AS_OF)
    assert MonthlyAssessment.objects.filter(month=OCTOBER).count() == 6
    assert not first_ids & set(MonthlyAssessment.objects.filter(month=OCTOBER)
                               .values_list("pk", flat=True))
    assert MonthlyAssessment.objects.filter(month=dt.date(2026, 9, 1)).count() == 6
    trend = score_trend(bureau_user, unit="enterprise", unit_id=month.e1.pk, months=3,
                        until=OCTOBER)
    assert [first for first, _total in trend] == [dt.date(2026, 8, 1), dt.date(2026, 9, 1),
                                                  OCTOBER]
    assert trend[0][1] is None and trend[2][1] == 51.12


def test_command(month) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("compute_assessment", "--month", "2026-10", "--months", "2", stdout=out)
    assert "2026-09: 6 units" in out.getvalue() and "2026-10: 6 units" in out.getvalue()
    assert MonthlyAssessment.objects.filter(month=OCTOBER, unit_type="enterprise").count() == 3
    for bad in ("2026-13", "10/2026", "2099-01"):
        with pytest.raises(CommandError):
            call_command("compute_assessment", "--month", bad, stdout=StringIO())
