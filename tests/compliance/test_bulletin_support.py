"""A small hand-counted city for the bulletin tests (no tests here: fixtures and builders).

Week of Monday 2026-11-09 to Sunday 2026-11-15 (Shanghai time); the previous week is 11-02..08.

Violations counted (not dismissed, not gps_drift):
    current week: A overspeed 11-09 00:00 and 11-15 23:30 (vehicle A, district A);
                  B fatigue_continuous 11-10 (vehicle B); no_meter 11-12 by vehicle A in
                  district B (territorial principle)                              → 4
    previous week: overspeed 11-08 23:59 (vehicle A, district A), 2 × overspeed 11-03
                  (vehicle B)                                                      → 3
    not counted: 11-16 00:10 (next week), a dismissed one, a gps_drift record.
Cases (units): district A received 2 this week (one reported on time, one overdue and
supervised), district B 1 (returned once, overdue); district A 1 the week before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from compliance.models import Case, VehicleDayQuality
from compliance.services import cases as services
from tests import factories
from tests.compliance.case_support import Cast, Clock, local, make_cast, new_case, unit
from tests.conftest import World

WEEK = dt.date(2026, 11, 9)
# Generation time of the weekly bulletin: after every deadline of the cases below.
MOMENT = local(2026, 11, 30, 2, 0)


def violation(vehicle, rule: str, at: dt.datetime, **fields):  # type: ignore[no-untyped-def]
    return factories.make_violation(vehicle, rule=rule, started_at=at, **fields)


def day_row(vehicle, day: dt.date) -> VehicleDayQuality:  # type: ignore[no-untyped-def]
    return VehicleDayQuality.objects.create(
        vehicle=vehicle, day=day, vehicle_kind=vehicle.kind,
        district=vehicle.registered_district, enterprise=vehicle.enterprise,
        online_seconds=3600, total_fixes=100, valid_fixes=100)


def make_violations(world: World) -> None:
    a, b = world.vehicle_a, world.vehicle_b
    violation(a, "overspeed", local(2026, 11, 9, 0, 0))
    violation(a, "overspeed", local(2026, 11, 15, 23, 30))
    violation(b, "fatigue_continuous", local(2026, 11, 10, 10, 0))
    violation(a, "no_meter", local(2026, 11, 12, 9, 0), district=world.district_b)
    violation(a, "overspeed", local(2026, 11, 8, 23, 59))
    violation(b, "overspeed", local(2026, 11, 3, 8, 0))
    violation(b, "overspeed", local(2026, 11, 3, 9, 0))
    violation(a, "overspeed", local(2026, 11, 16, 0, 10))
    violation(b, "fatigue_continuous", local(2026, 11, 11, 10, 0), review_status="dismissed")
    violation(b, "gps_drift", local(2026, 11, 11, 11, 0))
    # Enterprise B has a second vehicle in service; enterprise A a scrapped one (not counted).
    factories.make_vehicle(world.enterprise_b, plate_number="辽L20003")
    scrapped = factories.make_vehicle(world.enterprise_a, plate_number="辽L10009")
    scrapped.status = "scrapped"
    scrapped.save(update_fields=["status"])
    day_row(a, dt.date(2026, 11, 10))
    day_row(a, dt.date(2026, 11, 11))
    day_row(b, dt.date(2026, 11, 15))
    day_row(a, dt.date(2026, 11, 5))


def make_cases(cast: Cast, clock: Clock) -> dict[str, Case]:
    world = cast.world

    def dispatched(when: dt.datetime, district) -> Case:  # type: ignore[no-untyped-def]
        clock.set(when)
        case = new_case(cast, district=district)
        return services.dispatch_case(case=case, districts=[district], actor=cast.bureau)

    earlier = dispatched(local(2026, 11, 4, 9), world.district_a)
    on_time = dispatched(local(2026, 11, 10, 9), world.district_a)
    services.accept_assignment(assignment=unit(on_time), actor=cast.op_a)
    clock.set(local(2026, 11, 11, 9))
    services.report_result(assignment=unit(on_time), outcome="education", note="已约谈",
                           actor=cast.op_a)
    late = dispatched(local(2026, 11, 12, 9), world.district_a)
    clock.set(local(2026, 11, 13, 9))
    services.supervise_case(case=late, actor=cast.bureau, reason="重点案件")
    returned = dispatched(local(2026, 11, 13, 10), world.district_b)
    services.accept_assignment(assignment=unit(returned), actor=cast.op_b)
    services.report_result(assignment=unit(returned), outcome="education", note="已约谈",
                           actor=cast.op_b)
    clock.set(local(2026, 11, 14, 10))
    returned.refresh_from_db()
    services.return_case(case=returned, actor=cast.bureau, reason="证据不足")
    return {"earlier": earlier, "on_time": on_time, "late": late, "returned": returned}


@dataclass
class City:
    cast: Cast
    cases: dict[str, Case]


@pytest.fixture(name="city")
def city_fixture(world, bureau_user, district_a_user, district_b_user, enterprise_a_user,
         monkeypatch) -> City:  # type: ignore[no-untyped-def]
    cast = make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)
    clock = Clock(monkeypatch, local(2026, 11, 4, 9))
    make_violations(world)
    cases = make_cases(cast, clock)
    clock.set(MOMENT)
    return City(cast=cast, cases=cases)
