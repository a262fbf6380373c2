"""Opening cases: the territorial principle, the dispatch policy per source, who may open."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point

from accounts.models import AuditEvent
from compliance.models import CaseSource, CaseState, SourcePolicy
from compliance.services import cases as services
from compliance.services.cases import CaseError
from compliance.services.cases.policy import AUTO_DISPATCH_DEFAULTS
from fleet.geo.jurisdiction import reset_default_resolver
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    fast_passwords,
    make_cast,
    new_case,
)

IN_B = Point(122.15, 41.15, srid=4326)
FAR_AWAY = Point(116.4, 39.9, srid=4326)  # Beijing: no district of this city


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    reset_default_resolver()
    yield make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)
    reset_default_resolver()


def test_territory_of_the_location_wins_over_registration(cast):
    case = new_case(cast, district=None, location=IN_B)
    assert case.vehicle == cast.world.vehicle_a  # registered in A
    assert case.district == cast.world.district_b
    assert case.enterprise == cast.world.enterprise_a


def test_outside_every_district_falls_back_to_registration(cast):
    assert new_case(cast, district=None, location=FAR_AWAY).district == cast.world.district_a
    assert new_case(cast, district=None).district == cast.world.district_a


def test_no_place_and_no_registered_party_is_refused(cast):
    with pytest.raises(CaseError) as refused:
        new_case(cast, district=None, vehicle=None, plate_text="辽L12345")
    assert refused.value.code == CaseError.DISTRICT_UNKNOWN
    assert new_case(cast, district=None, vehicle=None,
                    enterprise=cast.world.enterprise_b).district == cast.world.district_b


def test_open_writes_event_audit_and_the_dispatch_deadline(cast):
    case = new_case(cast)
    assert case.state == CaseState.NEW and case.deadline is not None
    [event] = case.events.all()
    assert (event.action, event.from_state, event.to_state, event.actor) == (
        "open", "", "new", cast.bureau)
    assert AuditEvent.objects.filter(object_type="case", object_id=str(case.pk),
                                     action="case_open").count() == 1


# Violation cases are opened from a violation: their policy is tested in test_case_violations.
@pytest.mark.parametrize("source", [s for s in CaseSource.values if s != CaseSource.VIOLATION])
def test_dispatch_policy_defaults_and_override(cast, source):
    case = new_case(cast, source=source)
    expected = CaseState.DISPATCHED if AUTO_DISPATCH_DEFAULTS[source] else CaseState.NEW
    assert case.state == expected
    SourcePolicy.objects.create(source=source, auto_dispatch=not AUTO_DISPATCH_DEFAULTS[source])
    flipped = new_case(cast, source=source)
    assert flipped.state == (CaseState.NEW if expected == CaseState.DISPATCHED
                             else CaseState.DISPATCHED)


def test_defaults_are_the_documented_ones():
    assert AUTO_DISPATCH_DEFAULTS == {"violation": True, "complaint": False,
                                      "illegal_operation": True, "manual": False}


@pytest.mark.parametrize("who", ["op_a", "leader_a", "analyst", "desk", "enterprise_a"])
def test_only_the_city_opens_cases(cast, who):
    with pytest.raises(CaseError) as refused:
        services.open_case(source=CaseSource.MANUAL, title="检查", vehicle=cast.world.vehicle_a,
                           actor=getattr(cast, who))
    assert refused.value.code == CaseError.FORBIDDEN


def test_inputs_are_checked(cast):
    with pytest.raises(CaseError) as refused:
        new_case(cast, title="  ")
    assert refused.value.code == CaseError.INVALID_INPUT
    with pytest.raises(CaseError) as refused:
        new_case(cast, source="rumour")
    assert refused.value.code == CaseError.INVALID_INPUT
    with pytest.raises(CaseError) as refused:
        new_case(cast, source=CaseSource.VIOLATION)  # without its violation
    assert refused.value.code == CaseError.INVALID_INPUT
