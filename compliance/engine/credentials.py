"""cert_invalid, no_waybill and no_escort: who may drive what, carrying what (RULES.md §2a).

Certificates are judged at each sign-in (card in, roster start, waybill start) against that
event's date, using the registry certificate found by the number on the card (the card's own
validity only when the registry has none): valid while the date ≤ valid-to, expired up to
``void_after_days`` later, void beyond. A card without a number, or a driver without a
certificate of the kind the vehicle needs, is "missing". All but valid are cert_invalid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.engine.driving import is_driving
from compliance.engine.model import Episode, RuleFix, local

CERT_INVALID = "cert_invalid"
NO_WAYBILL = "no_waybill"
NO_ESCORT = "no_escort"


@dataclass(frozen=True)
class CertificateRecord:
    kind: str
    number: str
    valid_from: dt.date | None
    valid_to: dt.date


def state_on(valid_from: dt.date | None, valid_to: dt.date, on: dt.date,
             void_after_days: int) -> str:
    if valid_from is not None and on < valid_from:
        return "not_yet_valid"
    if on <= valid_to:
        return "valid"
    return "expired" if (on - valid_to).days <= void_after_days else "void"


def judge_sign_in(*, at: dt.datetime, card_number: str, card_valid_until: dt.date | None,
                  registry: CertificateRecord | None, required_kind: str,
                  void_after_days: int = 180) -> Episode | None:
    """One sign-in; returns a cert_invalid episode (instantaneous) or None when valid."""
    # The bureau's date (UTC+8): the instant may come in UTC (stored data read back, the ingest
    # API), and its UTC date is the day before for any sign-in before 08:00.
    on = local(at).date()
    if not card_number:
        state, source = "missing", "card"
    elif registry is not None:
        if registry.kind != required_kind:
            state, source = "missing", "registry"  # a certificate, but not for this vehicle
        else:
            state = state_on(registry.valid_from, registry.valid_to, on, void_after_days)
            source = "registry"
    elif card_valid_until is not None:
        state, source = state_on(None, card_valid_until, on, void_after_days), "card"
    else:
        state, source = "missing", "card"
    if state == "valid":
        return None
    return Episode(CERT_INVALID, at, at,
                   measured={"state": state, "source": source, "certificate": card_number},
                   thresholds={"void_after_days": void_after_days, "required": required_kind})


@dataclass
class WaybillWatch:
    """Per hazmat vehicle: one no_waybill episode per driving run without an active waybill."""

    last: RuleFix | None = None
    episode: Episode | None = None
    closed: list[Episode] = field(default_factory=list)


def no_waybill_step(state: WaybillWatch, fix: RuleFix, *, loaded: bool,
                    active_waybill: bool) -> Episode | None:
    """``loaded``: load bits set or leaving a depot (the caller decides); an episode runs while
    the vehicle drives loaded without an active waybill and ends at the first stop or waybill."""
    previous = state.last
    if previous is not None and fix.time <= previous.time:
        return None
    state.last = fix
    if previous is None:
        return None
    offending = is_driving(previous, fix) and loaded and not active_waybill
    if state.episode is not None and not offending:
        state.episode.end = fix.time
        state.closed.append(state.episode)
        state.episode = None
        return None
    if state.episode is None and offending:
        state.episode = Episode(NO_WAYBILL, previous.time)
        return state.episode
    return None


def no_escort_on_activation(*, at: dt.datetime, waybill_number: str,
                            escort_id: int | None) -> Episode | None:
    """A waybill that becomes active without an escort: judged once, at that moment (like
    cert_invalid at a sign-in). Nothing would ever end an open episode here (the waybill is
    judged only when it becomes active), so it was shown as ongoing for ever."""
    if escort_id is not None:
        return None
    return Episode(NO_ESCORT, at, at, measured={"waybill": waybill_number})
