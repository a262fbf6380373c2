"""双重派送: an illegal-operation case goes to the district where it happened and the one the
operator is registered in, and is handled only when both have reported."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.urls import reverse

from compliance.models import Case, CaseSource, CaseState, SourcePolicy
from compliance.services import cases as services
from compliance.services.cases import CaseError
from fleet.geo.jurisdiction import reset_default_resolver
from tests import factories
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    fast_passwords,
    make_cast,
    unit,
)

IN_A = Point(122.05, 41.15, srid=4326)  # inside district A's square


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    reset_default_resolver()  # the resolver reads this test's districts
    yield make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)
    reset_default_resolver()


def illegal(cast: Cast, **fields: object) -> Case:
    values: dict[str, object] = {"title": "非法营运：无证载客", "vehicle": cast.world.vehicle_b,
                                 "location": IN_A, **fields}
    return services.open_case(source=CaseSource.ILLEGAL_OPERATION, actor=cast.bureau,
                              **values)  # type: ignore[arg-type]


def test_dispatched_at_once_to_the_place_and_the_home_district(cast):
    case = illegal(cast)
    assert case.state == CaseState.DISPATCHED
    assert case.district == cast.world.district_a  # where it happened
    units = {a.district for a in case.assignments.all()}
    assert units == {cast.world.district_a, cast.world.district_b}
    # Both units see it, in their inboxes and lists.
    for user in (cast.op_a, cast.op_b):
        assert Case.objects.visible_to(user).filter(pk=case.pk).exists()
    event = case.events.get(action="dispatch")
    assert set(event.detail["districts"]) == {cast.world.district_a.pk,
                                              cast.world.district_b.pk}
    assert event.detail["auto"] is True


def test_handled_only_when_both_units_reported(cast):
    case = illegal(cast)
    a, b = unit(case, cast.world.district_a), unit(case, cast.world.district_b)
    services.accept_assignment(assignment=a, actor=cast.op_a)
    services.report_result(assignment=a, outcome="fine", fine_yuan=5000, actor=cast.op_a)
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED  # B has not even signed
    services.accept_assignment(assignment=b, actor=cast.op_b)
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED
    assert case.deadline == unit(case, cast.world.district_b).deadline  # what is still owed
    services.report_result(assignment=b, outcome="education", actor=cast.op_b)
    case.refresh_from_db()
    assert case.state == CaseState.HANDLED


def test_return_to_one_unit_only(cast):
    case = illegal(cast)
    for district, user in ((cast.world.district_a, cast.op_a),
                           (cast.world.district_b, cast.op_b)):
        services.accept_assignment(assignment=unit(case, district), actor=user)
        services.report_result(assignment=unit(case, district), outcome="education",
                               actor=user)
    case.refresh_from_db()
    services.return_case(case=case, actor=cast.bureau, reason="未查扣车辆",
                         districts=[cast.world.district_b])
    assert unit(case, cast.world.district_a).state == "handled"
    assert unit(case, cast.world.district_b).state == "returned"
    services.report_result(assignment=unit(case, cast.world.district_b), outcome="fine",
                           fine_yuan=10000, actor=cast.op_b)
    case.refresh_from_db()
    assert case.state == CaseState.HANDLED


def test_redispatch_one_unit(cast):
    district_c = factories.make_district("211104", "大洼区", 122.2, 41.1)
    case = illegal(cast)
    services.accept_assignment(assignment=unit(case, cast.world.district_a), actor=cast.op_a)
    case.refresh_from_db()
    services.redispatch_case(case=case, from_district=cast.world.district_b,
                             to_district=district_c, actor=cast.bureau, reason="车辆已转籍大洼区")
    assert case.state == CaseState.ACCEPTED  # A is still at work
    assert {a.district for a in case.assignments.exclude(state="withdrawn")} == {
        cast.world.district_a, district_c}
    assert not Case.objects.visible_to(cast.op_b).filter(pk=case.pk).exists()
    with pytest.raises(CaseError) as refused:
        services.redispatch_case(case=case, from_district=cast.world.district_a,
                                 to_district=district_c, actor=cast.bureau, reason="合并")
    assert refused.value.code == CaseError.INVALID_DISTRICTS  # C already has its part


def test_same_district_is_both_units(cast):
    case = illegal(cast, vehicle=cast.world.vehicle_a)
    assert [a.district for a in case.assignments.all()] == [cast.world.district_a]


def test_unregistered_vehicle_goes_to_the_territorial_unit(cast):
    case = illegal(cast, vehicle=None, plate_text="辽l88888")
    assert case.plate_text == "辽L88888"
    assert [a.district for a in case.assignments.all()] == [cast.world.district_a]


def test_the_city_may_choose_the_two_units_when_dispatch_is_screened(cast):
    SourcePolicy.objects.create(source=CaseSource.ILLEGAL_OPERATION, auto_dispatch=False)
    case = illegal(cast, vehicle=None, plate_text="辽L88888")
    assert case.state == CaseState.NEW
    services.dispatch_case(case=case, districts=[cast.world.district_a, cast.world.district_b],
                           actor=cast.bureau, note="联合查处")
    assert case.assignments.count() == 2
    with pytest.raises(CaseError):
        services.dispatch_case(case=case, districts=[cast.world.district_a],
                               actor=cast.bureau)


def test_supervision_goes_to_the_late_unit_only(cast, client_for):
    """A signs in time, B does not: the automatic 督办 names B; only B's inbox shows it and
    only B may answer. One raised by hand names both units still working on the case."""
    import datetime as dt

    from compliance.selectors_cases import district_inbox

    case = illegal(cast)
    a, b = unit(case, cast.world.district_a), unit(case, cast.world.district_b)
    services.accept_assignment(assignment=a, actor=cast.op_a)
    a.refresh_from_db()
    [raised] = services.raise_overdue_supervision(now=b.deadline + dt.timedelta(minutes=1))
    assert list(raised.units.all()) == [cast.world.district_b]
    later = b.deadline + dt.timedelta(minutes=2)
    assert [r.case.pk for r in district_inbox(cast.op_b, now=later).supervised] == [case.pk]
    assert district_inbox(cast.op_a, now=later).supervised == []
    page = reverse("compliance:case_detail", args=[case.pk])
    form = f'name="supervision" value="{raised.pk}"'
    assert form in client_for(cast.op_b).get(page).content.decode()
    html = client_for(cast.op_a).get(page).content.decode()
    assert form not in html and cast.world.district_b.name in html  # named, not A's to answer
    with pytest.raises(CaseError) as refused:
        services.reply_supervision(supervision=raised, actor=cast.op_a, reply="不是我们")
    assert refused.value.code == CaseError.FORBIDDEN
    assert services.reply_supervision(supervision=raised, actor=cast.op_b,
                                      reply="已安排签收").replied_by == cast.op_b
    case.refresh_from_db()
    by_hand = services.supervise_case(case=case, actor=cast.bureau, reason="重点案件")
    assert set(by_hand.units.all()) == {cast.world.district_a, cast.world.district_b}


def test_notices_raised_before_units_were_recorded_are_addressed(cast):
    """The 0005 migration's backfill, run on today's models: an automatic notice goes to the
    unit its event names, one raised by hand to every unit still on the case."""
    import datetime as dt
    import importlib

    from django.apps import apps

    backfill = importlib.import_module("compliance.migrations.0005_supervision_units")
    case = illegal(cast)
    services.accept_assignment(assignment=unit(case, cast.world.district_a), actor=cast.op_a)
    b = unit(case, cast.world.district_b)
    [automatic] = services.raise_overdue_supervision(now=b.deadline + dt.timedelta(minutes=1))
    case.refresh_from_db()
    by_hand = services.supervise_case(case=case, actor=cast.bureau, reason="重点案件")
    for notice in (automatic, by_hand):
        notice.units.clear()
    backfill.address_existing(apps, None)
    assert set(automatic.units.all()) == {cast.world.district_b}
    assert set(by_hand.units.all()) == {cast.world.district_a, cast.world.district_b}
