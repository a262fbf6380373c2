"""The bulletin's figures on a hand-counted city (see test_bulletin_support)."""

from __future__ import annotations

import datetime as dt

import pytest

from compliance.bulletins.build import build_bulletin
from compliance.bulletins.periods import Period, PeriodError, parse_month, parse_week
from compliance.bulletins.snapshot import from_json, to_json
from tests.compliance.case_support import fast_passwords  # noqa: F401
from tests.compliance.test_bulletin_support import MOMENT, WEEK, city_fixture  # noqa: F401


def test_week_figures_by_rule_district_and_previous_week(city):
    data = build_bulletin("weekly", WEEK, moment=MOMENT)
    assert (data.period_start, data.period_end) == (WEEK, dt.date(2026, 11, 15))
    assert (data.previous_start, data.previous_end) == (dt.date(2026, 11, 2),
                                                         dt.date(2026, 11, 8))
    assert (data.headline.violations.current, data.headline.violations.previous) == (4, 3)
    assert data.headline.violations.change == pytest.approx(1 / 3)
    rules = {line.code: (line.current, line.previous) for line in data.by_rule}
    assert rules == {"overspeed": (2, 3), "fatigue_continuous": (1, 0), "no_meter": (1, 0)}
    assert data.by_rule[0].code == "overspeed" and data.by_rule[0].label == "超速"
    assert data.by_rule[0].change == pytest.approx(-1 / 3)
    assert next(line for line in data.by_rule if line.code == "no_meter").change is None
    districts = {line.name: line for line in data.by_district}
    a, b = districts["双台子区"], districts["兴隆台区"]
    assert (a.current, a.previous, a.by_rule) == (2, 1, {"overspeed": 2})
    # The taxi of district A broke no_meter in district B: B's violation (territorial).
    assert (b.current, b.previous) == (2, 2)
    assert b.by_rule == {"fatigue_continuous": 1, "no_meter": 1}
    assert [line.code for line in data.rule_columns] == ["overspeed", "fatigue_continuous",
                                                         "no_meter"]


def test_week_boundaries_are_local_time(city):
    """Sunday 23:30 in Shanghai (15:30 UTC) is that week; Monday 00:10 is the next."""
    daily = {line.day: line.count for line in build_bulletin("weekly", WEEK,
                                                             moment=MOMENT).daily}
    assert list(daily) == [WEEK + dt.timedelta(days=n) for n in range(7)]
    assert daily == {dt.date(2026, 11, 9): 1, dt.date(2026, 11, 10): 1,
                     dt.date(2026, 11, 11): 0, dt.date(2026, 11, 12): 1,
                     dt.date(2026, 11, 13): 0, dt.date(2026, 11, 14): 0,
                     dt.date(2026, 11, 15): 1}
    next_week = build_bulletin("weekly", dt.date(2026, 11, 16), moment=MOMENT)
    assert next_week.headline.violations.current == 1
    assert next_week.headline.violations.previous == 4


def test_vehicles_online_and_rankings(city):
    data = build_bulletin("weekly", WEEK, moment=MOMENT)
    assert (data.headline.vehicles_online.current, data.headline.vehicles_online.previous) \
        == (2, 1)
    assert {line.name: line.vehicles_online for line in data.by_district} == {
        "双台子区": 1, "兴隆台区": 1}
    # Enterprise A: 3 violations, 1 vehicle in service (the scrapped one does not count);
    # enterprise B: 1 violation, 2 vehicles.
    assert [(e.name, e.violations, e.vehicles, e.per_vehicle) for e in data.top_enterprises] == [
        ("双台子出租汽车公司", 3, 1, 3.0), ("兴隆台出租汽车公司", 1, 2, 0.5)]
    assert [(v.plate, v.violations, v.main_rule) for v in data.top_vehicles] == [
        ("辽L10001", 3, "超速"), ("辽L20002", 1, "连续驾驶超时")]


def test_case_handling_by_district(city):
    data = build_bulletin("weekly", WEEK, moment=MOMENT)
    lines = {line.name: line for line in data.cases}
    a, b = lines["双台子区"], lines["兴隆台区"]
    assert (a.received, a.closed, a.on_time, a.overdue, a.returns, a.supervisions) == (
        2, 1, 1, 1, 0, 1)
    assert a.handling_rate == 0.5 and a.on_time_rate == 1.0 and a.below_floor
    assert (b.received, b.closed, b.overdue, b.returns, b.supervisions) == (1, 0, 1, 1, 0)
    assert b.on_time_rate is None
    total = data.cases_total
    assert (total.received, total.closed, total.overdue) == (3, 1, 2)
    headline = data.headline
    assert (headline.cases_received.current, headline.cases_received.previous) == (3, 1)
    assert (headline.cases_supervised.current, headline.cases_closed.current) == (1, 1)


def test_no_cases_is_no_rate_and_not_below_floor(city):
    empty = build_bulletin("weekly", dt.date(2026, 10, 5), moment=MOMENT)
    line = empty.cases[0]
    assert line.received == 0 and line.handling_rate is None and not line.below_floor
    assert empty.headline.violations.change is None


def test_month_and_its_previous_month(city):
    data = build_bulletin("monthly", dt.date(2026, 11, 1), moment=MOMENT)
    assert (data.period_end, data.previous_start, data.previous_end) == (
        dt.date(2026, 11, 30), dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert data.headline.violations.current == 8 and data.headline.violations.previous == 0
    assert len(data.daily) == 30
    assert data.title == "2026年11月 月复盘"


def test_snapshot_round_trip(city):
    data = build_bulletin("weekly", WEEK, moment=MOMENT)
    raw = to_json(data)
    assert raw["period_start"] == "2026-11-09" and raw["generated_at"].startswith("2026-11-")
    assert from_json(raw) == data


def test_a_handful_of_queries(city, django_assert_max_num_queries):
    with django_assert_max_num_queries(16):
        build_bulletin("weekly", WEEK, moment=MOMENT)


@pytest.mark.parametrize(("text", "parse"), [("2026-11-10", parse_week), ("11/09", parse_week),
                                              ("2026-13", parse_month), ("2026-11-01",
                                                                         parse_month)])
def test_bad_periods_are_refused_with_a_reason(text, parse):
    with pytest.raises(PeriodError) as error:
        parse(text)
    assert str(error.value)


def test_periods():
    week = Period.last_complete("weekly", dt.date(2026, 11, 16))
    assert (week.start, week.end) == (dt.date(2026, 11, 9), dt.date(2026, 11, 15))
    assert Period.last_complete("weekly", dt.date(2026, 11, 22)).start == week.start
    month = Period.last_complete("monthly", dt.date(2026, 1, 2))
    assert (month.start, month.end) == (dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    assert week.title == "2026年第46周（11月9日—11月15日）周通报"
    assert Period.of("monthly", dt.date(2026, 3, 1)).previous().start == dt.date(2026, 2, 1)
