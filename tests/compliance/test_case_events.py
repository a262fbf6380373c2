"""The audit trail: every transition is one immutable event (the database refuses UPDATE and
DELETE) plus one audit row, with who, from, to, note and district."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from accounts.models import AuditEvent
from compliance.models import CaseEvent, CaseState
from compliance.services import cases as services
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    drive,
    fast_passwords,
    make_cast,
    new_case,
    unit,
)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


def test_case_events_cannot_be_changed_or_deleted(cast):
    case = new_case(cast)
    event = case.events.get()
    event.note = "改写历史"
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        event.save()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).update(note="改写历史")
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.note == ""


def test_the_trail_of_a_whole_loop(cast):
    case = drive(cast, new_case(cast), CaseState.HANDLED)
    services.return_case(case=case, actor=cast.bureau, reason="未附处罚决定书")
    services.report_result(assignment=unit(case), outcome="fine", fine_yuan="300.50",
                           note="补充", actor=cast.op_a)
    case.refresh_from_db()  # the page shows the case handled again
    services.verify_case(case=case, actor=cast.bureau, note="属实")
    services.archive_case(case=case, actor=cast.bureau)
    trail = [(e.action, e.actor, e.from_state, e.to_state, e.district_id, e.note)
             for e in case.events.all()]
    a = cast.world.district_a.pk
    assert trail == [
        ("open", cast.bureau, "", "new", a, ""),
        ("dispatch", cast.bureau, "new", "dispatched", a, ""),
        ("accept", cast.op_a, "dispatched", "accepted", a, ""),
        ("report", cast.op_a, "accepted", "handled", a, "已约谈"),
        ("return", cast.bureau, "handled", "returned", a, "未附处罚决定书"),
        ("report", cast.op_a, "returned", "handled", a, "补充"),
        ("verify", cast.bureau, "handled", "verified", a, "属实"),
        ("archive", cast.bureau, "verified", "archived", a, ""),
    ]
    report = case.events.filter(action="report").last()
    assert report.detail["fine_yuan"] == "300.50" and report.detail["outcome"] == "fine"
    audits = list(AuditEvent.objects.filter(object_type="case", object_id=str(case.pk))
                  .order_by("at", "pk"))
    assert [r.action for r in audits] == [f"case_{t[0]}" for t in trail]
    assert [r.actor for r in audits] == [t[1] for t in trail]
    assert audits[4].detail["note"] == "未附处罚决定书"
