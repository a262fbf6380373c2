"""指令下发 services: issue to districts, acknowledge once (a second person gets a conflict),
scope and roles, bad input writes nothing, audit rows and notifications."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import AuditEvent
from compliance import selectors_desk as selectors
from compliance.models import Instruction, InstructionTarget, Notification
from compliance.services.cases import CaseError
from compliance.services.instructions import acknowledge_instruction, issue_instruction
from fleet.models import District
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    Clock,
    fast_passwords,
    local,
    make_cast,
    make_user,
)

START = local(2026, 11, 20, 9, 0)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


@pytest.fixture
def clock(monkeypatch) -> Clock:  # type: ignore[no-untyped-def]
    return Clock(monkeypatch, START)


def issue(cast: Cast, districts=None, **fields) -> Instruction:  # type: ignore[no-untyped-def]
    values = {"title": "加强节前安全检查", "body": "请各区县于本周内完成出租汽车企业安全检查。",
              "acknowledge_by": START + dt.timedelta(hours=4), **fields}
    return issue_instruction(
        districts=districts if districts is not None else [cast.world.district_a,
                                                          cast.world.district_b],
        actor=cast.bureau, **values)


def target(instruction: Instruction, district) -> InstructionTarget:  # type: ignore[no-untyped-def]
    return instruction.targets.get(district=district)


def test_issue_makes_one_target_per_district_and_notifies_their_staff(cast, clock):
    instruction = issue(cast, [cast.world.district_a, cast.world.district_b,
                               cast.world.district_a])
    assert instruction.issued_at == START and instruction.issued_by == cast.bureau
    assert {t.district_id for t in instruction.targets.all()} == {
        cast.world.district_a.pk, cast.world.district_b.pk}
    told = {n.user for n in Notification.objects.filter(kind="instruction_issued")}
    assert told == {cast.op_a, cast.leader_a, cast.op_b, cast.leader_b}
    row = Notification.objects.filter(user=cast.op_a).get()
    assert row.title == "新指令待签收：加强节前安全检查" and row.case is None
    assert row.url == f"/compliance/instructions/{instruction.pk}/"
    event = AuditEvent.objects.get(action="instruction_issue")
    assert event.actor == cast.bureau and event.object_id == str(instruction.pk)


@pytest.mark.parametrize(("fields", "code"), [
    ({"title": "  "}, CaseError.INVALID_INPUT),
    ({"body": ""}, CaseError.INVALID_INPUT),
    ({"title": "长" * 201}, CaseError.INVALID_INPUT),
    ({"acknowledge_by": START - dt.timedelta(minutes=1)}, CaseError.INVALID_INPUT),
])
def test_bad_input_writes_nothing(cast, clock, fields, code):
    with pytest.raises(CaseError) as error:
        issue(cast, **fields)
    assert error.value.code == code and error.value.message
    assert not Instruction.objects.exists() and not Notification.objects.exists()
    assert not AuditEvent.objects.filter(action="instruction_issue").exists()


def test_no_districts_and_unknown_districts_are_refused(cast, clock):
    with pytest.raises(CaseError) as error:
        issue(cast, [])
    assert error.value.code == CaseError.INVALID_DISTRICTS
    ghost = District(pk=10**9, code="211199", name="不存在区")
    with pytest.raises(CaseError) as error:
        issue(cast, [cast.world.district_a, ghost])
    assert error.value.code == CaseError.INVALID_DISTRICTS
    assert not Instruction.objects.exists()


def test_only_the_city_issues(cast, clock):
    for actor in (cast.op_a, cast.analyst, cast.enterprise_a):
        with pytest.raises(CaseError) as error:
            issue_instruction(title="t", body="b", districts=[cast.world.district_a],
                              acknowledge_by=START + dt.timedelta(hours=1), actor=actor)
        assert error.value.code == CaseError.FORBIDDEN
    assert not Instruction.objects.exists()


def test_acknowledge_once_then_conflict_naming_who(cast, clock):
    instruction = issue(cast)
    second = make_user("op_a2", level="district", role="district_operator",
                       districts=[cast.world.district_a])
    clock.advance(minutes=30)
    stale = target(instruction, cast.world.district_a)
    done = acknowledge_instruction(target=stale, actor=cast.op_a, reply="已传达至各企业")
    assert (done.acknowledged_at, done.acknowledged_by, done.reply) == (
        START + dt.timedelta(minutes=30), cast.op_a, "已传达至各企业")
    clock.advance(minutes=1)
    with pytest.raises(CaseError) as error:
        acknowledge_instruction(target=target(instruction, cast.world.district_a),
                                actor=second, reply="我也签收")
    assert error.value.code == CaseError.CONFLICT
    assert "district_a" in error.value.message and "09:30" in error.value.message
    fresh = target(instruction, cast.world.district_a)
    assert fresh.acknowledged_by == cast.op_a and fresh.reply == "已传达至各企业"
    # The issuer hears of it once; the audit row says it was on time.
    assert [n.user for n in Notification.objects.filter(kind="instruction_acknowledged")] == [
        cast.bureau]
    [event] = AuditEvent.objects.filter(action="instruction_acknowledge")
    assert event.detail["late"] is False and event.detail["district"] == cast.world.district_a.pk


def test_scope_and_roles_of_acknowledgement(cast, clock):
    instruction = issue(cast, [cast.world.district_a])
    mine = target(instruction, cast.world.district_a)
    with pytest.raises(CaseError) as error:  # district B: does not exist for them
        acknowledge_instruction(target=mine, actor=cast.op_b)
    assert error.value.code == CaseError.NOT_FOUND
    with pytest.raises(CaseError) as error:  # enterprises see no instructions
        acknowledge_instruction(target=mine, actor=cast.enterprise_a)
    assert error.value.code == CaseError.NOT_FOUND
    with pytest.raises(CaseError) as error:  # the city sees it but signs for no district
        acknowledge_instruction(target=mine, actor=cast.bureau)
    assert error.value.code == CaseError.FORBIDDEN
    with pytest.raises(CaseError) as error:
        acknowledge_instruction(target=mine, actor=cast.op_a, reply="长" * 2001)
    assert error.value.code == CaseError.INVALID_INPUT
    assert target(instruction, cast.world.district_a).acknowledged_at is None
    acknowledge_instruction(target=mine, actor=cast.leader_a)  # leaders sign too
    assert target(instruction, cast.world.district_a).acknowledged_by == cast.leader_a


def test_status_pending_overdue_acknowledged_late(cast, clock):
    instruction = issue(cast)
    [row] = selectors.instruction_rows(cast.bureau, selectors.instructions(cast.bureau))
    assert {t.status for t in row.targets} == {selectors.PENDING}
    clock.advance(hours=5)  # past the deadline
    acknowledge_instruction(target=target(instruction, cast.world.district_a), actor=cast.op_a)
    [row] = selectors.instruction_rows(cast.bureau, selectors.instructions(cast.bureau))
    assert {t.target.district_id: t.status for t in row.targets} == {
        cast.world.district_a.pk: selectors.ACKNOWLEDGED_LATE,
        cast.world.district_b.pk: selectors.OVERDUE}
    assert row.counts == {"acknowledged": 1, "pending": 0, "overdue": 1}
    assert AuditEvent.objects.get(action="instruction_acknowledge").detail["late"] is True


def test_selectors_are_scoped(cast, clock):
    both = issue(cast)
    only_b = issue(cast, [cast.world.district_b], title="仅兴隆台区")
    assert set(selectors.instructions(cast.op_a)) == {both}
    assert set(selectors.instructions(cast.op_b)) == {both, only_b}
    assert not selectors.instructions(cast.enterprise_a).exists()
    [row] = selectors.instruction_rows(cast.op_a, selectors.instructions(cast.op_a))
    assert [t.target.district_id for t in row.targets] == [cast.world.district_a.pk]
    inbox = selectors.instruction_inbox(cast.op_a)
    assert [r.target.instruction_id for r in inbox] == [both.pk]
    assert selectors.instruction_inbox(cast.bureau) == []
