"""The crafted month (October 2026) the assessment tests work by hand, and its builder.

Districts: A 双台子区 and B 兴隆台区 (from ``world``), C 大洼区 with no 两客一危 vehicle.
Enterprises (taxi companies of ``world`` have only taxis: not assessed):

- E1 危货一公司 (A): H1, H2 report; H3 has a terminal and is silent; H7 has no terminal and is
  silent; H4 is suspended (not required).
- E2 客运公司 (A): coaches C1, C2, 20 days each.
- E3 危货三公司 (B): H5 reports one day; H6 has a terminal and is silent.

Day-quality rows are written as the day job would have left them (crafted figures, independent
of positions); violations, check-posts and cases are real rows (cases through the services under
a controlled clock).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from compliance.models import Case, CaseSource, CheckPost, VehicleDayQuality
from compliance.services import cases as services
from fleet.models import District, Enterprise, Vehicle
from tests import factories
from tests.compliance.case_support import Cast, Clock, local, make_cast, unit
from tests.conftest import World

OCTOBER = dt.date(2026, 10, 1)
# Judged just after the month: E3's last check-post (sent 23:55, 10 min) is still open.
AS_OF = local(2026, 11, 1, 0, 2)


@dataclass
class Month:
    world: World
    district_c: District
    e1: Enterprise
    e2: Enterprise
    e3: Enterprise
    h1: Vehicle
    c1: Vehicle
    h5: Vehicle


def _day(vehicle: Vehicle, day: int, month: int = 10, **figures: float) -> VehicleDayQuality:
    return VehicleDayQuality(vehicle=vehicle, day=dt.date(2026, month, day),
                             vehicle_kind=vehicle.kind,
                             district_id=vehicle.registered_district_id,
                             enterprise_id=vehicle.enterprise_id, **figures)


def _checkpost(sender: User, *, sent: dt.datetime, answered: dt.datetime | None,
               enterprise: Enterprise | None = None, district: District | None = None) -> None:
    post = CheckPost.objects.create(enterprise=enterprise, district=district, question="在岗？",
                                    sent_by=sender, answer_within_minutes=10)
    CheckPost.objects.filter(pk=post.pk).update(sent_at=sent, answered_at=answered,
                                                answered_by=sender if answered else None)


def build_fleet(world: World) -> Month:
    a, b = world.district_a, world.district_b
    district_c = factories.make_district("211104", "大洼区", 122.2, 41.1)
    e1 = factories.make_enterprise(a, kind="hazmat_carrier", name="危货一公司")
    e2 = factories.make_enterprise(a, kind="passenger_transport", name="客运公司")
    e3 = factories.make_enterprise(b, kind="hazmat_carrier", name="危货三公司")
    h1, h2, h3, h4, _h7 = (factories.make_vehicle(e1, kind="hazmat") for _i in range(5))
    Vehicle.objects.filter(pk=h4.pk).update(status="suspended")
    c1, c2 = (factories.make_vehicle(e2, kind="coach") for _i in range(2))
    h5, h6 = (factories.make_vehicle(e3, district=b, kind="hazmat") for _i in range(2))
    for vehicle in (h1, h2, h3, c1, c2, h5, h6, world.vehicle_a):
        factories.make_terminal(vehicle)
    rows = [
        # E1: H1 two days, H2 one day (parked: no mileage).
        _day(h1, 1, mileage_km=100, complete_mileage_km=90, total_fixes=1000, valid_fixes=950,
             overspeed_count=2, fatigue_seconds=3600),
        _day(h1, 2, mileage_km=100, complete_mileage_km=50, total_fixes=1000, valid_fixes=850,
             drift_fixes=2),
        _day(h2, 1, total_fixes=100, valid_fixes=100),
        # E3: H5 one day.
        _day(h5, 3, mileage_km=50, complete_mileage_km=30, total_fixes=500, valid_fixes=350,
             overspeed_count=8, fatigue_seconds=1800),
        # A taxi's day: not an assessed kind, ignored.
        _day(world.vehicle_a, 1, mileage_km=999, total_fixes=999, overspeed_count=99),
    ]
    for day in range(1, 21):  # E2: C1 and C2 on 20 days; C2 drifts on day 1
        rows.append(_day(c1, day, mileage_km=10, complete_mileage_km=9.5, total_fixes=100,
                         valid_fixes=99, overspeed_count=4 if day == 1 else 0))
        rows.append(_day(c2, day, mileage_km=5, complete_mileage_km=4, total_fixes=100,
                         valid_fixes=81, drift_fixes=1 if day == 1 else 0,
                         overspeed_count=3 if day == 1 else 0))
    rows.append(_day(h1, 30, month=9, total_fixes=10, valid_fixes=10))  # September
    VehicleDayQuality.objects.bulk_create(rows)
    return Month(world=world, district_c=district_c, e1=e1, e2=e2, e3=e3, h1=h1, c1=c1, h5=h5)


def build_violations(month: Month) -> None:
    """E1: 3 counted (a dismissed one and a drift record are not); E3: 3 counted."""
    at = local(2026, 10, 5, 10)
    for minutes, rule, status in ((0, "overspeed", "confirmed"), (1, "overspeed", "confirmed"),
                                  (2, "overspeed", "dismissed"), (3, "gps_drift", "recorded"),
                                  (4, "fatigue_continuous", "pending")):
        factories.make_violation(month.h1, rule=rule, review_status=status,
                                 started_at=at + dt.timedelta(minutes=minutes))
    for minutes in range(3):
        factories.make_violation(month.h5, started_at=at + dt.timedelta(minutes=minutes))
    factories.make_violation(month.h5, started_at=local(2026, 9, 30, 10))  # September


def build_checkposts(month: Month, sender: User) -> None:
    at = local(2026, 10, 10, 10)
    # E1: in time, late (20 min), unanswered.
    _checkpost(sender, enterprise=month.e1, sent=at, answered=at + dt.timedelta(minutes=5))
    _checkpost(sender, enterprise=month.e1, sent=at + dt.timedelta(days=1),
               answered=at + dt.timedelta(days=1, minutes=20))
    _checkpost(sender, enterprise=month.e1, sent=at + dt.timedelta(days=2), answered=None)
    # E2: both in time.
    for day in (3, 4):
        _checkpost(sender, enterprise=month.e2, sent=at + dt.timedelta(days=day),
                   answered=at + dt.timedelta(days=day, minutes=9))
    # E3: still inside its window at AS_OF; and one in September.
    _checkpost(sender, enterprise=month.e3, sent=local(2026, 10, 31, 23, 55), answered=None)
    _checkpost(sender, enterprise=month.e3, sent=local(2026, 9, 30, 10), answered=None)
    # A district desk (districts are not scored on check-posts).
    _checkpost(sender, district=month.world.district_a, sent=at, answered=None)


def fresh(case: Case) -> Case:
    case.refresh_from_db()
    return case


def build_cases(month: Month, cast: Cast, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """District A, dispatched in October: c1 closed in time, c2 closed late, c3 returned and
    open past its deadline (auto 督办), c4 dispatched on the 30th (not due yet), c5 moved to B
    (withdrawn for A), c7 double dispatch A+B (督办 by hand). c6 was dispatched in September."""
    clock = Clock(monkeypatch, local(2026, 9, 28, 9))
    a, b = month.world.district_a, month.world.district_b

    def dispatched(districts: list[District], source: str = CaseSource.MANUAL,
                   vehicle: Vehicle | None = month.h1):  # type: ignore[no-untyped-def]
        case = services.open_case(source=source, title="检查", vehicle=vehicle,
                                  district=districts[0], actor=cast.bureau)
        if case.state != "new":  # illegal operation: dispatched at once to both districts
            return case
        return services.dispatch_case(case=case, districts=districts, actor=cast.bureau)

    dispatched([a])  # c6, September
    clock.set(local(2026, 10, 12, 9))
    c1, c2, c3 = dispatched([a]), dispatched([a]), dispatched([a])
    c5 = dispatched([a], vehicle=month.world.vehicle_a)
    # Happened in A, the taxi is registered in B: both districts at once (双重派送).
    c7 = dispatched([a], source=CaseSource.ILLEGAL_OPERATION, vehicle=month.world.vehicle_b)
    assert {x.district_id for x in c7.assignments.all()} == {a.pk, b.pk}
    services.redispatch_case(case=fresh(c5), from_district=a, to_district=b, actor=cast.bureau,
                             reason="属地错误")
    clock.set(local(2026, 10, 12, 10))
    for case in (c1, c2, c3):
        services.accept_assignment(assignment=unit(case), actor=cast.op_a)
    clock.set(local(2026, 10, 13, 9))
    for case in (c1, c3):
        services.report_result(assignment=unit(case), outcome="education", note="约谈",
                               actor=cast.op_a)
    services.supervise_case(case=fresh(c7), actor=cast.bureau, reason="重点督办")
    clock.set(local(2026, 10, 14, 9))
    services.verify_case(case=fresh(c1), actor=cast.bureau)
    services.return_case(case=fresh(c3), actor=cast.bureau, reason="证据不足")
    clock.set(unit(c2).deadline + dt.timedelta(hours=1))  # late
    services.report_result(assignment=unit(c2), outcome="education", note="约谈",
                           actor=cast.op_a)
    services.verify_case(case=fresh(c2), actor=cast.bureau)
    services.archive_case(case=fresh(c2), actor=cast.bureau)
    clock.set(unit(c3).deadline + dt.timedelta(hours=1))
    services.raise_overdue_supervision(now=timezone.now())
    clock.set(local(2026, 10, 30, 20))
    dispatched([a], vehicle=month.h1)  # c4: not due by AS_OF
    clock.set(AS_OF)


def build_month(world, bureau_user, district_a_user, district_b_user, enterprise_a_user,
                monkeypatch):  # type: ignore[no-untyped-def]
    """The whole crafted October (registry, day rows, violations, check-posts, cases)."""
    data = build_fleet(world)
    build_violations(data)
    build_checkposts(data, bureau_user)
    cast = make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)
    build_cases(data, cast, monkeypatch)
    return data
