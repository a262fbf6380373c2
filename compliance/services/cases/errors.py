"""The one error every case service raises: a stable ``code`` for programs (the API maps it to an
HTTP status) and a ``message`` for people."""

from __future__ import annotations


class CaseError(Exception):
    NOT_FOUND = "not_found"  # absent or outside the actor's scope (never say which)
    FORBIDDEN = "forbidden"  # in scope, but the actor's role may not do this
    CONFLICT = "conflict"  # someone else changed the case first; nothing was written
    INVALID_TRANSITION = "invalid_transition"  # not possible in the current state
    REASON_REQUIRED = "reason_required"
    INVALID_DISTRICTS = "invalid_districts"
    DISTRICT_UNKNOWN = "district_unknown"
    INVALID_RESULT = "invalid_result"
    INVALID_INPUT = "invalid_input"
    # Evidence files (compliance.services.cases.evidence); nothing is stored when refused.
    EVIDENCE_EMPTY = "evidence_empty"
    EVIDENCE_TOO_LARGE = "evidence_too_large"
    EVIDENCE_TYPE = "evidence_type"  # the content is none of the accepted kinds
    EVIDENCE_EXTENSION = "evidence_extension"  # the name's extension says another kind
    EVIDENCE_DAMAGED = "evidence_damaged"  # the right kind, but it does not decode

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"CaseError({self.code!r}, {self.message!r})"
