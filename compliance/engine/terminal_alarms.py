"""Rules the terminal reports itself: DSM/ADAS items (0x64/0x65) and alarm bits (RULES.md §2a).

An episode runs from a "start" report (or the first report with the bit set) to the "end" report
(or the first report with the bit clear); without an end it closes 60 s after its last report.
A new start within 60 s of the previous end of the same rule is the same episode; reports of
the same rule while an episode is open extend it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from compliance.engine.model import Episode

# Active-safety type names (the codec's per-standard tables) → rule codes. Per terminal standard
# the codec already maps codes to names, so this table only names which alarms are violations.
SAFETY_RULES = {
    "dsm_fatigue": "dsm_fatigue",
    "dsm_phone": "dsm_phone",
    "dsm_smoking": "dsm_smoking",
    "dsm_distraction": "dsm_distraction",
    "dsm_phone_use": "dsm_phone",  # Yue 0x0D
    "camera_blocked": "camera_blocked",
    "dsm_seatbelt": "dsm_seatbelt",
    "adas_pedestrian_collision": "zebra_not_yield",
}
# JT/T 808 alarm bits that mean a device fault: GNSS module fault, antenna cut, antenna short,
# power off (RULES.md §2 device_fault).
DEVICE_FAULT_BITS = {4: "gnss_fault", 5: "antenna_cut", 6: "antenna_short", 8: "power_off",
                     32: "video_lost"}
# Not a JT/T 808 alarm bit (those are 0–31): the caller sets it when the report's item 0x15
# names a channel with video lost, so video loss is one more fault of the same episode.
VIDEO_LOST_BIT = 1 << 32
FAULT_MASK = sum(1 << bit for bit in DEVICE_FAULT_BITS)

Flag = Literal["start", "end", "report"]


@dataclass(frozen=True)
class AlarmSettings:
    quiet_close: dt.timedelta = dt.timedelta(seconds=60)
    merge_gap: dt.timedelta = dt.timedelta(seconds=60)

    def as_thresholds(self) -> dict[str, float | str]:
        return {"quiet_close_s": self.quiet_close.total_seconds(),
                "merge_gap_s": self.merge_gap.total_seconds()}


@dataclass
class _Open:
    episode: Episode
    last_report: dt.datetime


@dataclass
class TerminalAlarms:
    open: dict[str, _Open] = field(default_factory=dict)
    ended: dict[str, Episode] = field(default_factory=dict)  # last closed, for re-opening
    closed: list[Episode] = field(default_factory=list)


def _close(state: TerminalAlarms, rule: str, end: dt.datetime) -> None:
    current = state.open.pop(rule)
    current.episode.end = end
    current.episode.measured["duration_s"] = (end - current.episode.start).total_seconds()
    state.ended[rule] = current.episode
    state.closed.append(current.episode)


def expire(state: TerminalAlarms, now: dt.datetime, settings: AlarmSettings,
           rule_only: str | None = None) -> None:
    """Close episodes that had no report for the quiet period (data time ``now``); only those
    of ``rule_only`` when given (each rule may have its own quiet period)."""
    for rule, current in list(state.open.items()):
        if rule_only is not None and rule != rule_only:
            continue
        if now - current.last_report >= settings.quiet_close:
            _close(state, rule, current.last_report + settings.quiet_close)


def signal(state: TerminalAlarms, rule: str, flag: Flag, at: dt.datetime,
           settings: AlarmSettings, detail: dict[str, float | str] | None = None,
           *, held: bool = False) -> Episode | None:
    """One report of ``rule``; returns a newly opened episode (not a re-opened one).

    ``held``: a level signal (alarm bit, report item) that was set in the previous report.
    Its episode runs to the first report with it clear (RULES.md §2a), however long between
    reports: the quiet close is for alarms that never report an end. Without this a parked
    terminal reporting every 5 min with a fault bit set made one episode per report."""
    if not held:
        expire(state, at, settings, rule)
    current = state.open.get(rule)
    if flag == "end":
        # An end older than the open episode's start is a late report of an earlier one.
        if current is not None and at >= current.episode.start:
            _close(state, rule, at)
        return None
    if current is not None:
        current.last_report = max(current.last_report, at)
        current.episode.measured["reports"] = int(current.episode.measured.get("reports", 1)) + 1
        return None
    previous = state.ended.get(rule)
    if previous is not None and previous.end is not None:
        if previous.start - settings.merge_gap <= at < previous.end:
            # A late report (a terminal's backlog, a re-sent batch) of the episode already
            # closed: it changes nothing. Re-opening it from this older time would close it
            # again before its start.
            return None
        if previous.end <= at < previous.end + settings.merge_gap:
            # Same episode: take it back out of the closed list and keep it running.
            if previous in state.closed:
                state.closed.remove(previous)
            previous.end = None
            state.open[rule] = _Open(previous, at)
            return None
    episode = Episode(rule, at, measured={"reports": 1, **(detail or {})},
                      thresholds=settings.as_thresholds())
    state.open[rule] = _Open(episode, at)
    return episode


def bit_signals(alarm: int, previous_alarm: int) -> list[tuple[str, Flag]]:
    """Device-fault bits that rose ("report") or fell ("end") since the previous fix."""
    out: list[tuple[str, Flag]] = []
    for bit in DEVICE_FAULT_BITS:
        now_set, was_set = bool(alarm >> bit & 1), bool(previous_alarm >> bit & 1)
        if now_set:
            out.append(("device_fault", "report"))
        elif was_set:
            out.append(("device_fault", "end"))
    # One device_fault episode whatever bit: end only when no fault bit remains set.
    if any(flag == "report" for _, flag in out):
        return [("device_fault", "report")]
    return out[:1]
