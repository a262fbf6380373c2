"""Shared fixtures: two districts, one enterprise and vehicle in each, and named users.

bureau_user sees everything; district_a_user sees district A only; district_b_user district B
only; enterprise_a_user sees enterprise A only.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import User
from fleet.models import District, Enterprise, Vehicle
from tests import factories

# Shared fixtures of the gateway harness and the ingest bus, for any test that needs them.
pytest_plugins = ["tests.gateway.harness", "tests.telemetry.fixtures"]

PASSWORD = "Test-pass-2026!"


@dataclass
class World:
    district_a: District
    district_b: District
    enterprise_a: Enterprise
    enterprise_b: Enterprise
    vehicle_a: Vehicle
    vehicle_b: Vehicle


@pytest.fixture
def world(db) -> World:
    district_a = factories.make_district("211102", "双台子区", 122.0, 41.1)
    district_b = factories.make_district("211103", "兴隆台区", 122.1, 41.1)
    enterprise_a = factories.make_enterprise(district_a, name="双台子出租汽车公司")
    enterprise_b = factories.make_enterprise(district_b, name="兴隆台出租汽车公司")
    return World(
        district_a=district_a,
        district_b=district_b,
        enterprise_a=enterprise_a,
        enterprise_b=enterprise_b,
        vehicle_a=factories.make_vehicle(enterprise_a, plate_number="辽L10001"),
        vehicle_b=factories.make_vehicle(enterprise_b, plate_number="辽L20002"),
    )


def _user(username: str, **fields) -> User:
    districts = fields.pop("districts", [])
    user = User.objects.create_user(username=username, password=PASSWORD, **fields)
    user.districts.set(districts)
    return user


@pytest.fixture
def bureau_user(world: World) -> User:
    return _user("bureau", level="bureau", role="bureau_supervisor")


@pytest.fixture
def district_a_user(world: World) -> User:
    return _user("district_a", level="district", role="district_operator",
                 districts=[world.district_a])


@pytest.fixture
def district_b_user(world: World) -> User:
    return _user("district_b", level="district", role="district_operator",
                 districts=[world.district_b])


@pytest.fixture
def enterprise_a_user(world: World) -> User:
    return _user("enterprise_a", level="enterprise", role="enterprise_officer",
                 enterprise=world.enterprise_a)


@pytest.fixture
def client_for():
    """``client_for(user)`` gives a test client logged in as that user."""

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _default_language():
    """A request with an English cookie leaves English active in the thread; later tests that
    call services directly must start from the default language again."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(scope="session")
def _private_files(tmp_path_factory):  # type: ignore[no-untyped-def]
    return tmp_path_factory.mktemp("private")


@pytest.fixture(autouse=True)
def _private_storage(settings, _private_files):  # type: ignore[no-untyped-def]
    """Uploaded evidence and published bulletins go to a temporary folder, never to the
    checkout's var/private (tests that need a folder of their own override it again)."""
    settings.MEDIA_ROOT = _private_files
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": _private_files}}}
