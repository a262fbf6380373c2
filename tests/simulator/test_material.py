"""A simulated day of a tiny demo city, decoded: every misbehaviour gives its rule the material
RULES.md §2a asks for, and well-behaved vehicles give none.

The plans run without sockets: each terminal's messages are rendered to the bytes it would send
and read back through one `MessageReader`, as a gateway would. Checks use only the decoded
records, the registry and geometry (tests/simulator/material.py), never a detection engine.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import shapely

from fleet.jt808 import AlarmFlag
from fleet.models.geography import window_contains
from fleet.simulator.alarms import DSM_CODES, table_for
from fleet.simulator.behaviours.bus import line_route
from fleet.simulator.behaviours.hazmat import waybill_route
from fleet.simulator.entities import REQUIRED_CERTIFICATE, TerminalInfo, World
from fleet.simulator.localtime import DAY_S, to_datetime
from fleet.simulator.misbehaviour import CATALOGUE, TRIP_BY_H, assign
from fleet.simulator.outbox import Outbox, render
from fleet.simulator.plan import Item, MeterTrip
from fleet.simulator.planner import VehicleContext
from fleet.simulator.vehicle import VehiclePlan, blind_spots
from tests.simulator import material as m
from tests.simulator.conftest import DAY, START

pytestmark = pytest.mark.django_db  # also makes pytest-django create the test database

SEED = int(os.environ.get("SIM_TEST_SEED", "1"))  # other seeds: a wider sweep by hand
SHARE = float(os.environ.get("SIM_TEST_SHARE", "0.05"))
GOOD_PER_KIND = int(os.environ.get("SIM_TEST_GOOD", "3"))
_FAULT_BITS = (AlarmFlag.GNSS_FAULT | AlarmFlag.GNSS_ANTENNA_CUT | AlarmFlag.GNSS_ANTENNA_SHORT
               | AlarmFlag.POWER_OFF)


@dataclass
class Run:
    terminal: TerminalInfo
    ways: tuple[str, ...]
    items: list[Item]
    frames: list[bytes]
    decoded: m.Decoded
    pts: list[m.Point] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.terminal.vehicle.kind

    @property
    def meter_trips(self) -> list[tuple[float, float]]:
        return [(i.boarded_at, i.alighted_at) for i in self.items if isinstance(i, MeterTrip)]


@dataclass
class Sim:
    world: World
    ways: dict[str, tuple[str, ...]]
    runs: dict[str, Run]
    good: list[str]
    roads: m.Roads

    def with_way(self, way: str) -> list[Run]:
        return [r for r in self.runs.values() if way in r.ways]


def simulate(world: World, terminal: TerminalInfo, ways: tuple[str, ...], *, seed: int = SEED,
             malformed_rate: float = 0.0) -> Run:
    plan = VehiclePlan(world, terminal, seed=seed, start=START, ways=ways,
                       blind_spots=blind_spots(world, seed))
    items = list(itertools.takewhile(lambda i: i.t < START + DAY_S, plan.items()))
    outbox = Outbox(terminal, seed=seed, malformed_rate=malformed_rate)
    frames = [frame for _, _, frame in render(outbox.stream(items), terminal)]
    decoded = m.decode(frames)
    return Run(terminal, ways, items, frames, decoded, m.points(world, decoded.fixes))


def _waybills_today(world: World, terminal: TerminalInfo) -> list:
    return [w for w in world.waybills.get(terminal.vehicle.id, [])
            if DAY.start <= w.start < DAY.start + DAY_S]


def _inherent(world: World, terminal: TerminalInfo) -> set[str]:
    """Material the demo data itself carries (not injected): a waybill crew with an invalid
    certificate, a waybill without escort, a planned route through an always-closed zone."""
    out: set[str] = set()
    for w in _waybills_today(world, terminal):
        for person, kind in ((w.driver_id, "hazmat_driver"), (w.escort_id, "hazmat_escort")):
            driver = world.drivers.get(person) if person is not None else None
            cert = driver.certificate(kind) if driver else None
            if cert is None or cert.state_on(DAY.date, world.void_after_days) != "valid":
                out.add("cert_invalid")
        if w.escort_id is None:
            out.add("no_escort")
        route = shapely.LineString(w.route)
        if any(not z.windows and z.geometry.intersects(route)
               for z in world.zones_of("hazmat_restricted")):
            out.add("restricted_zone")
    return out


@pytest.fixture(scope="module")
def sim(world: World) -> Sim:
    ways = assign(world.terminals, world, DAY, SEED, SHARE)
    chosen = [t for t in world.terminals if ways[t.sim]]
    good: list[str] = []
    for kind in ("taxi", "ride_hailing", "bus", "coach", "hazmat", "heavy_truck"):
        fit = [t for t in world.terminals if t.vehicle.kind == kind and t.vehicle.in_service
               and not ways[t.sim] and not _inherent(world, t)
               and (kind != "hazmat" or any(w.start < DAY.at(TRIP_BY_H)
                                            for w in _waybills_today(world, t)))]
        good += [t.sim for t in fit[:GOOD_PER_KIND]]
        chosen += fit[:GOOD_PER_KIND]
    runs = {t.sim: simulate(world, t, ways[t.sim]) for t in chosen}
    return Sim(world, ways, runs, good, m.Roads(world))


def test_every_way_is_shown_by_someone(sim: Sim) -> None:
    shown = {way for run in sim.runs.values() for way in run.ways}
    assert shown == {way.name for way in CATALOGUE}
    assert len({sim.runs[s].kind for s in sim.good}) == 6  # every kind has a good example


# -- each misbehaviour, on the decoded records ----------------------------------------------------
def test_overspeed(sim: Sim) -> None:
    for run in sim.with_way("overspeed"):
        episodes = m.overspeed_episodes(run.pts, sim.roads.lenient)
        assert any(b - a >= 30 for a, b in episodes), (run.terminal.sim, run.kind, episodes)


def test_fatigue_continuous(sim: Sim) -> None:
    for run in sim.with_way("fatigue_continuous"):
        assert m.continuous_excess(run.pts) > 0, (run.terminal.sim, run.kind)


def test_fatigue_daily(sim: Sim) -> None:
    for run in sim.with_way("fatigue_daily"):
        assert m.daily_max(run.pts) > 8 * 3600, (run.terminal.sim, run.kind)


def test_no_meter(sim: Sim) -> None:
    for run in sim.with_way("no_meter"):
        bad = [i for i in m.loaded_intervals(run.pts)
               if i[1] - i[0] > 180 and i[2] > 500 and m.coverage(i, run.meter_trips) < 0.5]
        assert bad, run.terminal.sim


def test_dsm_alarms_decode_with_flags_and_names(sim: Sim) -> None:
    for run in sim.with_way("dsm"):
        standard = run.terminal.alarm_standard
        table = table_for(standard)
        flags: dict[str, set[int]] = {}
        occluded = 0
        for loc in run.decoded.fixes:
            extras = loc.extras(table)
            for alarm in extras.dsm:
                flags.setdefault(alarm.type_name, set()).add(alarm.flag)
            occluded += bool(extras.video_occluded_channels)
        expected = set(DSM_CODES[standard])
        assert expected <= set(flags), (standard, flags)
        assert all(flags[name] == {1, 2} for name in expected), flags
        if standard == "su":
            assert occluded >= 2  # camera blocked through the JT/T 1078 item
        else:
            assert {"camera_blocked", "dsm_seatbelt"} <= set(flags)
    assert {r.terminal.alarm_standard for r in sim.with_way("dsm")} == {"su", "yue"}


def test_zebra_not_yield(sim: Sim) -> None:
    for run in sim.with_way("zebra_not_yield"):
        table = table_for(run.terminal.alarm_standard)
        names = [(a.type_name, a.flag) for loc in run.decoded.fixes
                 for a in loc.extras(table).adas]
        assert ("adas_pedestrian_collision", 1) in names and \
            ("adas_pedestrian_collision", 2) in names


def test_device_fault(sim: Sim) -> None:
    for run in sim.with_way("device_fault"):
        faulty = [loc for loc in run.decoded.fixes if loc.alarm & _FAULT_BITS]
        assert faulty, run.terminal.sim
        lost = [loc for loc in faulty if not loc.positioned and loc.acc_on]
        if lost:  # a GNSS fault: the terminal keeps reporting without a fix for > 10 min
            assert (lost[-1].time - lost[0].time).total_seconds() > 600


def test_gps_drift(sim: Sim) -> None:
    for run in sim.with_way("gps_drift"):
        assert m.drift_fixes(sim.world, run.decoded.fixes), run.terminal.sim


def test_route_deviation(sim: Sim) -> None:
    world = sim.world
    for run in sim.with_way("route_deviation"):
        line, corridor = _planned_line(world, run.terminal)
        episodes = m.outside_episodes(run.pts, line, corridor)
        assert any(b - a >= 120 for a, b in episodes), (run.terminal.sim, episodes)


def _planned_line(world: World, terminal: TerminalInfo) -> tuple[shapely.LineString, float]:
    if terminal.vehicle.kind == "bus":
        line = world.bus_lines[terminal.vehicle.bus_line]
        return m.metric_line(world, line.route), 100.0
    return m.metric_line(world, _waybills_today(world, terminal)[0].route), 200.0


def _stops_xy(world: World, terminal: TerminalInfo) -> list[tuple[float, float, float]]:
    line = world.bus_lines[terminal.vehicle.bus_line]
    return [(*world.frame.xy(s.lon, s.lat), s.radius) for s in line.stops]


def _stop_visits(pts: list[m.Point], stops: list[tuple[float, float, float]],
                 ) -> Iterator[list[m.Point]]:
    """Fixes near a stop (within its geofence + 10 m, or on a fix-to-fix line through it),
    grouped by visit."""
    for sx, sy, radius in stops:
        visit: list[m.Point] = []
        for a, b in itertools.pairwise(pts):
            seg = shapely.LineString([(a.x, a.y), (b.x, b.y)]) if (a.x, a.y) != (b.x, b.y) \
                else shapely.Point(a.x, a.y)
            if seg.distance(shapely.Point(sx, sy)) <= radius + 10:
                if visit and a.t - visit[-1].t > 120:
                    yield visit
                    visit = []
                visit += [p for p in (a, b) if p not in visit]
        if visit:
            yield visit


def _skips(world: World, run: Run) -> list[list[m.Point]]:
    return [v for v in _stop_visits(run.pts, _stops_xy(world, run.terminal))
            if all(p.moving for p in v)]


def test_bus_skip_stop(sim: Sim) -> None:
    for run in sim.with_way("bus_skip_stop"):
        assert _skips(sim.world, run), run.terminal.sim


def _stops_outside(world: World, run: Run) -> list[tuple[float, float]]:
    stops = _stops_xy(world, run.terminal)
    allowed = [z.local for z in world.zones_of("depot", "bus_stop")]
    out = []
    for start, end, fixes in m.stop_runs(run.pts):
        p = fixes[-1]
        at_stop = any((p.x - sx) ** 2 + (p.y - sy) ** 2 <= (r + 10) ** 2 for sx, sy, r in stops)
        in_zone = any(z.contains(shapely.Point(p.x, p.y)) for z in allowed)
        doors = any(f.loc.status & (1 << 13) for f in fixes)
        if not at_stop and not in_zone and (end - start > 30 or doors):
            out.append((start, end))
    return out


def test_bus_stop_outside(sim: Sim) -> None:
    for run in sim.with_way("bus_stop_outside"):
        assert _stops_outside(sim.world, run), run.terminal.sim


def _in_restricted(world: World, run: Run) -> list[m.Point]:
    zones = world.zones_of("hazmat_restricted")
    return [p for p in run.pts for z in zones
            if z.local.contains(shapely.Point(p.x, p.y))
            and window_contains(list(z.windows), to_datetime(p.t))]


def test_restricted_zone(sim: Sim) -> None:
    for run in sim.with_way("restricted_zone"):
        assert _in_restricted(sim.world, run), run.terminal.sim


def _unwaybilled_moves(world: World, run: Run) -> list[m.Point]:
    waybills = _waybills_today(world, run.terminal)
    return [p for p in run.pts if p.moving and not any(w.start <= p.t for w in waybills)]


def test_no_waybill(sim: Sim) -> None:
    for run in sim.with_way("no_waybill"):
        loaded = [p for p in _unwaybilled_moves(sim.world, run) if p.loc.loaded]
        assert not _waybills_today(sim.world, run.terminal) and loaded


def _long_stops(world: World, run: Run) -> list[tuple[float, float]]:
    depots = [z.local for z in world.zones_of("depot")]
    return [(a, b) for a, b, fixes in m.stop_runs(run.pts) if b - a > 30 * 60
            and not any(d.contains(shapely.Point(fixes[-1].x, fixes[-1].y)) for d in depots)]


def test_long_stop_toxic(sim: Sim) -> None:
    for run in sim.with_way("long_stop_toxic"):
        assert any(w.toxic for w in _waybills_today(sim.world, run.terminal))
        assert _long_stops(sim.world, run), run.terminal.sim


def _card_states(world: World, run: Run) -> list[str]:
    kind = REQUIRED_CERTIFICATE[run.kind]
    by_number = {c.number: c for d in world.drivers.values() for c in d.certificates
                 if c.kind == kind}
    states = []
    for card in run.decoded.cards:
        if not card.card_in:
            continue
        cert = by_number.get(str(card.certificate))
        states.append("missing" if cert is None else
                      cert.state_on(card.time.date(), world.void_after_days))
    return states


def test_cert_invalid(sim: Sim) -> None:
    for run in sim.with_way("cert_invalid"):
        states = _card_states(sim.world, run)
        assert set(states) & {"expired", "void", "missing"}, (run.terminal.sim, states)


def test_offline_in_service_then_backfill(sim: Sim) -> None:
    for run in sim.with_way("offline_in_service"):
        gaps = m.silences(run.pts)
        assert gaps, run.terminal.sim
        after = gaps[0][1].t
        backfilled = [loc.time.timestamp() for b in run.decoded.backfills() if b.backfill
                      for loc in b.locations]
        assert any(t >= after for t in backfilled)


def test_night_ban(sim: Sim) -> None:
    for run in sim.with_way("night_ban"):
        assert m.night_ban_fixes(run.pts), run.terminal.sim


def test_night_runs_only_for_coaches_that_are_not_exempt(sim: Sim) -> None:
    assert sim.with_way("night_ban")
    assert not any(r.terminal.vehicle.night_ban_exempt for r in sim.with_way("night_ban"))


def test_coaches_keep_to_their_approved_line(sim: Sim, world: World) -> None:
    """A coach with a line drives its route (the route_deviation corridor), not any road."""
    lined = [t for t in world.terminals if t.vehicle.kind == "coach" and t.vehicle.in_service
             and t.vehicle.coach_line and not sim.ways[t.sim]]
    assert lined
    terminal = lined[0]
    run = sim.runs.get(terminal.sim) or simulate(world, terminal, ())
    line = m.metric_line(world, world.coach_lines[terminal.vehicle.coach_line].route)
    assert any(p.moving for p in run.pts)
    assert all(b - a < 120 for a, b in m.outside_episodes(run.pts, line, 200.0))


def test_no_escort_waybill_vehicle_runs_its_trip(sim: Sim, world: World) -> None:
    """The demo's in-transit waybill without an escort: the vehicle drives it, reporting the
    waybill (0x0701) as it leaves."""
    found = False
    for terminal in world.terminals:
        escortless = [w for w in _waybills_today(world, terminal) if w.escort_id is None]
        if not escortless or not terminal.vehicle.in_service:
            continue
        run = sim.runs.get(terminal.sim) or simulate(world, terminal, sim.ways[terminal.sim])
        moving = [p for p in run.pts if p.moving and p.t >= escortless[0].start]
        assert moving and any(escortless[0].number in text for text in run.decoded.waybills)
        assert any("押运员:无" in text for text in run.decoded.waybills)
        found = True
    assert found


# -- well-behaved vehicles give no material ------------------------------------------------------
def test_well_behaved_vehicles_give_no_material(sim: Sim) -> None:
    world = sim.world
    for sim_number in sim.good:
        run = sim.runs[sim_number]
        kind, who = run.kind, (sim_number, run.kind)
        assert len(run.pts) > 100, who
        episodes = m.overspeed_episodes(run.pts, lambda p, k=kind: sim.roads.strict(p, k))
        assert all(b - a < 30 for a, b in episodes), (who, episodes)
        assert m.continuous_excess(run.pts) == 0, who
        if kind in {"coach", "hazmat", "heavy_truck"}:
            assert m.daily_max(run.pts) <= 8 * 3600, who
            assert not m.silences(run.pts), who
        if kind == "taxi":
            for interval in m.loaded_intervals(run.pts):
                assert m.coverage(interval, run.meter_trips) >= 0.5, (who, interval)
        assert not any(loc.items and {i for i, _ in loc.items} & {0x64, 0x65, 0x16}
                       for loc in run.decoded.fixes), who
        assert not any(loc.alarm & _FAULT_BITS or not loc.positioned
                       for loc in run.decoded.fixes), who
        assert not m.drift_fixes(world, run.decoded.fixes), who
        assert not m.night_ban_fixes(run.pts) or kind != "coach", who
        assert not run.decoded.errors, who
        if kind in {"taxi", "coach", "hazmat"}:
            assert set(_card_states(world, run)) == {"valid"}, (who, _card_states(world, run))
        if kind == "bus":
            line, corridor = _planned_line(world, run.terminal)
            assert all(b - a < 120 for a, b in m.outside_episodes(run.pts, line, corridor)), who
            assert not _skips(world, run), who
            assert not _stops_outside(world, run), who
        if kind == "hazmat":
            line, corridor = _planned_line(world, run.terminal)
            assert all(b - a < 120 for a, b in m.outside_episodes(run.pts, line, corridor)), who
            assert not _in_restricted(world, run), who
            assert not _unwaybilled_moves(world, run), who
            assert not _long_stops(world, run), who
            assert run.decoded.waybills, who


def test_backfill_after_blind_areas_keeps_fix_times_continuous(sim: Sim) -> None:
    """Blind areas delay fixes (0x0704 type 1) but never leave a hole in them."""
    runs = [r for r in sim.runs.values() if r.decoded.backfills()
            and not {"offline_in_service", "device_fault"} & set(r.ways)]
    assert runs
    for run in runs:
        assert all(b.backfill for b in run.decoded.backfills())
        moving_gaps = [(a, b) for a, b in m.silences(run.pts)]
        assert not moving_gaps, run.terminal.sim


# -- the plans' own helpers agree with the registry ---------------------------------------------
def test_routes_follow_the_registry_geometry(world: World) -> None:
    hazmat = next(t for t in world.terminals if _waybills_today(world, t))
    route = waybill_route(VehicleContext(world, hazmat, None, None), _waybills_today(
        world, hazmat)[0])  # type: ignore[arg-type]
    line = m.metric_line(world, _waybills_today(world, hazmat)[0].route)
    assert abs(route.length - line.length) < 1.0
    bus = next(t for t in world.terminals if t.vehicle.bus_line)
    _, stops = line_route(VehicleContext(world, bus, None, None), world.bus_lines[
        bus.vehicle.bus_line])  # type: ignore[arg-type]
    assert stops == sorted(stops) and stops[0] < 1.0
