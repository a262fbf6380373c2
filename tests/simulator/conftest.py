"""A tiny demo city in the test database, shared by the simulator tests, and its world."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.db import connection

from fleet.demo import DemoSpec, load_demo_city
from fleet.demo.writer import wipe
from fleet.models import District
from fleet.simulator.entities import World
from fleet.simulator.localtime import Day, from_datetime
from fleet.simulator.world import load_world

AS_OF = dt.date(2026, 1, 15)  # a Thursday: the restricted zones' peak windows apply
SPEC = DemoSpec(scale=0.02, seed=1, as_of=AS_OF)
START = from_datetime(dt.datetime.combine(AS_OF, dt.time(0, 0)))
DAY = Day.of(START)


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """One committed demo city for the package's tests (read only), removed afterwards.

    pytest-django creates the test database only when a collected test asks for `db`, so
    every test module here carries ``pytestmark = pytest.mark.django_db``; the check below
    refuses to load or wipe anything in a database that is not a test database.
    """
    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]
        if not str(name).startswith("test_"):
            pytest.fail(f"refusing to load the demo city into {name!r}: not a test database")
        report = load_demo_city(SPEC, validate_per_model=0)
        if not report.loaded:
            pytest.fail(f"the test database is not empty: {report.message}")
        try:
            yield load_world(dt.datetime.combine(AS_OF, dt.time(12, 0), tzinfo=dt.UTC))
        finally:
            wipe()
            District.objects.filter(parent__isnull=False).delete()
            District.objects.all().delete()
