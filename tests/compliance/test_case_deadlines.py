"""Working days on the bureau's calendar and stage deadlines, with controlled dates.

The calendar used here is made up for the test (not the real 2026 one): National Day off from
Thu 1 Oct to Wed 7 Oct, with Sun 27 Sep and Sat 10 Oct as make-up working days (调休)."""

from __future__ import annotations

import datetime as dt

import pytest

from compliance import deadlines
from compliance.deadlines import add_working_days, deadline_for, limit_for
from compliance.models import CaseSource, DeadlinePolicy, Holiday, Stage
from tests.compliance.case_support import local

pytestmark = pytest.mark.django_db


def end_of(year: int, month: int, day: int) -> dt.datetime:
    return local(year, month, day, 23, 59, 59)


@pytest.fixture
def national_day() -> None:
    for day in range(1, 8):
        Holiday.objects.create(date=dt.date(2026, 10, day), name="国庆节")
    Holiday.objects.create(date=dt.date(2026, 9, 27), working_day=True, name="国庆调休")
    Holiday.objects.create(date=dt.date(2026, 10, 10), working_day=True, name="国庆调休")


def test_plain_weeks():
    friday = local(2026, 11, 20, 10, 0)
    assert add_working_days(friday, 1) == end_of(2026, 11, 23)  # the weekend is skipped
    assert add_working_days(friday, 5) == end_of(2026, 11, 27)
    assert add_working_days(local(2026, 11, 23, 8, 0), 1) == end_of(2026, 11, 24)
    assert add_working_days(friday, 0) == end_of(2026, 11, 20)


def test_start_day_is_taken_in_shanghai_time():
    # Thu 19 Nov 16:30 UTC is already Fri 00:30 in Shanghai: one working day ends on Monday.
    assert add_working_days(dt.datetime(2026, 11, 19, 16, 30, tzinfo=dt.UTC), 1) == end_of(
        2026, 11, 23)
    # Thu 19 Nov 15:30 UTC is Thu 23:30 in Shanghai: it ends on Friday.
    assert add_working_days(dt.datetime(2026, 11, 19, 15, 30, tzinfo=dt.UTC), 1) == end_of(
        2026, 11, 20)


def test_holidays_and_make_up_days(national_day):
    assert add_working_days(local(2026, 9, 26, 10), 1) == end_of(2026, 9, 27)  # make-up Sunday
    assert add_working_days(local(2026, 9, 25, 10), 1) == end_of(2026, 9, 27)
    wednesday = local(2026, 9, 30, 16)
    assert add_working_days(wednesday, 1) == end_of(2026, 10, 8)  # the whole week off
    assert add_working_days(wednesday, 2) == end_of(2026, 10, 9)
    assert add_working_days(wednesday, 3) == end_of(2026, 10, 10)  # make-up Saturday
    assert add_working_days(wednesday, 4) == end_of(2026, 10, 12)
    assert add_working_days(local(2026, 10, 3, 12), 1) == end_of(2026, 10, 8)


def test_is_working_day(national_day):
    assert deadlines.is_working_day(dt.date(2026, 9, 27))  # Sunday, made a working day
    assert not deadlines.is_working_day(dt.date(2026, 10, 5))  # Monday, holiday
    assert not deadlines.is_working_day(dt.date(2026, 11, 21))  # plain Saturday
    assert deadlines.is_working_day(dt.date(2026, 11, 20))


def test_a_long_period_reads_the_calendar_beyond_its_first_window():
    Holiday.objects.create(date=dt.date(2027, 2, 15), name="春节")  # a Monday, 87 days later
    # 60 working days from Mon 23 Nov 2026: 12 weeks → Mon 15 Feb 2027, a holiday → Tue.
    assert add_working_days(local(2026, 11, 23, 9), 60) == end_of(2027, 2, 16)


def test_default_limits_are_defined_for_every_source_and_stage():
    for source in CaseSource.values:
        for stage in Stage.values:
            assert limit_for(source, stage).amount > 0
    assert str(limit_for(CaseSource.VIOLATION, Stage.HANDLE)) == "5 working_days"
    assert str(limit_for(CaseSource.COMPLAINT, Stage.DISPATCH)) == "1 working_days"


def test_deadline_for_stages():
    friday = local(2026, 11, 20, 10, 0)
    assert deadline_for(CaseSource.VIOLATION, Stage.ACCEPT, friday) == end_of(2026, 11, 23)
    assert deadline_for(CaseSource.VIOLATION, Stage.HANDLE, friday) == end_of(2026, 11, 27)
    assert deadline_for(CaseSource.VIOLATION, Stage.VERIFY, friday) == end_of(2026, 11, 24)
    # Complaint verification waits one calendar day for the callback; Saturday moves to Monday.
    assert deadline_for(CaseSource.COMPLAINT, Stage.VERIFY, friday) == end_of(2026, 11, 23)
    assert deadline_for(CaseSource.COMPLAINT, Stage.VERIFY,
                        local(2026, 11, 18, 9)) == end_of(2026, 11, 19)


def test_taxi_complaints_run_on_hours_and_calendar_days(national_day):
    friday = local(2026, 11, 20, 10, 0)
    accept = deadline_for(CaseSource.COMPLAINT, Stage.ACCEPT, friday, vehicle_kind="taxi")
    assert accept == friday + dt.timedelta(hours=24)  # weekend or not
    assert deadline_for(CaseSource.COMPLAINT, Stage.HANDLE, local(2026, 11, 10, 9),
                        vehicle_kind="taxi") == end_of(2026, 11, 20)
    # Ten days from Wed 11 Nov end on Saturday: the period ends on the next working day.
    assert deadline_for(CaseSource.COMPLAINT, Stage.HANDLE, local(2026, 11, 11, 9),
                        vehicle_kind="taxi") == end_of(2026, 11, 23)
    # Ten days from Mon 21 Sep end on a National Day holiday: Thu 8 Oct.
    assert deadline_for(CaseSource.COMPLAINT, Stage.HANDLE, local(2026, 9, 21, 9),
                        vehicle_kind="taxi") == end_of(2026, 10, 8)
    # Other vehicles' complaints: 5 working days.
    assert deadline_for(CaseSource.COMPLAINT, Stage.HANDLE, friday,
                        vehicle_kind="bus") == end_of(2026, 11, 27)


def test_policy_rows_override_the_defaults():
    friday = local(2026, 11, 20, 10, 0)
    DeadlinePolicy.objects.create(source=CaseSource.VIOLATION, stage=Stage.HANDLE, amount=3,
                                  unit="working_days")
    DeadlinePolicy.objects.create(source=CaseSource.COMPLAINT, stage=Stage.ACCEPT, amount=2,
                                  unit="hours")
    assert deadline_for(CaseSource.VIOLATION, Stage.HANDLE, friday) == end_of(2026, 11, 25)
    for kind in ("taxi", "bus", None):
        assert deadline_for(CaseSource.COMPLAINT, Stage.ACCEPT, friday,
                            vehicle_kind=kind) == friday + dt.timedelta(hours=2)
    assert deadline_for(CaseSource.MANUAL, Stage.HANDLE, friday) == end_of(2026, 11, 27)
