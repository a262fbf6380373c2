"""The case workflow's writers (DESIGN.md "Case workflow"): every transition is one function with
keyword-only arguments, one transaction, one ``CaseEvent`` and one audit row, the next stage's
deadline, and notifications sent on commit. Errors are ``CaseError`` with a stable ``code``.

- open: ``open_case``, ``open_case_for_violation`` — city (dispatch_cases) or the platform;
  → new, then → dispatched at once when the source's policy dispatches automatically
- dispatch: ``dispatch_case`` — city (dispatch_cases); new → dispatched
- re-dispatch: ``redispatch_case`` — city (dispatch_cases); dispatched/accepted/returned → the
  same, or dispatched when no remaining unit has signed for it
- dismiss: ``dismiss_case`` — city (dispatch_cases); new → dismissed
- accept: ``accept_assignment`` — operators of the unit (handle_cases); dispatched → accepted
- report: ``report_result`` — operators of the unit (handle_cases); accepted/returned → handled
  once every unit reported (or the unit waits for its leader's approval)
- approve / reject: ``approve_result``, ``reject_result`` — leaders of the unit (approve_cases)
- verify: ``verify_case`` — city (verify_cases); handled → verified
- return: ``return_case`` — city (verify_cases); handled → returned
- archive: ``archive_case`` — city (verify_cases); verified → archived
- supervise: ``supervise_case`` (city, supervise_cases), ``raise_overdue_supervision`` (the
  scheduler); state unchanged, ``supervised`` set
- reply: ``reply_supervision`` — operators or leaders of a unit on the case
- evidence: ``add_evidence`` — the unit handling its part (handle_cases, accepted/returned) or
  the city (verify_cases / supervise_cases) before archiving; state unchanged. Evidence is never
  changed or removed. ``evidence_transaction`` joins uploads and another step in one transaction.
  ``record_evidence_read`` audits each opening of a file (portal or API).
"""

from compliance.services.cases.dispatching import dismiss_case, dispatch_case, redispatch_case
from compliance.services.cases.errors import CaseError
from compliance.services.cases.evidence import (
    add_evidence,
    evidence_transaction,
    record_evidence_read,
)
from compliance.services.cases.handling import (
    accept_assignment,
    approve_result,
    reject_result,
    report_result,
)
from compliance.services.cases.notify import mark_read
from compliance.services.cases.opening import (
    open_case,
    open_case_for_violation,
    open_cases_for_violations,
    open_missing_violation_cases,
)
from compliance.services.cases.supervision import (
    raise_overdue_supervision,
    reply_supervision,
    supervise_case,
)
from compliance.services.cases.verification import archive_case, return_case, verify_case

__all__ = [
    "CaseError",
    "accept_assignment",
    "add_evidence",
    "approve_result",
    "archive_case",
    "dismiss_case",
    "dispatch_case",
    "evidence_transaction",
    "mark_read",
    "open_case",
    "open_case_for_violation",
    "open_cases_for_violations",
    "open_missing_violation_cases",
    "raise_overdue_supervision",
    "record_evidence_read",
    "redispatch_case",
    "reject_result",
    "reply_supervision",
    "report_result",
    "return_case",
    "supervise_case",
    "verify_case",
]
