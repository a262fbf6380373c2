"""Readable case numbers: prefix per source, the Shanghai date, a daily sequence — unique when
many cases are opened at the same moment."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from compliance.models import Case, CaseSource
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Clock,
    fast_passwords,
    local,
    make_cast,
    new_case,
)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user):  # type: ignore[no-untyped-def]
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


def test_prefix_date_and_daily_sequence(cast, monkeypatch):
    clock = Clock(monkeypatch, local(2026, 11, 21, 9, 0))
    first, second = new_case(cast), new_case(cast)
    complaint = new_case(cast, source=CaseSource.COMPLAINT, complaint_ref="12328-001")
    illegal = new_case(cast, source=CaseSource.ILLEGAL_OPERATION, title="黑车")
    assert [first.number, second.number] == ["XC202611210001", "XC202611210002"]
    assert complaint.number == "TS202611210001"
    assert illegal.number == "FF202611210001"
    # Midnight in Shanghai, still the 21st in UTC: a new day, a new sequence.
    clock.set(dt.datetime(2026, 11, 21, 16, 30, tzinfo=dt.UTC))
    assert new_case(cast).number == "XC202611220001"


def test_sequence_grows_past_four_digits(cast, monkeypatch):
    Clock(monkeypatch, local(2026, 11, 21, 9, 0))
    first = new_case(cast)
    Case.objects.filter(pk=first.pk).update(number="XC202611219999")
    assert new_case(cast).number == "XC2026112110000"
    assert new_case(cast).number == "XC2026112110001"


@pytest.mark.django_db(transaction=True)
def test_numbers_are_unique_under_concurrent_creation(cast):
    workers = 6
    start = threading.Barrier(workers)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            start.wait(timeout=10)
            numbers.append(new_case(cast).number)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(set(numbers)) == workers
    assert sorted(int(n[-4:]) for n in numbers) == list(range(1, workers + 1))
