"""Rules about where and when a vehicle is: night_ban (coaches 02:00–05:00), restricted_zone
(hazmat inside a zone during its window) and offline_in_service (a silence mid-service).

The caller resolves geometry (which zones in force contain the fix) with prepared shapely
geometries; these functions only keep the episodes, so they stay pure and replayable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compliance.engine.driving import DRIVING_KMH, is_driving
from compliance.engine.model import BUREAU_TZ, Episode, RuleFix, local

NIGHT_BAN = "night_ban"
RESTRICTED_ZONE = "restricted_zone"
OFFLINE = "offline_in_service"


@dataclass(frozen=True)
class PresenceSettings:
    ban_start: dt.time = dt.time(2, 0)
    ban_end: dt.time = dt.time(5, 0)
    offline_after: dt.timedelta = dt.timedelta(minutes=10)
    # A report without a position (GNSS lost, the terminal still sending) keeps the vehicle
    # online: that is device_fault (RULES.md §2a), not also offline_in_service.
    reports_keep_online: bool = True


# -- night ban ------------------------------------------------------------------------------------
@dataclass
class NightBan:
    last: RuleFix | None = None
    episode: Episode | None = None
    night: dt.date | None = None  # the date whose 02:00–05:00 the open episode belongs to
    closed: list[Episode] = field(default_factory=list)


def _ban_window(moment: dt.datetime, settings: PresenceSettings) -> tuple[dt.datetime,
                                                                          dt.datetime]:
    day = local(moment).date()
    return (dt.datetime.combine(day, settings.ban_start, BUREAU_TZ),
            dt.datetime.combine(day, settings.ban_end, BUREAU_TZ))


def night_ban_step(state: NightBan, fix: RuleFix, exempt: bool,
                   settings: PresenceSettings) -> Episode | None:
    """A coach driving at any moment in [02:00, 05:00) unless its line is exempt; one episode per
    night, from the first to the last driving moment inside the window."""
    previous = state.last
    if previous is not None and fix.time <= previous.time:
        return None
    state.last = fix
    if state.episode is None and (exempt or previous is None or not is_driving(previous, fix)):
        return None  # nothing open, nothing to open: the window need not be worked out
    start, end = _ban_window(fix.time, settings)
    if state.episode is not None and local(fix.time).date() != state.night:
        _close_night(state)  # a later day: last night's episode is over
    opened = None
    if not exempt and previous is not None and is_driving(previous, fix):
        moving_from, moving_to = max(previous.time, start), min(fix.time, end)
        if moving_from < moving_to:
            if state.episode is None:
                state.episode = opened = Episode(
                    NIGHT_BAN, moving_from, moving_to,
                    thresholds={"window": f"{settings.ban_start:%H:%M}-{settings.ban_end:%H:%M}"})
                state.night = local(fix.time).date()
            else:
                state.episode.end = moving_to
    if state.episode is not None and fix.time >= end:
        _close_night(state)
    return opened


def _close_night(state: NightBan) -> None:
    assert state.episode is not None
    state.closed.append(state.episode)
    state.episode = None


# -- restricted zones -----------------------------------------------------------------------------
@dataclass
class RestrictedZones:
    open: dict[int, Episode] = field(default_factory=dict)
    closed: list[Episode] = field(default_factory=list)


def restricted_zone_step(state: RestrictedZones, fix: RuleFix,
                         zones_in_force: set[int]) -> list[Episode]:
    """``zones_in_force``: ids of restricted zones containing the fix whose window is in force
    at the fix time. An episode per zone visit; it ends at the first fix outside the zone or
    outside its window."""
    opened = []
    for zone_id in list(state.open):
        if zone_id not in zones_in_force:
            episode = state.open.pop(zone_id)
            episode.end = fix.time
            state.closed.append(episode)
    for zone_id in sorted(zones_in_force - state.open.keys()):
        episode = Episode(RESTRICTED_ZONE, fix.time, measured={"zone_id": zone_id})
        state.open[zone_id] = episode
        opened.append(episode)
    return opened


# -- offline in service ---------------------------------------------------------------------------
def offline_in_service(previous: RuleFix, fix: RuleFix, in_transit_waybill: bool,
                       settings: PresenceSettings,
                       silence: tuple[dt.datetime, dt.datetime] | None = None,
                       ) -> Episode | None:
    """No fix for longer than the setting while on a waybill or moving (the last fix before the
    silence was driving): the episode runs from that fix to the next one. ``silence``, when
    reports without a position count as being online: the longest gap between reports of any
    kind from ``previous`` to ``fix`` (the terminal was silent then, not only unpositioned)."""
    start, end = silence or (previous.time, fix.time)
    if end - start <= settings.offline_after:
        return None
    if not (in_transit_waybill or previous.speed_kmh >= DRIVING_KMH):
        return None
    silence_s = end - start
    return Episode(OFFLINE, start, end,
                   measured={"silence_s": silence_s.total_seconds()},
                   thresholds={"offline_after_s": settings.offline_after.total_seconds()})
