"""One behaviour per vehicle kind: where the vehicle starts and how it spends a day.

A behaviour is a module with ``start(ctx, rng) -> (x, y, node)`` and ``day(planner, day)``, a
generator that appends stages to the planner and yields between jobs, so a day is planned only
as far as the reports need it (thousands of vehicles, no planning spike at start-up).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from fleet.simulator.behaviours import bus, coach, freight, hazmat, taxi
from fleet.simulator.localtime import Day
from fleet.simulator.planner import Planner

BEHAVIOURS: dict[str, ModuleType] = {
    "taxi": taxi,
    "ride_hailing": taxi,
    "bus": bus,
    "coach": coach,
    "hazmat": hazmat,
    "heavy_truck": freight,
}


def parked_day(p: Planner, today: Day) -> Iterator[None]:
    """Out of service: engine off all day (the terminal still reports, at the sleep interval)."""
    p.park_until(today.at(24.0))
    yield


def behaviour_for(kind: str, in_service: bool) -> tuple[Callable[..., Any], Callable[..., Any]]:
    module = BEHAVIOURS[kind]
    return module.start, (module.day if in_service else parked_day)
