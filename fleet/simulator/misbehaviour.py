"""The misbehaviours a share of vehicles shows, which vehicles show them, and the trait injectors.

Every way maps to the RULES.md §2 rule(s) it gives material to. A way acts either on the
vehicle's day before it is planned (a pure function `Traits -> Traits`: speeding on a drive, no
rest, a detour, a night run, a bad card...) or on its reports after sampling (faults.py: DSM
and ADAS alarms, device faults, drift, going dark).

Who misbehaves is decided by the seed alone: for each way, a vehicle's draw
`u = Random(seed/way/sim)` below the share picks it (one way per vehicle while there are enough
vehicles), and the lowest draw is always picked, so even a tiny city shows every way.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from fleet.simulator.entities import REQUIRED_CERTIFICATE, TerminalInfo, World
from fleet.simulator.localtime import Day
from fleet.simulator.plan import CardIn
from fleet.simulator.planner import DutyPolicy, Traits

ALL = frozenset({"taxi", "ride_hailing", "bus", "coach", "hazmat", "heavy_truck"})
TRIP_BY_H = 15.0  # hazmat ways need a waybill starting before this hour
TraitFn = Callable[[Traits, random.Random, Day, TerminalInfo, World], Traits]


@dataclass(frozen=True)
class Way:
    name: str
    rules: tuple[str, ...]
    kinds: frozenset[str]
    traits: TraitFn | None = None  # None: a report-level injector (faults.INJECTORS[name])
    needs: str = ""  # "waybill", "toxic_waybill", "no_waybill", "line", "not_exempt"


def _waybills_today(terminal: TerminalInfo, world: World, day: Day) -> list:
    """Waybills starting early enough for the trip to happen within the day."""
    return [w for w in world.waybills.get(terminal.vehicle.id, [])
            if day.start <= w.start < day.at(TRIP_BY_H)]


def applies(way: Way, terminal: TerminalInfo, world: World, day: Day) -> bool:
    vehicle = terminal.vehicle
    if not vehicle.in_service or vehicle.kind not in way.kinds:
        return False
    today = _waybills_today(terminal, world, day) if vehicle.kind == "hazmat" else []
    if way.needs == "waybill":
        return bool(today)
    if way.needs == "toxic_waybill":
        return any(w.toxic for w in today)
    if way.needs == "no_waybill":
        return not [w for w in world.waybills.get(vehicle.id, [])
                    if day.start <= w.start < day.start + 86_400]
    if way.needs == "line":
        return vehicle.bus_line is not None
    if way.needs == "not_exempt":  # a coach on an exempt line may drive at night
        return not vehicle.night_ban_exempt
    if vehicle.kind == "hazmat" and way.needs == "":
        return bool(today)  # a hazmat truck only drives on a waybill day
    return True


# -- trait injectors (pure: a new Traits, the input untouched) ------------------------------------
def _overspeed(t: Traits, rng: random.Random, day: Day, terminal: TerminalInfo,
               *_: object) -> Traits:
    # A hazmat truck drives only its waybill trip, whenever that is: the first drive will do.
    hours = 0.0 if terminal.vehicle.kind == "hazmat" else rng.uniform(6.0, 12.0)
    return replace(t, overspeed_after=day.at(hours))


def _fatigue_continuous(t: Traits, rng: random.Random, *_: object) -> Traits:
    # Over 4 h at the wheel by day with no stop of 20 min: rests come late, waits stay short.
    duty = replace(t.duty, break_after_s=rng.uniform(4.8, 5.3) * 3600, daily_budget_s=7.8 * 3600,
                   max_wait_s=12 * 60)
    return replace(t, duty=duty)


def _fatigue_daily(t: Traits, rng: random.Random, *_: object) -> Traits:
    # Proper rests, but 9-10 h of driving in the day, with quick turnarounds.
    duty = replace(t.duty, daily_budget_s=rng.uniform(9.0, 10.0) * 3600, max_wait_s=8 * 60)
    return replace(t, duty=duty, long_day=True)


def _no_meter(t: Traits, rng: random.Random, day: Day, *_: object) -> Traits:
    return replace(t, no_meter_after=day.at(rng.uniform(7.0, 11.0)))


def _skip_stop(t: Traits, rng: random.Random, day: Day, *_: object) -> Traits:
    return replace(t, skip_stop_after=day.at(rng.uniform(7.0, 11.0)))


def _stop_outside(t: Traits, rng: random.Random, day: Day, *_: object) -> Traits:
    return replace(t, stop_outside_after=day.at(rng.uniform(7.0, 11.0)))


def _deviate(t: Traits, rng: random.Random, day: Day, *_: object) -> Traits:
    return replace(t, deviate_after=day.at(rng.uniform(7.0, 11.0)))


def _restricted(t: Traits, *_: object) -> Traits:
    return replace(t, restricted_zone=True)


def _no_waybill(t: Traits, *_: object) -> Traits:
    return replace(t, no_waybill_trip=True)


def _long_stop(t: Traits, *_: object) -> Traits:
    return replace(t, long_stop=True)


def _night_run(t: Traits, *_: object) -> Traits:
    return replace(t, night_run=True)


def _bad_card(t: Traits, rng: random.Random, day: Day, terminal: TerminalInfo,
              world: World) -> Traits:
    return replace(t, bad_card=invalid_card(terminal, world, day, rng))


def invalid_card(terminal: TerminalInfo, world: World, day: Day,
                 rng: random.Random) -> CardIn:
    """A card whose certificate is expired, void or missing on `day` (RULES.md §2a): a
    colleague's (else any driver's) registry certificate in that state, or a card that carries
    no certificate number at all."""
    kind = REQUIRED_CERTIFICATE[terminal.vehicle.kind]
    states = ["expired", "void", "missing"]
    rng.shuffle(states)
    colleagues = world.enterprise_drivers.get(terminal.vehicle.enterprise_id, [])
    for state in states:
        if state == "missing":
            break
        for pool in (colleagues, sorted(world.drivers)):
            found = [d for d in pool if (c := world.drivers[d].certificate(kind)) is not None
                     and c.state_on(day.date, world.void_after_days) == state]
            if found:
                driver = world.drivers[found[rng.randrange(len(found))]]
                cert = driver.certificate(kind)
                assert cert is not None
                return CardIn(0.0, driver.id, driver.name, cert.number, cert.issuer,
                              cert.valid_to, driver.id_number if terminal.v2019 else "")
    crew = terminal.vehicle.crew
    driver = world.drivers.get(crew[0]) if crew else None
    return CardIn(0.0, driver.id if driver else None, driver.name if driver else "未登记",
                  "", "", None, driver.id_number if driver and terminal.v2019 else "")


CATALOGUE: tuple[Way, ...] = (
    Way("night_ban", ("night_ban",), frozenset({"coach"}), _night_run, "not_exempt"),
    Way("no_meter", ("no_meter",), frozenset({"taxi"}), _no_meter),
    Way("bus_skip_stop", ("bus_skip_stop",), frozenset({"bus"}), _skip_stop, "line"),
    Way("bus_stop_outside", ("bus_stop_outside",), frozenset({"bus"}), _stop_outside, "line"),
    Way("restricted_zone", ("restricted_zone",), frozenset({"hazmat"}), _restricted, "waybill"),
    Way("long_stop_toxic", ("long_stop_toxic",), frozenset({"hazmat"}), _long_stop,
        "toxic_waybill"),
    Way("no_waybill", ("no_waybill",), frozenset({"hazmat"}), _no_waybill, "no_waybill"),
    Way("route_deviation", ("route_deviation",), frozenset({"bus", "hazmat"}), _deviate),
    Way("fatigue_continuous", ("fatigue_continuous",),
        frozenset({"taxi", "bus", "coach", "heavy_truck"}), _fatigue_continuous),
    Way("fatigue_daily", ("fatigue_daily",), frozenset({"coach", "heavy_truck"}), _fatigue_daily),
    Way("overspeed", ("overspeed",), ALL, _overspeed),
    Way("cert_invalid", ("cert_invalid",), frozenset({"taxi", "coach", "hazmat"}), _bad_card),
    Way("dsm", ("dsm_fatigue", "dsm_phone", "dsm_smoking", "dsm_distraction", "camera_blocked",
                "dsm_seatbelt"), frozenset({"taxi", "bus", "coach", "hazmat"})),
    Way("zebra_not_yield", ("zebra_not_yield",), frozenset({"taxi", "bus"})),
    Way("device_fault", ("device_fault",), ALL),
    Way("gps_drift", ("gps_drift",), ALL),
    Way("offline_in_service", ("offline_in_service",), frozenset({"coach", "hazmat",
                                                                   "heavy_truck"})),
)
WAYS = {way.name: way for way in CATALOGUE}


def draw(seed: int, way: str, sim: str) -> float:
    return random.Random(f"{seed}/misbehave/{way}/{sim}").random()


def assign(terminals: Iterable[TerminalInfo], world: World, day: Day, seed: int, share: float,
           ways: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
    """sim → the ways its vehicle misbehaves in (empty when well-behaved)."""
    terminals = list(terminals)
    chosen: dict[str, list[str]] = {t.sim: [] for t in terminals}
    if share <= 0:
        return {sim: () for sim in chosen}
    wanted = set(ways) if ways is not None else set(WAYS)
    for way in CATALOGUE:
        if way.name not in wanted:
            continue
        fit = [t for t in terminals if applies(way, t, world, day)]
        if not fit:
            continue
        u = {t.sim: draw(seed, way.name, t.sim) for t in fit}
        fit.sort(key=lambda t: (u[t.sim], t.sim))
        picked = [t for t in fit if u[t.sim] < share and not chosen[t.sim]]
        if way.name == "dsm":
            # One terminal of each alarm standard, so both code tables are exercised.
            for standard in ("su", "yue"):
                if not any(t.alarm_standard == standard for t in picked):
                    picked += [t for t in fit if t.alarm_standard == standard
                               and not chosen[t.sim]][:1]
        if not picked:
            free = [t for t in fit if not chosen[t.sim]]
            picked = (free or fit)[:1]
        for t in picked:
            chosen[t.sim].append(way.name)
    return {sim: tuple(names) for sim, names in chosen.items()}


def day_traits(ways: Iterable[str], seed: int, terminal: TerminalInfo, world: World,
               day: Day, base: Traits) -> Traits:
    """The vehicle's traits for one day: `base` passed through each way's trait injector."""
    traits = base
    for name in ways:
        way = WAYS[name]
        if way.traits is not None:
            rng = random.Random(f"{seed}/{terminal.sim}/{name}/{day.ordinal}")
            traits = way.traits(traits, rng, day, terminal, world)
    return traits


def base_traits(kind: str) -> Traits:
    """A well-behaved vehicle of a kind: hazmat rests stay under the 30 min toxic stop."""
    if kind == "hazmat":
        return Traits(duty=DutyPolicy(break_s=(21 * 60, 27 * 60)))
    return Traits()
