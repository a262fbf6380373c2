"""Violations, the rule settings they were judged by, and what the rule pipeline keeps."""

from compliance.models.assessment import MonthlyAssessment, RiskGrade, UnitType
from compliance.models.bulletins import Bulletin
from compliance.models.cases import (
    AssignmentState,
    Case,
    CaseAssignment,
    CaseEvent,
    CaseEvidence,
    CaseSource,
    CaseState,
    CheckPost,
    DeadlinePolicy,
    DistrictCasePolicy,
    Holiday,
    Instruction,
    InstructionTarget,
    Notification,
    Outcome,
    SourcePolicy,
    Stage,
    Supervision,
)
from compliance.models.quality import VehicleDayQuality
from compliance.models.replay import ReplayRun
from compliance.models.runtime import RuleCheckpoint, TerminalWarning
from compliance.models.settings import RuleSetting
from compliance.models.violations import ReviewStatus, Severity, Violation

__all__ = [
    "AssignmentState",
    "Bulletin",
    "Case",
    "CaseAssignment",
    "CaseEvent",
    "CaseEvidence",
    "CaseSource",
    "CaseState",
    "CheckPost",
    "DeadlinePolicy",
    "DistrictCasePolicy",
    "Holiday",
    "Instruction",
    "InstructionTarget",
    "MonthlyAssessment",
    "Notification",
    "Outcome",
    "ReplayRun",
    "ReviewStatus",
    "RiskGrade",
    "RuleCheckpoint",
    "RuleSetting",
    "Severity",
    "SourcePolicy",
    "Stage",
    "Supervision",
    "TerminalWarning",
    "UnitType",
    "VehicleDayQuality",
    "Violation",
]
