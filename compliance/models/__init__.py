"""Violations, the rule settings they were judged by, and what the rule pipeline keeps."""

from compliance.models.quality import VehicleDayQuality
from compliance.models.replay import ReplayRun
from compliance.models.runtime import RuleCheckpoint, TerminalWarning
from compliance.models.settings import RuleSetting
from compliance.models.violations import ReviewStatus, Severity, Violation

__all__ = [
    "ReplayRun",
    "ReviewStatus",
    "RuleCheckpoint",
    "RuleSetting",
    "Severity",
    "TerminalWarning",
    "VehicleDayQuality",
    "Violation",
]
