"""The settings in force for one (district, vehicle kind), turned into the engine's settings
objects once per settings snapshot rather than once per fix."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from compliance.catalogue import RULES, applies
from compliance.engine.daily import Window
from compliance.engine.fatigue import FatigueSettings
from compliance.engine.meter import MeterSettings
from compliance.engine.overspeed import OverspeedSettings
from compliance.engine.presence import PresenceSettings
from compliance.engine.routes import RouteSettings
from compliance.engine.terminal_alarms import AlarmSettings
from compliance.rule_settings import Effective, Snapshot


def _s(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=float(value))


@dataclass(frozen=True)
class RuleConfig:
    # Only the rules that apply to the kind and are enabled for this scope.
    effective: dict[str, Effective]
    fatigue: FatigueSettings
    overspeed: OverspeedSettings
    meter: MeterSettings
    alarms: dict[str, AlarmSettings]
    presence: PresenceSettings
    route: RouteSettings
    daily_windows: tuple[Window, ...]
    corridor_m: float
    zone_exempt_places: bool  # restricted_zone: not at an approved place inside the zone
    void_after_days: int
    no_fix_limit: dt.timedelta
    silence: dt.timedelta

    def on(self, rule: str) -> bool:
        return rule in self.effective


def build_config(snapshot: Snapshot, district_id: int | None, kind: str) -> RuleConfig:
    every = {code: snapshot.resolve(code, district_id, kind) for code in RULES}
    # offline_in_service is also "> 24 h for any vehicle": on for every kind; its 10-minute
    # part checks the kind itself.
    effective = {code: e for code, e in every.items()
                 if e.enabled and (applies(code, kind) or code == "offline_in_service")}
    p = {code: e.params for code, e in every.items()}
    fatigue = p["fatigue_continuous"]
    overspeed = p["overspeed"]
    meter = p["no_meter"]
    route = p["route_deviation"]
    daily = p["fatigue_daily"]
    windows = [Window(dt.timedelta(hours=24), dt.timedelta(hours=float(daily["day_limit_h"])),
                      "24h")]
    if kind == "coach":  # RULES.md: coaches also > 44 h in 7 days
        windows.append(Window(dt.timedelta(days=7),
                              dt.timedelta(hours=float(daily["week_limit_h"])), "7d"))
    corridor = {"hazmat": route["corridor_hazmat_m"], "coach": route["corridor_coach_m"],
                "bus": route["corridor_bus_m"]}.get(kind, route["corridor_hazmat_m"])
    alarms = {code: AlarmSettings(_s(p[code]["quiet_close_s"]), _s(p[code]["merge_gap_s"]))
              for code in RULES if "quiet_close_s" in p[code]}
    return RuleConfig(
        effective=effective,
        fatigue=FatigueSettings(day_limit=dt.timedelta(hours=float(fatigue["day_limit_h"])),
                                night_limit=dt.timedelta(hours=float(fatigue["night_limit_h"])),
                                reset_stop=dt.timedelta(minutes=float(fatigue["reset_stop_min"]))),
        overspeed=OverspeedSettings(
            min_duration=_s(overspeed["min_duration_s"]), merge_gap=_s(overspeed["merge_gap_s"]),
            hazmat_expressway_cap=float(overspeed["hazmat_expressway_cap"]),
            hazmat_cap=float(overspeed["hazmat_cap"]),
            coach_night_factor=float(overspeed["coach_night_factor"])),
        meter=MeterSettings(min_duration=_s(meter["min_duration_s"]),
                            min_distance_m=float(meter["min_distance_m"]),
                            min_coverage=float(meter["min_coverage"]),
                            grace=_s(meter["grace_s"]),
                            max_gap=_s(meter["max_gap_s"])),
        alarms=alarms,
        presence=PresenceSettings(
            ban_start=dt.time(int(p["night_ban"]["ban_start_h"]) % 24),
            ban_end=(dt.time(23, 59, 59, 999999) if int(p["night_ban"]["ban_end_h"]) == 24
                     else dt.time(int(p["night_ban"]["ban_end_h"]))),
            offline_after=dt.timedelta(minutes=float(p["offline_in_service"]
                                                     ["offline_after_min"])),
            reports_keep_online=bool(p["offline_in_service"]["reports_keep_online"])),
        route=RouteSettings(deviation_after=_s(route["deviation_after_s"]),
                            back_inside_for=_s(route["back_inside_s"]),
                            toxic_stop=dt.timedelta(minutes=float(p["long_stop_toxic"]
                                                                  ["stop_limit_min"])),
                            bus_stop_outside=_s(p["bus_stop_outside"]["limit_s"]),
                            skip_max_gap=_s(p["bus_skip_stop"]["max_gap_s"])),
        daily_windows=tuple(windows),
        corridor_m=float(corridor),
        zone_exempt_places=bool(p["restricted_zone"]["exempt_approved_places"]),
        void_after_days=int(p["cert_invalid"]["void_after_days"]),
        no_fix_limit=dt.timedelta(minutes=float(p["device_fault"]["no_fix_min"])),
        silence=dt.timedelta(hours=float(p["offline_in_service"]["silence_h"])),
    )


class ConfigCache:
    """RuleConfig per (district, kind) for one snapshot; reset when the snapshot changes."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._configs: dict[tuple[int | None, str], RuleConfig] = {}

    def get(self, district_id: int | None, kind: str) -> RuleConfig:
        key = (district_id, kind)
        config = self._configs.get(key)
        if config is None:
            config = self._configs[key] = build_config(self.snapshot, district_id, kind)
        return config
