"""The planner behaviours write a vehicle's day with: where it is, what it does next, and the
duty rules a well-behaved driver keeps (RULES.md §2 fatigue) unless a trait says otherwise.

Duty, by default: a rest of ≥ 25 min before continuous driving would pass 1 h 45 min (below the
2 h night limit, so no drive has to watch the clock), and at most 6 h 30 min of driving a day
for the kinds `fatigue_daily` applies to. Misbehaviour traits loosen exactly these knobs.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet.simulator.entities import REQUIRED_CERTIFICATE, TerminalInfo, VehicleInfo, World
from fleet.simulator.graph import Route
from fleet.simulator.localtime import Day
from fleet.simulator.motion import Motion, Overspeed, SpeedPolicy, build_motion
from fleet.simulator.plan import CardIn, CardOut, Drive, Dwell, Instant, Item, Stage

RESET_STOP_S = 20 * 60  # a stop this long resets continuous driving (RULES.md §2a)
OVERSPEED_S = (50.0, 90.0)
ALARM_REPORT_S = 8.0  # report interval while the terminal's overspeed alarm is on


@dataclass
class DutyPolicy:
    break_after_s: float = 1.75 * 3600
    break_s: tuple[float, float] = (25 * 60, 35 * 60)
    daily_budget_s: float = 6.5 * 3600
    max_wait_s: float = 12 * 60  # longest idle wait between jobs (taxis at a rank)


@dataclass
class Traits:
    """Knobs of a vehicle's day. Defaults are a well-behaved vehicle; misbehaviour injectors
    return modified copies (see misbehaviour.py)."""

    duty: DutyPolicy = field(default_factory=DutyPolicy)
    overspeed_after: float | None = None  # first long enough drive after this speeds
    no_meter_after: float | None = None  # taxi fares after this go without the meter
    skip_stop_after: float | None = None  # bus: the next run passes two stops at speed
    stop_outside_after: float | None = None  # bus: the next run stops between stops
    deviate_after: float | None = None  # the next route-bound drive leaves its corridor
    restricted_zone: bool = False  # hazmat: time the waybill trip through a zone's window
    no_waybill_trip: bool = False  # hazmat: a loaded trip with no waybill
    long_stop: bool = False  # hazmat (toxic): a > 30 min stop halfway
    night_run: bool = False  # coach: a run between 02:00 and 05:00
    bad_card: CardIn | None = None  # sign in with this card (invalid certificate)
    long_day: bool = False  # work on into the evening (with a daily budget beyond 8 h)


@dataclass
class VehicleContext:
    world: World
    terminal: TerminalInfo
    policy: SpeedPolicy
    traits: Traits
    done: set[str] = field(default_factory=set)  # one-shot traits already used today
    home: dict[str, Any] = field(default_factory=dict)  # the behaviour's fixed places

    @property
    def vehicle(self) -> VehicleInfo:
        return self.terminal.vehicle


class Duty:
    """Driving time as RULES.md §2a counts it: consecutive stops add up, and once they reach
    20 min continuous driving starts again from zero."""

    def __init__(self) -> None:
        self.continuous_s = 0.0
        self.daily_s = 0.0
        self.idle_s = 0.0  # stopped since the last drive

    def drove(self, seconds: float) -> None:
        self.continuous_s += seconds
        self.daily_s += seconds
        self.idle_s = 0.0

    def stopped(self, seconds: float) -> None:
        self.idle_s += seconds
        if self.idle_s >= RESET_STOP_S:
            self.continuous_s = 0.0


class Planner:
    """Appends stages to `out` while tracking time, place, odometer, load and duty."""

    def __init__(self, ctx: VehicleContext, rng: random.Random, t: float, x: float, y: float,
                 node: int | None, odometer_m: float) -> None:
        self.ctx = ctx
        self.rng = rng
        self.t = t
        self.x, self.y = x, y
        self.heading = 0
        self.node = node
        self.odometer_m = odometer_m
        self.load = 0
        self.duty = Duty()
        self.out: list[Stage] = []
        self.day: Day = Day.of(t)
        self.on_duty: int | None = None  # driver signed in (None when nobody)
        self.trip_no = 0

    @property
    def world(self) -> World:
        return self.ctx.world

    @property
    def traits(self) -> Traits:
        return self.ctx.traits

    def start_day(self, day: Day) -> None:
        self.day = day
        self.duty.daily_s = 0.0
        self.ctx.done.clear()  # one-shot misbehaviours happen once a day

    # -- stages ----------------------------------------------------------------------------------
    def dwell(self, seconds: float, *, acc: bool = True, doors: bool = False, tag: str = "",
              report_start: bool = False, report_end: bool = False) -> None:
        if seconds <= 0:
            return
        self.out.append(Dwell(self.t, seconds, self.x, self.y, self.heading, acc, self.load, tag,
                              self.odometer_m, doors, report_start, report_end))
        self.t += seconds
        self.duty.stopped(seconds)

    def park_until(self, t_end: float, tag: str = "park") -> None:
        """Engine off until `t_end` (a stop that long also resets continuous driving)."""
        if t_end > self.t:
            self.dwell(t_end - self.t, acc=False, tag=tag)

    def instant(self, item: Item) -> None:
        self.out.append(Instant(self.t, item))

    def motion(self, route: Route, *, from_rest: bool = True, to_rest: bool = True,
               no_slowdown: tuple[float, ...] = ()) -> tuple[Motion, Overspeed | None]:
        overspeed = self._overspeed(route)
        motion = build_motion(route, self.ctx.policy, self.rng, from_rest=from_rest,
                              to_rest=to_rest, overspeed=overspeed, no_slowdown=no_slowdown)
        return motion, overspeed

    def drive(self, route: Route, *, tag: str, from_rest: bool = True, to_rest: bool = True,
              forced_s: tuple[float, ...] = (), no_slowdown: tuple[float, ...] = (),
              prepared: tuple[Motion, Overspeed | None] | None = None) -> Drive:
        """Drive `route` from here; `prepared` is a `motion()` result computed beforehand (to
        place forced reports on it)."""
        motion, overspeed = prepared or self.motion(route, from_rest=from_rest, to_rest=to_rest,
                                                    no_slowdown=no_slowdown)
        alarm: tuple[float, float] | None = None
        if overspeed is not None:
            # Terminals report at their alarm interval while the overspeed alarm is on.
            alarm = (motion.time_at(overspeed.s0), motion.time_at(overspeed.s1))
            steps = int((alarm[1] - alarm[0]) // ALARM_REPORT_S)
            forced_s += tuple(alarm[0] + 1.0 + i * ALARM_REPORT_S for i in range(steps + 1))
        stage = Drive(self.t, motion, self.load, tag, self.odometer_m, forced_s, alarm)
        self.out.append(stage)
        self.t += motion.duration
        self.odometer_m += route.length
        end_x, end_y, head = route.line.at(route.length)
        self.x, self.y, self.heading = end_x, end_y, head
        self.node = route.nodes[-1][1] if route.nodes and \
            abs(route.nodes[-1][0] - route.length) < 1.0 else None
        self.duty.drove(motion.duration)
        return stage

    def route_to(self, node: int, penalty: Mapping[str, float] | None = None) -> Route | None:
        if self.node is None:
            self.node = self.world.graph.nearest_node(self.x, self.y)
        return self.world.graph.route(self.node, node, penalty)

    def _overspeed(self, route: Route) -> Overspeed | None:
        """The one overspeed episode of the day, on the first drive long enough for it."""
        after = self.traits.overspeed_after
        if after is None or self.t < after or "overspeed" in self.ctx.done:
            return None
        graph = self.world.graph
        seconds = self.rng.uniform(*OVERSPEED_S)
        margin = self.rng.uniform(18.0, 26.0)
        end = 120.0 + 2500.0
        for _ in range(3):
            # Above every limit met on the stretch or at its junctions, so the fixes are over
            # the limit whichever nearby road a map matcher picks. The speed sets the length
            # needed, which may take in a faster road: then look again over the longer stretch.
            stretch = route.sub(120.0, min(route.length, end))
            top = max([sp.top for sp in stretch.spans]
                      + [graph.node_max_limit[n] for _, n in stretch.nodes])
            kmh = min(145.0, top + margin)
            need = kmh / 3.6 * seconds
            if route.length < 120.0 + need + 130.0:
                return None
            if 120.0 + need <= end:
                self.ctx.done.add("overspeed")
                return Overspeed(120.0, 120.0 + need, kmh)
            end = 120.0 + need
        return None

    # -- duty ------------------------------------------------------------------------------------
    def rest_if_needed(self, next_drive_s: float, tag: str = "rest") -> bool:
        policy = self.traits.duty
        if self.duty.continuous_s + next_drive_s <= policy.break_after_s:
            return False
        self.dwell(self.rng.uniform(*policy.break_s), acc=False, tag=tag)
        return True

    def budget_left(self) -> float:
        return self.traits.duty.daily_budget_s - self.duty.daily_s

    # -- drivers ---------------------------------------------------------------------------------
    def card(self, driver_id: int | None) -> CardIn:
        world, terminal = self.world, self.ctx.terminal
        driver = world.drivers.get(driver_id) if driver_id is not None else None
        if driver is None:
            return CardIn(self.t, None, "", "", "", None, "")
        cert = driver.certificate(REQUIRED_CERTIFICATE[terminal.vehicle.kind])
        return CardIn(self.t, driver.id, driver.name, cert.number if cert else "",
                      cert.issuer if cert else "", cert.valid_to if cert else None,
                      driver.id_number if terminal.v2019 else "")

    def card_valid(self, driver_id: int) -> bool:
        driver = self.world.drivers.get(driver_id)
        if driver is None:
            return False
        cert = driver.certificate(REQUIRED_CERTIFICATE[self.ctx.vehicle.kind])
        return cert is not None and cert.state_on(self.day.date, self.world.void_after_days) \
            == "valid"

    def crew(self, wanted: int) -> list[int | None]:
        """Who drives today: bound drivers with a valid certificate first, then colleagues of
        the same enterprise who hold one; nobody valid → the bound drivers as they are."""
        vehicle = self.ctx.vehicle
        valid = [d for d in vehicle.crew if self.card_valid(d)]
        if len(valid) < wanted:
            colleagues = self.world.enterprise_drivers.get(vehicle.enterprise_id, [])
            pool = [d for d in colleagues if d not in valid and self.card_valid(d)]
            if pool:
                start = vehicle.id % len(pool)
                valid += (pool[start:] + pool[:start])[: wanted - len(valid)]
        chosen: list[int | None] = list(valid[:wanted]) or list(vehicle.crew[:wanted])
        while len(chosen) < wanted:
            chosen.append(chosen[-1] if chosen else None)
        return chosen

    def sign_in(self, driver_id: int | None) -> None:
        bad = self.traits.bad_card
        if bad is not None and "bad_card" not in self.ctx.done:
            self.ctx.done.add("bad_card")
            card = CardIn(self.t, bad.driver_id, bad.name, bad.certificate, bad.issuer,
                          bad.valid_until, bad.id_card)
        else:
            card = self.card(driver_id)
        self.on_duty = card.driver_id if card.driver_id is not None else -1
        self.instant(card)

    def sign_out(self) -> None:
        if self.on_duty is not None:
            self.instant(CardOut(self.t, None if self.on_duty < 0 else self.on_duty))
            self.on_duty = None
