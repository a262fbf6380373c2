"""Screening services: confirm, dismiss, their bulk forms, conflicts, scope and the audit."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import AuditEvent, User
from accounts.roles import ROLE_CAPABILITIES, Capability, Role
from compliance.models import ReviewStatus, Violation
from compliance.services import screening
from compliance.services.screening import ScreeningError
from tests import factories
from tests.conftest import PASSWORD


@pytest.fixture
def other_screener(world) -> User:
    return User.objects.create_user("screener2", password=PASSWORD, level="bureau",
                                    role="bureau_admin", display_name="李四")


def audit_rows(violation: Violation) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="violation", object_id=str(violation.pk)))


def test_confirm_sets_state_and_writes_one_audit_row(world, bureau_user,
                                                     django_capture_on_commit_callbacks):
    violation = factories.make_violation(world.vehicle_a)
    with django_capture_on_commit_callbacks() as callbacks:
        returned = screening.confirm_violation(violation=violation, actor=bureau_user,
                                               note="  核实属实 ")
    assert returned is violation
    violation.refresh_from_db()
    assert violation.review_status == ReviewStatus.CONFIRMED
    assert violation.reviewed_by == bureau_user
    assert violation.reviewed_at is not None
    assert violation.review_note == "核实属实"
    [row] = audit_rows(violation)
    assert (row.actor, row.action) == (bureau_user, "violation_confirm")
    assert row.detail["from"] == "pending" and row.detail["to"] == "confirmed"
    assert row.detail["note"] == "核实属实"
    assert len(callbacks) == 1  # violation_confirmed_on_commit, after the commit only


def test_dismiss_needs_a_reason(world, bureau_user):
    violation = factories.make_violation(world.vehicle_a)
    for reason in ("", "   "):
        with pytest.raises(ScreeningError) as refused:
            screening.dismiss_violation(violation=violation, actor=bureau_user, reason=reason)
        assert refused.value.code == ScreeningError.REASON_REQUIRED
    violation.refresh_from_db()
    assert violation.review_status == ReviewStatus.PENDING
    assert audit_rows(violation) == []

    screening.dismiss_violation(violation=violation, actor=bureau_user, reason="设备误报")
    violation.refresh_from_db()
    assert (violation.review_status, violation.review_note) == ("dismissed", "设备误报")
    assert [r.action for r in audit_rows(violation)] == ["violation_dismiss"]


def test_overlong_note_is_refused(world, bureau_user):
    violation = factories.make_violation(world.vehicle_a)
    with pytest.raises(ScreeningError) as refused:
        screening.confirm_violation(violation=violation, actor=bureau_user, note="长" * 201)
    assert refused.value.code == ScreeningError.NOTE_TOO_LONG


def test_second_screener_gets_a_conflict_not_an_overwrite(world, bureau_user, other_screener):
    violation = factories.make_violation(world.vehicle_a)
    stale = Violation.objects.get(pk=violation.pk)  # the second person's page, still pending
    screening.confirm_violation(violation=violation, actor=bureau_user)

    with pytest.raises(ScreeningError) as refused:
        screening.dismiss_violation(violation=stale, actor=other_screener, reason="误报")
    assert refused.value.code == ScreeningError.CONFLICT
    assert "已确认" in refused.value.message and str(bureau_user) in refused.value.message
    violation.refresh_from_db()
    assert (violation.review_status, violation.reviewed_by) == ("confirmed", bureau_user)
    assert [r.actor for r in audit_rows(violation)] == [bureau_user]


@pytest.mark.django_db(transaction=True)
def test_two_screeners_at_once_exactly_one_wins(world, bureau_user, other_screener):
    violation = factories.make_violation(world.vehicle_a)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def act(name: str, call) -> None:  # type: ignore[no-untyped-def]
        try:
            start.wait(timeout=10)
            call()
            outcomes[name] = "done"
        except ScreeningError as error:
            outcomes[name] = error.code
        finally:
            connection.close()

    confirm = threading.Thread(target=act, args=("confirm", lambda: screening.confirm_violation(
        violation=Violation.objects.get(pk=violation.pk), actor=bureau_user)))
    dismiss = threading.Thread(target=act, args=("dismiss", lambda: screening.dismiss_violation(
        violation=Violation.objects.get(pk=violation.pk), actor=other_screener, reason="误报")))
    confirm.start(), dismiss.start()
    confirm.join(20), dismiss.join(20)

    assert sorted(outcomes.values()) == ["already_screened", "done"]
    winner = "confirmed" if outcomes["confirm"] == "done" else "dismissed"
    violation.refresh_from_db()
    assert violation.review_status == winner
    assert len(audit_rows(violation)) == 1


def test_recorded_rows_are_never_screened(world, bureau_user):
    drift = factories.make_violation(world.vehicle_a, rule="gps_drift")
    assert drift.review_status == ReviewStatus.RECORDED
    with pytest.raises(ScreeningError) as refused:
        screening.confirm_violation(violation=drift, actor=bureau_user)
    assert refused.value.code == ScreeningError.NOT_SCREENABLE
    pending = factories.make_violation(world.vehicle_a)
    with pytest.raises(ScreeningError):
        screening.confirm_violations(ids=[pending.pk, drift.pk], actor=bureau_user)
    pending.refresh_from_db()
    drift.refresh_from_db()
    assert (pending.review_status, drift.review_status) == ("pending", "recorded")
    assert AuditEvent.objects.filter(object_type="violation").count() == 0


def test_screening_needs_the_capability(world, district_a_user):
    violation = factories.make_violation(world.vehicle_a)
    assert Violation.objects.visible_to(district_a_user).filter(pk=violation.pk).exists()
    with pytest.raises(ScreeningError) as refused:
        screening.confirm_violation(violation=violation, actor=district_a_user)
    assert refused.value.code == ScreeningError.FORBIDDEN
    violation.refresh_from_db()
    assert violation.review_status == ReviewStatus.PENDING


def test_out_of_scope_violation_is_refused(world, district_b_user, monkeypatch):
    # Screening is the city's call today; should a district be given it, its scope still holds.
    monkeypatch.setitem(ROLE_CAPABILITIES, Role.DISTRICT_OPERATOR,
                        ROLE_CAPABILITIES[Role.DISTRICT_OPERATOR]
                        | {Capability.SCREEN_VIOLATIONS})
    screener = district_b_user
    in_a = factories.make_violation(world.vehicle_a)
    in_b = factories.make_violation(world.vehicle_b)
    with pytest.raises(ScreeningError) as refused:
        screening.confirm_violation(violation=in_a, actor=screener)
    assert refused.value.code == ScreeningError.NOT_FOUND
    with pytest.raises(ScreeningError):
        screening.dismiss_violations(ids=[in_b.pk, in_a.pk], actor=screener, reason="误报")
    assert set(Violation.objects.values_list("review_status", flat=True)) == {"pending"}

    screening.confirm_violation(violation=in_b, actor=screener)
    in_b.refresh_from_db()
    assert in_b.review_status == ReviewStatus.CONFIRMED


def test_bulk_confirm_changes_pending_and_names_the_ones_screened_before(
        world, bureau_user, other_screener):
    rows = [factories.make_violation(world.vehicle_a) for _ in range(3)]
    taken = factories.make_violation(world.vehicle_b, rule="dsm_phone")
    screening.dismiss_violation(violation=taken, actor=other_screener, reason="乘客打电话")

    result = screening.confirm_violations(ids=[*(v.pk for v in rows), taken.pk, rows[0].pk],
                                          actor=bureau_user, note="批量确认")
    assert result.count == 3
    assert sorted(result.changed) == sorted(v.pk for v in rows)
    [skipped] = result.skipped
    assert (skipped.id, skipped.review_status, skipped.reviewed_by) == (taken.pk, "dismissed",
                                                                       "李四")
    assert str(skipped) == "辽L20002 接打手机（李四已排除）"
    assert set(Violation.objects.filter(pk__in=[v.pk for v in rows])
               .values_list("review_status", "review_note")) == {("confirmed", "批量确认")}
    confirms = AuditEvent.objects.filter(action="violation_confirm")
    assert sorted(int(r.object_id) for r in confirms) == sorted(v.pk for v in rows)
    assert all(r.detail["bulk"] for r in confirms)
    taken.refresh_from_db()
    assert taken.review_status == "dismissed"  # not overwritten


def test_bulk_dismiss(world, bureau_user):
    rows = [factories.make_violation(world.vehicle_a) for _ in range(2)]
    result = screening.dismiss_violations(ids=[v.pk for v in rows], actor=bureau_user,
                                          reason="测试数据")
    assert (result.count, result.skipped) == (2, ())
    assert AuditEvent.objects.filter(action="violation_dismiss").count() == 2
    with pytest.raises(ScreeningError) as refused:
        screening.dismiss_violations(ids=[v.pk for v in rows], actor=bureau_user, reason="")
    assert refused.value.code == ScreeningError.REASON_REQUIRED


def test_bulk_with_nothing_selected(world, bureau_user):
    with pytest.raises(ScreeningError) as refused:
        screening.confirm_violations(ids=[], actor=bureau_user)
    assert refused.value.code == ScreeningError.NOTHING_SELECTED
