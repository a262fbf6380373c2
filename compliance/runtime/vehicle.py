"""One vehicle's rule state and how each input moves it (RULES.md §2a, in data time only).

``VehicleRules`` is a plain picklable object: the live detector keeps one per vehicle of its
shards and checkpoints it; a replay builds fresh ones. Findings (opened, updated or closed
episodes) collect in ``dirty`` until the caller writes them.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from compliance.catalogue import applies
from compliance.engine import credentials, daily, fatigue, meter, overspeed, presence, quality
from compliance.engine import routes as route_rules
from compliance.engine import terminal_alarms as alarms
from compliance.engine.driving import is_driving
from compliance.engine.model import Episode, RuleFix, local
from compliance.runtime.config import RuleConfig
from compliance.runtime.facts import Facts, VehicleFacts, WaybillFacts
from compliance.runtime.geometry import Route, ZoneShape
from compliance.runtime.inputs import AlarmIn, FixIn, MeterIn, OrderIn, RuleInput, SignIn, SignOut
from fleet.geo.distance import haversine_km
from fleet.models.registry import REQUIRED_CERTIFICATE, CertificateKind
from fleet.telemetry.schema import FLAG_DRIFT

MAX_PLAUSIBLE_KMH = 160.0
DOOR_BITS = 0b11111 << 13  # status bits 13–17: front, middle, rear, driver, custom door open
ALLOWED_STOP_KINDS = frozenset({"depot", "hazmat_parking"})
BUS_STOP_PLACES = frozenset({"depot", "bus_stop", "transport_hub"})
# Loading and unloading at the waybill's own origin and destination is not a long stop.
WAYBILL_END_RADIUS_M = 300.0
_FLAGS: dict[int, alarms.Flag] = {1: "start", 2: "end"}
SEEN_ALARMS = 64  # re-sent reports come within minutes; a vehicle reports few alarms in that
METER_TRIPS_KEPT = dt.timedelta(days=1)  # meter trips older than this cover nothing now
PLACE_WITHIN = dt.timedelta(hours=1)  # how far from its start an episode is placed (writer)
NO_KINDS: frozenset[str] = frozenset()

# Certificate kinds as the plain strings they are at run time. Without Django's type stubs a
# TextChoices member reads as its (value, label) tuple to the type checker, and the compiled
# rules check the types they were told, so the members are read through an untyped name.
_CHOICES: Any = CertificateKind
HAZMAT_DRIVER = str(_CHOICES.HAZMAT_DRIVER)
HAZMAT_ESCORT = str(_CHOICES.HAZMAT_ESCORT)
RIDE_HAILING_DRIVER = str(_CHOICES.RIDE_HAILING_DRIVER)
_REQUIRED: Any = REQUIRED_CERTIFICATE
REQUIRED_KIND: dict[str, str] = {kind: str(needed) for kind, needed in _REQUIRED.items()}


def asks_every_zone(kind: str) -> bool:
    """Whether a vehicle's rules ask about every zone at a fix (depots, parking, bus stops,
    restricted zones), or only about those with a speed limit (everyone's overspeed)."""
    return kind == "bus" or kind == "hazmat"


@dataclass
class Finding:
    """An episode to write, with what was known when it was first seen."""

    episode: Episode
    key: str
    driver_id: int | None
    # Where the episode began, when the rules know it (the writer asks the store otherwise);
    # a drift record's own place, which is not in the valid track.
    lon: float | None = None
    lat: float | None = None


def episode_key(episode: Episode) -> str:
    """What distinguishes two episodes of one rule starting at the same instant."""
    m = episode.measured
    match episode.rule:
        case "restricted_zone":
            return f"zone:{m.get('zone_id')}"
        case "fatigue_daily":
            return str(m.get("window", ""))
        case "bus_skip_stop":
            return f"stop:{m.get('stop_id')}"
        case "cert_invalid":
            return f"cert:{m.get('certificate') or m.get('role', '')}"[:40]
        case "no_escort":
            return f"waybill:{m.get('waybill')}"[:40]
        case "offline_in_service":
            return "silence" if m.get("kind") == "silence" else ""
        case "unlicensed_ride_hailing":
            return f"order:{m.get('order')}"[:40]
    return ""


@dataclass
class VehicleRules:
    vehicle_id: int
    last_fix: RuleFix | None = None
    last_valid: tuple[dt.datetime, float, float] | None = None  # for drift
    last_report: dt.datetime | None = None
    via_gateway: bool = False  # the last report came over a terminal connection
    silent: bool = False  # the current fix ends a > 24 h silence
    # The longest gap between two reports (positioned or not) since the last rule fix: what
    # offline_in_service measures when reports without a position keep a vehicle online.
    quiet: tuple[dt.datetime, dt.datetime] | None = None
    last_alarm: int = 0
    occluded: bool = False  # the last report's item 0x16 named an occluded camera
    driver_id: int | None = None
    driving: bool = False
    in_depot: bool = False
    run_from_depot: bool = False
    waybill_id: int | None = None
    route_ref: str = ""
    meter_trips: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    judged_orders: OrderedDict[str, None] = field(default_factory=OrderedDict)
    # The latest active-safety reports, so a re-sent one (a frame the gateway was not sure of,
    # a re-delivered batch) is not counted twice into its episode's reports.
    seen_alarms: OrderedDict[tuple[dt.datetime, str, int], None] = field(
        default_factory=OrderedDict)
    fatigue: fatigue.ContinuousDriving = field(default_factory=fatigue.ContinuousDriving)
    daily: daily.DailyDriving = field(default_factory=daily.DailyDriving)
    overspeed: overspeed.Overspeed = field(default_factory=overspeed.Overspeed)
    loaded: meter.LoadedTracker = field(default_factory=meter.LoadedTracker)
    alarms: alarms.TerminalAlarms = field(default_factory=alarms.TerminalAlarms)
    night: presence.NightBan = field(default_factory=presence.NightBan)
    zones: presence.RestrictedZones = field(default_factory=presence.RestrictedZones)
    waybill_watch: credentials.WaybillWatch = field(default_factory=credentials.WaybillWatch)
    route: route_rules.RouteWatch = field(default_factory=route_rules.RouteWatch)
    toxic_stop: route_rules.StopWatch = field(default_factory=route_rules.StopWatch)
    bus_stop: route_rules.StopWatch = field(default_factory=route_rules.StopWatch)
    skip: route_rules.SkipWatch = field(default_factory=route_rules.SkipWatch)
    no_fix: quality.NoFixWatch = field(default_factory=quality.NoFixWatch)
    # Findings not yet written, by (rule, start, key); cleared by the writer after commit.
    dirty: dict[tuple[str, dt.datetime, str], Finding] = field(default_factory=dict)

    @property
    def through(self) -> dt.datetime | None:
        return self.last_report

    # -- entry point --------------------------------------------------------------------------
    def feed(self, item: RuleInput, facts: Facts, config: RuleConfig) -> None:
        vehicle = facts.vehicles.get(self.vehicle_id)
        if vehicle is None:
            return
        if isinstance(item, FixIn):
            self._fix(item, vehicle, facts, config)
        elif isinstance(item, AlarmIn):
            self._alarm(item, config)
        elif isinstance(item, SignIn):
            self._sign_in(item, vehicle, facts, config)
        elif isinstance(item, SignOut):
            self.driver_id = None
        elif isinstance(item, MeterIn):
            self.meter_trips.append((item.boarded_at, item.alighted_at))
        elif isinstance(item, OrderIn):
            self._order(item, vehicle, facts, config)
        self._drain()

    # -- bookkeeping --------------------------------------------------------------------------
    def _emit(self, episode: Episode | None, config: RuleConfig, *, lon: float | None = None,
              lat: float | None = None) -> None:
        if episode is None or episode.rule not in config.effective:
            return
        self._note(episode, lon, lat)

    def _note(self, episode: Episode, lon: float | None = None,
              lat: float | None = None) -> None:
        """A finding to write, once per episode, placed where known (see _start_place)."""
        key = (episode.rule, episode.start, episode_key(episode))
        if key not in self.dirty:
            if lon is None or lat is None:
                lon, lat = self._start_place(episode.start)
            self.dirty[key] = Finding(episode, key[2], self.driver_id, lon, lat)

    def _start_place(self, start: dt.datetime) -> tuple[float | None, float | None]:
        """Where an episode began as the writer defines it (the last valid fix at or before its
        start, within an hour), when that fix is the latest valid one seen: an alarm's, a fault's
        or a fix's own episode usually. None otherwise: the writer then asks the store."""
        last = self.last_valid
        if last is not None and last[0] <= start and start - last[0] < PLACE_WITHIN:
            return last[1], last[2]
        return None, None

    def _drain(self) -> None:
        """Closed episodes are findings too (their end and final measures must be written)."""
        # Written out, not a loop over a tuple of the holders: this runs after every input and
        # almost always finds nothing.
        if self.fatigue.closed:
            self._take(self.fatigue.closed)
        if self.daily.closed:
            self._take(self.daily.closed)
        if self.overspeed.closed:
            self._take(self.overspeed.closed)
        if self.alarms.closed:
            self._take(self.alarms.closed)
        if self.night.closed:
            self._take(self.night.closed)
        if self.zones.closed:
            self._take(self.zones.closed)
        if self.waybill_watch.closed:
            self._take(self.waybill_watch.closed)
        if self.route.closed:
            self._take(self.route.closed)
        if self.toxic_stop.closed:
            self._take(self.toxic_stop.closed)
        if self.bus_stop.closed:
            self._take(self.bus_stop.closed)
        if self.skip.closed:
            self._take(self.skip.closed)
        if self.no_fix.closed:
            self._take(self.no_fix.closed)

    def _take(self, closed: list[Episode]) -> None:
        for episode in closed:
            self._note(episode)
        closed.clear()

    # -- fixes --------------------------------------------------------------------------------
    def _fix(self, item: FixIn, vehicle: VehicleFacts, facts: Facts,
             config: RuleConfig) -> None:
        if self.last_report is not None and item.time <= self.last_report:
            return  # duplicate or late: stored, but rules see fixes in time order
        if (self.last_report is not None and config.on("offline_in_service")
                and item.time - self.last_report > config.silence):
            # Heard again after a long silence: closes the episode the server-clock job opened
            # (same key), or records it when the job never saw it (a replay, a restart).
            self._emit(Episode("offline_in_service", self.last_report, item.time,
                               measured={"kind": "silence", "silence_s": (
                                   item.time - self.last_report).total_seconds()},
                               thresholds={"silence_h": config.silence / dt.timedelta(hours=1)}),
                       config)
            self.silent = True
        if self.last_report is not None and (
                self.quiet is None or item.time - self.last_report > self.quiet[1] - self.quiet[0]):
            self.quiet = (self.last_report, item.time)
        self.last_report = item.time
        self.via_gateway = item.via_gateway
        acc_on = bool(item.status & 1)
        if (item.alarm or item.video_lost or item.occluded or self.last_alarm or self.occluded
                or self.alarms.open):  # most reports carry no level signal and close nothing
            self._levels(item, config)
        positioned = item.lon is not None and item.lat is not None
        if config.on("device_fault"):
            self._emit(quality.no_fix_step(self.no_fix, item.time, acc_on=acc_on,
                                           positioned=positioned, limit=config.no_fix_limit),
                       config)
        if not positioned or item.lon is None or item.lat is None:
            return
        drift_reason = self._drift_reason(item)
        if drift_reason is not None:
            implied = self._implied_kmh(item)
            self._emit(quality.drift_record(item.time, implied, drift_reason), config,
                       lon=item.lon, lat=item.lat)
            return
        self.last_valid = (item.time, item.lon, item.lat)
        geometry = facts.geometry
        x, y = geometry.xy(item.lon, item.lat)
        road = geometry.road_at(x, y)
        zones = geometry.zones_at(item.lon, item.lat, x, y, asks_every_zone(vehicle.kind))
        fix = RuleFix(item.time, item.lon, item.lat, item.speed_kmh, item.status, item.alarm,
                      geometry.speed_limit(road, zones, item.time),
                      road.expressway if road is not None else False)
        previous = self.last_fix
        self.last_fix = fix
        self._time_rules(fix, previous, vehicle, facts, config)
        self.quiet = None
        self._place_rules(fix, previous, x, y, zones, vehicle, facts, config)

    def _levels(self, item: FixIn, config: RuleConfig) -> None:
        """The report's level signals: device-fault bits, video loss and occlusion."""
        # RULES.md §2 device_fault covers video loss (item 0x15) with the fault bits.
        alarm_word = item.alarm | (alarms.VIDEO_LOST_BIT if item.video_lost else 0)
        # Level signals set in the previous report: this report decides (still set: the
        # episode runs on; clear: it ends here), however long since, so no quiet close.
        fault_held = bool(self.last_alarm & alarms.FAULT_MASK)
        camera_held = self.occluded
        if self.alarms.open:
            held = {"device_fault": fault_held, "camera_blocked": camera_held}
            for rule in list(self.alarms.open):  # close terminal-alarm episodes gone quiet
                if rule in config.alarms and not held.get(rule):
                    alarms.expire(self.alarms, item.time, config.alarms[rule], rule)
        if config.on("device_fault") and (alarm_word or self.last_alarm):
            settings = config.alarms["device_fault"]
            for rule, flag in alarms.bit_signals(alarm_word, self.last_alarm):
                self._emit(alarms.signal(self.alarms, rule, flag, item.time, settings,
                                         held=fault_held), config)
        self.last_alarm = alarm_word
        # RULES.md §2a: a non-zero video-occlusion item 0x16 is camera_blocked, like the DSM
        # code; it runs while reports carry it and ends at the first report without it.
        if config.on("camera_blocked") and (item.occluded or self.occluded):
            self._emit(alarms.signal(self.alarms, "camera_blocked",
                                     "report" if item.occluded else "end", item.time,
                                     config.alarms["camera_blocked"],
                                     {"type": "video_occluded"}, held=camera_held),
                       config)
        self.occluded = item.occluded

    def _drift_reason(self, item: FixIn) -> str | None:
        if item.flags is not None:  # the flags the store gave the fix: what a replay reads
            if not item.flags & FLAG_DRIFT:
                return None
            if item.in_ranges is None:
                return "stored"  # a replay: the store keeps that it is drift, not why
            return "range" if not item.in_ranges else "implied_speed"
        if not item.in_ranges:
            return "range"
        implied = self._implied_kmh(item)
        if implied is not None and implied > MAX_PLAUSIBLE_KMH:
            return "implied_speed"
        return None

    def _implied_kmh(self, item: FixIn) -> float | None:
        if self.last_valid is None or item.lon is None or item.lat is None:
            return None
        time, lon, lat = self.last_valid
        hours = abs((item.time - time).total_seconds()) / 3600
        km = haversine_km(lat, lon, item.lat, item.lon)
        if hours == 0:
            return 0.0 if km < 0.05 else float("inf")
        return km / hours

    def _time_rules(self, fix: RuleFix, previous: RuleFix | None, vehicle: VehicleFacts,
                    facts: Facts, config: RuleConfig) -> None:
        kind = vehicle.kind
        if config.on("overspeed"):
            self._emit(overspeed.step(self.overspeed, fix, kind, config.overspeed), config)
        if config.on("fatigue_continuous"):
            self._emit(fatigue.step(self.fatigue, fix, config.fatigue), config)
        if config.on("fatigue_daily"):
            for episode in daily.step(self.daily, fix, config.daily_windows):
                self._emit(episode, config)
        if config.on("night_ban"):
            exempt = (vehicle.coach_line_id is not None
                      and vehicle.coach_line_id in facts.exempt_coach_lines)
            self._emit(presence.night_ban_step(self.night, fix, exempt, config.presence), config)
        if config.on("no_meter"):
            meter.step(self.loaded, fix, config.meter.max_gap)
            for interval in meter.due(self.loaded, fix.time, config.meter):
                self._emit(meter.judge(interval, self.meter_trips, config.meter), config)
            # Trips come about in the order they end: prune when the oldest is a day old.
            horizon = fix.time - METER_TRIPS_KEPT
            if self.meter_trips and self.meter_trips[0][1] < horizon:
                self.meter_trips = [t for t in self.meter_trips if t[1] >= horizon]
        if self.silent:
            self.silent = False  # the long silence is its own episode, not also a short one
        elif (config.on("offline_in_service") and previous is not None
              and fix.time - previous.time > config.presence.offline_after
              and applies("offline_in_service", kind)):
            # Only a silence longer than the setting can be an episode: the waybill lookup is
            # made for those alone.
            silence = self.quiet if config.presence.reports_keep_online else None
            in_transit = facts.waybill_at(self.vehicle_id, previous.time) is not None
            self._emit(presence.offline_in_service(previous, fix, in_transit, config.presence,
                                                   silence), config)

    def _place_rules(self, fix: RuleFix, previous: RuleFix | None, x: float, y: float,
                     zones: list[ZoneShape], vehicle: VehicleFacts, facts: Facts,
                     config: RuleConfig) -> None:
        kinds = frozenset([z.kind for z in zones]) if zones else NO_KINDS
        driving = previous is not None and is_driving(previous, fix)
        if driving and not self.driving:
            self.run_from_depot = self.in_depot  # a run that began at a depot is a loaded run
        # RULES.md §2a: a stop that follows driving began at the last driving fix (the interval
        # up to the first slow fix is already stopped); the stop rules count from there.
        stop_began = (previous.time if previous is not None and self.driving and not driving
                      else None)
        self.driving, self.in_depot = driving, "depot" in kinds
        if vehicle.kind == "hazmat":
            self._hazmat(fix, x, y, zones, kinds, facts, config, stop_began)
        elif vehicle.kind == "bus" and vehicle.bus_line_id is not None:
            route = facts.geometry.bus_routes.get(vehicle.bus_line_id)
            self._follow_route(fix, f"bus:{vehicle.bus_line_id}", route, x, y, config)
            stop_id = facts.geometry.stop_of_line(vehicle.bus_line_id, x, y)
            if config.on("bus_skip_stop"):
                route_rules.bus_skip_step(self.skip, fix, stop_id, config.route.skip_max_gap)
            if config.on("bus_stop_outside"):
                self._emit(route_rules.bus_stop_outside_step(
                    self.bus_stop, fix, doors_open=bool(fix.status & DOOR_BITS),
                    at_stop_or_depot=stop_id is not None or bool(kinds & BUS_STOP_PLACES),
                    settings=config.route, stop_began=stop_began), config)
        elif vehicle.kind == "coach" and vehicle.coach_line_id is not None:
            route = facts.geometry.coach_routes.get(vehicle.coach_line_id)
            self._follow_route(fix, f"coach:{vehicle.coach_line_id}", route, x, y, config)

    def _hazmat(self, fix: RuleFix, x: float, y: float, zones: list[ZoneShape],
                kinds: frozenset[str], facts: Facts, config: RuleConfig,
                stop_began: dt.datetime | None) -> None:
        waybill = facts.waybill_at(self.vehicle_id, fix.time)
        if waybill is not None and waybill.id != self.waybill_id:
            self._waybill_started(waybill, fix, facts, config)
        self.waybill_id = waybill.id if waybill is not None else None
        if config.on("no_waybill"):
            loaded = meter.loaded(fix) or self.run_from_depot
            self._emit(credentials.no_waybill_step(self.waybill_watch, fix, loaded=loaded,
                                                   active_waybill=waybill is not None), config)
        if config.on("restricted_zone"):
            # At its depot or a hazmat parking lot inside the zone the truck is not passing
            # through it (setting exempt_approved_places): the episode starts when it leaves.
            exempt = config.zone_exempt_places and bool(kinds & ALLOWED_STOP_KINDS)
            in_force = set() if exempt else {
                z.id for z in zones if z.kind == "hazmat_restricted" and z.in_force(fix.time)}
            for episode in presence.restricted_zone_step(self.zones, fix, in_force):
                self._emit(episode, config)
        route = waybill.route if waybill is not None else None
        self._follow_route(fix, f"waybill:{waybill.id}" if waybill else "", route, x, y, config)
        if config.on("long_stop_toxic"):
            at_allowed = bool(kinds & ALLOWED_STOP_KINDS) or (
                waybill is not None and any(
                    haversine_km(fix.lat, fix.lon, lat, lon) * 1000 <= WAYBILL_END_RADIUS_M
                    for lon, lat in waybill.ends))
            self._emit(route_rules.long_stop_toxic_step(
                self.toxic_stop, fix, toxic_load=waybill is not None and waybill.toxic,
                at_allowed_place=at_allowed, settings=config.route, stop_began=stop_began),
                config)

    def _waybill_started(self, waybill: WaybillFacts, fix: RuleFix, facts: Facts,
                         config: RuleConfig) -> None:
        """A waybill becoming active: escort present, and driver and escort certified."""
        if config.on("no_escort"):
            self._emit(credentials.no_escort_on_activation(
                at=fix.time, waybill_number=waybill.number, escort_id=waybill.escort_id), config)
        if not config.on("cert_invalid"):
            return
        for role, person, needed in (("driver", waybill.driver_id, HAZMAT_DRIVER),
                                     ("escort", waybill.escort_id, HAZMAT_ESCORT)):
            # Local date, as judge_sign_in does (a replayed fix time is in UTC).
            if person is None or facts.holds_valid(person, needed, local(fix.time).date()):
                continue
            held = [c for c in facts.driver_certificates.get(person, ()) if c.kind == needed]
            record = max(held, key=lambda c: c.valid_to) if held else None
            episode = credentials.judge_sign_in(
                at=fix.time, card_number=record.number if record else "",
                card_valid_until=None, registry=record, required_kind=needed,
                void_after_days=config.void_after_days)
            if episode is not None:
                episode.measured.update({"role": role, "waybill": waybill.number})
                self._emit(episode, config)

    def _follow_route(self, fix: RuleFix, ref: str, route: Route | None, x: float, y: float,
                      config: RuleConfig) -> None:
        if not config.on("route_deviation"):
            return
        if ref != self.route_ref:
            # Another plan (a new waybill, no waybill): an open deviation ends here.
            if self.route.episode is not None:
                self.route.episode.end = fix.time
                self.route.closed.append(self.route.episode)
            self.route = route_rules.RouteWatch()
            self.route_ref = ref
        if route is None:
            return
        distance = route.distance_m(x, y)
        self._emit(route_rules.route_step(self.route, fix, distance, config.corridor_m,
                                          config.route), config)

    # -- other inputs -------------------------------------------------------------------------
    def _alarm(self, item: AlarmIn, config: RuleConfig) -> None:
        rule = alarms.SAFETY_RULES.get(item.type_name)
        if rule is None or not config.on(rule):
            return
        key = (item.time, item.type_name, item.flag)
        if key in self.seen_alarms:
            return
        self.seen_alarms[key] = None
        if len(self.seen_alarms) > SEEN_ALARMS:
            self.seen_alarms.popitem(last=False)
        flag = _FLAGS.get(item.flag, "report")
        self._emit(alarms.signal(self.alarms, rule, flag, item.time,
                                 config.alarms[rule], {"type": item.type_name}), config)

    def _sign_in(self, item: SignIn, vehicle: VehicleFacts, facts: Facts,
                 config: RuleConfig) -> None:
        self.driver_id = item.driver_id
        required = REQUIRED_KIND.get(vehicle.kind)
        if required is None or not config.on("cert_invalid"):
            return
        episode = credentials.judge_sign_in(
            at=item.time, card_number=item.certificate_number,
            card_valid_until=item.card_valid_until,
            registry=facts.certificate(item.certificate_number, required),
            required_kind=required, void_after_days=config.void_after_days)
        self._emit(episode, config)

    def _order(self, item: OrderIn, vehicle: VehicleFacts, facts: Facts,
               config: RuleConfig) -> None:
        if not config.on("unlicensed_ride_hailing") or item.order_id in self.judged_orders:
            return
        self.judged_orders[item.order_id] = None  # an order is judged once, at its first report
        while len(self.judged_orders) > 500:
            self.judged_orders.popitem(last=False)
        # The bureau's date, not the UTC one of an order time pushed or replayed in UTC.
        on = local(item.time).date()
        driver_id = facts.driver_by_id_number.get(item.driver_id_number)
        permit_to = vehicle.ride_hailing_permit_valid_to
        episode = quality.judge_order(
            at=item.time, order_id=item.order_id,
            vehicle_permit_valid=permit_to is not None and on <= permit_to,
            driver_permit_valid=driver_id is not None and facts.holds_valid(
                driver_id, RIDE_HAILING_DRIVER, on),
            driver_id=driver_id, bound_driver_ids=facts.platform_bindings.get(self.vehicle_id,
                                                                               set()))
        self._emit(episode, config)
