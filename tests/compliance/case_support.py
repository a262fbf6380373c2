"""Shared builders of the case tests: the people, a case in any state, and a controlled clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.utils import timezone

from accounts.models import User
from compliance.models import Case, CaseAssignment, CaseSource, CaseState
from compliance.services import cases as services
from tests.conftest import PASSWORD, World

TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(autouse=True)
def fast_passwords(settings):  # type: ignore[no-untyped-def]
    """Each case test makes up to eight users: hash their passwords cheaply (import this
    fixture into the test module)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Cast:
    world: World
    bureau: User  # bureau supervisor
    analyst: User
    desk: User
    op_a: User
    op_b: User
    leader_a: User
    leader_b: User
    enterprise_a: User


def make_user(username: str, *, level: str, role: str, districts=(), **fields) -> User:  # type: ignore[no-untyped-def]
    user = User.objects.create_user(username=username, password=PASSWORD, level=level,
                                    role=role, **fields)
    user.districts.set(districts)
    return user


def make_cast(world: World, bureau_user: User, district_a_user: User, district_b_user: User,
              enterprise_a_user: User) -> Cast:
    return Cast(
        world=world, bureau=bureau_user,
        analyst=make_user("analyst", level="bureau", role="bureau_analyst"),
        desk=make_user("desk", level="bureau", role="desk_operator"),
        op_a=district_a_user, op_b=district_b_user,
        leader_a=make_user("leader_a", level="district", role="district_leader",
                           districts=[world.district_a]),
        leader_b=make_user("leader_b", level="district", role="district_leader",
                           districts=[world.district_b]),
        enterprise_a=enterprise_a_user)


def new_case(cast: Cast, *, source: str = CaseSource.MANUAL, **fields: object) -> Case:
    """A case of vehicle A in district A, in state ``new`` (manual cases wait for the city)."""
    values: dict[str, object] = {"title": "现场检查：拒载", "vehicle": cast.world.vehicle_a,
                                 "district": cast.world.district_a, **fields}
    return services.open_case(source=source, actor=cast.bureau, **values)  # type: ignore[arg-type]


def unit(case: Case, district=None) -> CaseAssignment:  # type: ignore[no-untyped-def]
    queryset = case.assignments.exclude(state="withdrawn")
    if district is not None:
        queryset = queryset.filter(district=district)
    return queryset.get()


def drive(cast: Cast, case: Case, state: str) -> Case:
    """Take a fresh ``new`` case to ``state`` through the services (single dispatch to A)."""
    steps: dict[str, list[Callable[[Case], object]]] = {
        CaseState.NEW: [],
        CaseState.DISMISSED: [lambda c: services.dismiss_case(case=c, actor=cast.bureau,
                                                              reason="误报")],
        CaseState.DISPATCHED: [lambda c: services.dispatch_case(
            case=c, districts=[cast.world.district_a], actor=cast.bureau)],
    }
    steps[CaseState.ACCEPTED] = [*steps[CaseState.DISPATCHED], lambda c: services.accept_assignment(
        assignment=unit(c), actor=cast.op_a)]
    steps[CaseState.HANDLED] = [*steps[CaseState.ACCEPTED], lambda c: services.report_result(
        assignment=unit(c), outcome="education", note="已约谈", actor=cast.op_a)]
    steps[CaseState.RETURNED] = [*steps[CaseState.HANDLED], lambda c: services.return_case(
        case=c, actor=cast.bureau, reason="证据不足")]
    steps[CaseState.VERIFIED] = [*steps[CaseState.HANDLED], lambda c: services.verify_case(
        case=c, actor=cast.bureau)]
    steps[CaseState.ARCHIVED] = [*steps[CaseState.VERIFIED], lambda c: services.archive_case(
        case=c, actor=cast.bureau)]
    for step in steps[state]:
        step(case)
        case.refresh_from_db()
    assert case.state == state
    return case


class Clock:
    """``timezone.now()`` under the test's control (services, auto_now fields and deadlines)."""

    def __init__(self, monkeypatch, start: dt.datetime) -> None:  # type: ignore[no-untyped-def]
        self.current = start
        monkeypatch.setattr(timezone, "now", lambda: self.current)

    def set(self, moment: dt.datetime) -> None:
        self.current = moment

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
          second: int = 0) -> dt.datetime:
    """A moment given in Shanghai local time."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=TZ)
