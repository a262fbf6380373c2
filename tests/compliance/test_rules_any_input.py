"""Whatever the pipeline can hand the rules, in any order, they judge it without an exception and
every finding is one the writer can store (hypothesis).

Terminals in the field send what the scenario tests never think of: positions outside China,
speeds of 6,553 km/h, every status and alarm bit at once, late and repeated reports, cards
without a number, meter trips that end before they begin. The test run uses the compiled rules
(config/native.py), where a value of a type the annotations do not admit raises — this is where
such a value would show before a real terminal sends it. Derandomized, so a run is repeatable.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from django.contrib.gis.geos import Point
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.catalogue import ALL_KINDS, RULES
from compliance.engine.terminal_alarms import SAFETY_RULES
from compliance.rule_settings import load_snapshot
from compliance.runtime.config import build_config
from compliance.runtime.facts import load_facts
from compliance.runtime.inputs import (
    AlarmIn,
    FixIn,
    MeterIn,
    OrderIn,
    RuleInput,
    SignIn,
    SignOut,
    order_key,
)
from compliance.runtime.vehicle import VehicleRules
from tests.compliance.runtime_harness import (
    LAT,
    LON,
    at,
    bind_on_platform,
    box,
    certified,
    east_west,
    make_bus_line,
    make_coach_line,
    make_road,
    make_vehicle,
    make_waybill,
    make_zone,
)

START = at(0)
SPAN_S = 36 * 3600  # a day and a half: midnight, the night ban, the daily window
VEHICLES = (*ALL_KINDS, "hazmat_alone")
KIND_OF = {"hazmat_alone": "hazmat"}


@pytest.fixture
def city(world):
    """A vehicle of every kind with what its rules look at: lines and stops, a waybill with a
    route, a road, zones with windows and limits, certificates, a platform binding."""
    vehicles = {name: make_vehicle(world, KIND_OF.get(name, name)) for name in VEHICLES}
    make_bus_line(vehicles["bus"], stops=[(LON, LAT), (LON + 0.01, LAT)])
    make_coach_line(vehicles["coach"])
    driver = certified(world, "hazmat_driver")
    escort = certified(world, "hazmat_escort")
    make_waybill(vehicles["hazmat"], at(6), at(20), driver=driver, escort=escort,
                 route=east_west())
    # Toxic goods without an escort, loading far away: no_escort and long_stop_toxic apply.
    make_waybill(vehicles["hazmat_alone"], at(0), at(12, day=22), driver=driver, escort=None,
                 hazard_class="6.1",
                 origin=Point(LON + 0.3, LAT, srid=4326),
                 destination=Point(LON + 0.4, LAT, srid=4326))
    make_road(60)
    make_zone("hazmat_restricted", box(LON - 0.01, LAT - 0.01, LON + 0.01, LAT + 0.01),
              windows=[{"days": [1, 2, 3, 4, 5, 6, 7], "start": "07:00", "end": "09:00"}])
    make_zone("school", box(LON + 0.005, LAT - 0.005, LON + 0.02, LAT + 0.005), limit=30)
    ride_driver = certified(world, "ride_hailing_driver")
    bind_on_platform(vehicles["ride_hailing"], ride_driver)
    snapshot = load_snapshot()
    facts = load_facts(snapshot, now=at(23, 59, day=22))
    configs = {name: build_config(snapshot, v.registered_district_id, v.kind)
               for name, v in vehicles.items()}
    return vehicles, facts, configs


moments = st.integers(0, SPAN_S).map(lambda s: START + dt.timedelta(seconds=s))
# A fix anywhere from the district to the far side of the valid ranges (RULES.md §3), or none.
longitudes = st.one_of(st.floats(LON - 0.05, LON + 0.05), st.floats(-180, 180),
                       st.sampled_from([0.0, 73.55, 135.08]))
latitudes = st.one_of(st.floats(LAT - 0.05, LAT + 0.05), st.floats(-90, 90),
                      st.sampled_from([0.0, 3.85, 53.55]))
dwords = st.integers(0, 2**32 - 1)
status_bits = st.one_of(st.sampled_from([0, 0b01, 0b11, 0b11 | 1 << 8, 0b11 | 3 << 8]), dwords)
fixes = st.builds(
    FixIn, time=moments,
    lon=st.one_of(st.none(), longitudes), lat=st.one_of(st.none(), latitudes),
    speed_kmh=st.one_of(st.floats(0, 200), st.sampled_from([0.0, 6553.5])),
    status=status_bits, alarm=st.one_of(st.just(0), dwords), via_gateway=st.booleans(),
    in_ranges=st.booleans(), video_lost=st.booleans(), occluded=st.booleans())
alarms = st.builds(AlarmIn, time=moments,
                   type_name=st.sampled_from([*SAFETY_RULES, "unknown_0x7f", ""]),
                   flag=st.integers(0, 3))
card_numbers = st.one_of(st.just(""), st.text(max_size=24),
                         st.sampled_from(["辽L00000001", "0" * 20]))
sign_ins = st.builds(SignIn, time=moments, driver_id=st.one_of(st.none(), st.integers(1, 10**6)),
                     certificate_number=card_numbers,
                     card_valid_until=st.one_of(st.none(), st.dates(dt.date(2000, 1, 1),
                                                                    dt.date(2099, 12, 31))))
sign_outs = st.builds(SignOut, time=moments)
meter_trips = st.builds(lambda a, b, n: MeterIn(max(a, b), a, b, n), moments, moments,
                        st.text(max_size=12))
orders = st.builds(OrderIn, time=moments, order_id=st.text(max_size=32),
                   driver_id_number=st.text(max_size=18))


@st.composite
def drives(draw: st.DrawFn) -> list[RuleInput]:
    """A plausible run of fixes (the rules' clocks only move on these), at any speed."""
    start = draw(st.integers(0, SPAN_S))
    every = draw(st.sampled_from([1, 10, 30, 60, 300]))
    speed = draw(st.sampled_from([0.0, 5.0, 40.0, 75.0, 120.0]))
    status = draw(st.sampled_from([0b11, 0b11 | 1 << 8, 0b10, 0b01]))
    count = draw(st.integers(1, 120))
    step = speed / 3.6 * every / 111_320 / 1.5  # eastwards, a little below the reported speed
    return [FixIn(START + dt.timedelta(seconds=start + n * every), LON + n * step, LAT, speed,
                  status, 0, True) for n in range(count)]


inputs = st.lists(st.one_of(drives(), st.lists(st.one_of(fixes, alarms, sign_ins, sign_outs,
                                                        meter_trips, orders), max_size=20)),
                  max_size=8).map(lambda parts: [item for part in parts for item in part])


def well_formed(value: object) -> bool:
    if isinstance(value, bool | str) or value is None:
        return True
    if isinstance(value, int | float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(well_formed(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and well_formed(v) for k, v in value.items())
    return False


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=inputs, kind=st.sampled_from(VEHICLES), in_order=st.booleans(),
       batch=st.integers(1, 50))
def test_any_inputs_are_judged_without_error(city, items, kind, in_order, batch):
    vehicles, facts, configs = city
    state = VehicleRules(vehicles[kind].pk)
    # The detector sorts each batch; across batches late reports arrive out of order.
    chunks = [items[i:i + batch] for i in range(0, len(items), batch)]
    for chunk in chunks:
        for item in sorted(chunk, key=order_key) if in_order else chunk:
            state.feed(item, facts, configs[kind])
    for (rule, start, key), finding in state.dirty.items():
        episode = finding.episode
        assert rule == episode.rule and rule in RULES
        assert start == episode.start and isinstance(key, str)
        assert episode.end is None or episode.end >= episode.start, (rule, episode)
        # What the writer stores as JSON (PostgreSQL refuses NaN and infinities).
        assert well_formed(episode.measured) and well_formed(episode.thresholds), episode
        json.dumps([episode.measured, episode.thresholds], allow_nan=False)


def findings(state: VehicleRules) -> list[tuple[object, ...]]:
    return sorted((rule, start, key, found.episode.end, sorted(found.episode.measured.items()))
                  for (rule, start, key), found in state.dirty.items())


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(items=inputs, kind=st.sampled_from(VEHICLES))
def test_a_redelivered_batch_changes_no_finding(city, items, kind):
    """The gateway re-sends what it was not sure of and the bus re-delivers an unacknowledged
    batch: the same reports again, after newer ones, must not change a finding or a measure."""
    vehicles, facts, configs = city
    once, twice = VehicleRules(vehicles[kind].pk), VehicleRules(vehicles[kind].pk)
    batch = sorted(items, key=order_key)
    for state, deliveries in ((once, 1), (twice, 2)):
        for _ in range(deliveries):
            for item in batch:
                state.feed(item, facts, configs[kind])
    assert findings(once) == findings(twice)
