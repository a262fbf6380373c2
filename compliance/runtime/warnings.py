"""Spoken warnings to the driver (0x8300 with the TTS flag) for fatigue and overspeed.

Sent through the gateway's control channel (fleet.gateway.control) only when the vehicle's
last report came over a terminal connection recently; every attempt is a TerminalWarning row.
The gateway answers asynchronously, so ``refresh_results`` (a scheduler job) records what the
terminal said.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.models.runtime import TerminalWarning, WarningResult
from fleet.gateway.control import downlink_status, submit_downlink

if TYPE_CHECKING:
    from compliance.runtime.facts import Facts
    from compliance.runtime.vehicle import VehicleRules
    from compliance.runtime.writer import Written

log = logging.getLogger(__name__)


def warning_text(rule: str) -> str:
    if rule == "overspeed":
        return _("您已超速，请立即减速慢行")
    return _("您已疲劳驾驶，请尽快就近停车休息")


def warn_driver(item: Written, facts: Facts, state: VehicleRules | None) -> TerminalWarning:
    text = warning_text(item.rule)
    sim = facts.sims.get(item.vehicle_id)
    recent = dt.timedelta(seconds=settings.RULES_TTS_RECENT_S)
    heard = (state is not None and state.last_report is not None and state.via_gateway
             and timezone.now() - state.last_report <= recent)
    if not sim or not heard:
        return TerminalWarning.objects.create(violation_id=item.id, text=text,
                                              result=WarningResult.NOT_CONNECTED,
                                              detail="no recent terminal connection")
    try:
        request_id = submit_downlink(sim=sim, kind="text", data={"text": text, "tts": True,
                                                                 "urgent": True})
    except Exception as exc:  # Redis down: record it, never stop the pipeline
        log.warning("TTS warning for violation %s not sent: %s", item.id, exc)
        return TerminalWarning.objects.create(violation_id=item.id, text=text,
                                              result=WarningResult.FAILED, detail=str(exc)[:200])
    return TerminalWarning.objects.create(violation_id=item.id, text=text,
                                          result=WarningResult.SENT, detail=request_id)


def refresh_results(*, within: dt.timedelta = dt.timedelta(minutes=10)) -> int:
    """Record the terminal's answer for warnings sent recently; returns how many changed."""
    changed = 0
    recent = TerminalWarning.objects.filter(result=WarningResult.SENT,
                                            requested_at__gte=timezone.now() - within)
    for warning in recent:
        status = downlink_status(warning.detail)
        if not status.final:
            continue
        result = (WarningResult.ACKNOWLEDGED if status.ok
                  else WarningResult.NOT_CONNECTED if status.status == "offline"
                  else WarningResult.FAILED)
        changed += TerminalWarning.objects.filter(pk=warning.pk, result=WarningResult.SENT).update(
            result=result, detail=f"{warning.detail} {status.status}"[:200])
    return changed
