"""Which enterprise runs each bus and coach line, and which line each bus and coach runs.

Lines are shared out among the operators in proportion to their fleets (every operator with
vehicles gets one line while lines last, the rest go by highest average, D'Hondt), so a line
carries about as many vehicles whoever runs it; an operator's vehicles take its lines in turn.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from fleet.models import Enterprise, Vehicle

Line = TypeVar("Line")


def share_lines(fleet_sizes: Sequence[int], lines: int) -> list[int]:
    """How many lines each operator runs."""
    quota = [0] * len(fleet_sizes)
    with_fleet = [i for i, size in enumerate(fleet_sizes) if size > 0]
    if not with_fleet:  # nobody has vehicles: the lines still need operators
        for n in range(lines):
            quota[n % len(quota)] += 1
        return quota
    for i in sorted(with_fleet, key=lambda i: (-fleet_sizes[i], i))[:lines]:
        quota[i] = 1
    for _ in range(lines - sum(quota)):
        best = max(with_fleet, key=lambda i: (fleet_sizes[i] / (quota[i] + 1), -i))
        quota[best] += 1
    return quota


def line_operators(fleet_sizes: Sequence[int], lines: int) -> list[int]:
    """The operator (index) of each line: the shares of ``share_lines``, interleaved so that
    every operator's lines are spread over the list (the lines' towns follow the list)."""
    quota = share_lines(fleet_sizes, lines)
    given = [0] * len(quota)
    out: list[int] = []
    for _ in range(lines):
        best = max((i for i in range(len(quota)) if given[i] < quota[i]),
                   key=lambda i: ((quota[i] - given[i]) / quota[i], -i))
        given[best] += 1
        out.append(best)
    return out


def fleet_sizes(operators: Sequence[Enterprise], vehicles: Sequence[Vehicle]) -> list[int]:
    index = {id(e): i for i, e in enumerate(operators)}
    sizes = [0] * len(operators)
    for vehicle in vehicles:
        if id(vehicle.enterprise) in index:
            sizes[index[id(vehicle.enterprise)]] += 1
    return sizes


def assign_lines(vehicles: Sequence[Vehicle], lines: Sequence[Line],
                 operator_of: Sequence[Enterprise], *, without_line: float = 0.0,
                 rng: random.Random | None = None,
                 others_if_none: bool = True) -> list[Line | None]:
    """The line of each vehicle (same order): its operator's lines in turn. A vehicle whose
    operator runs no line takes the least-loaded line of anyone (``others_if_none``) or none;
    with ``without_line``, that share of vehicles (drawn from ``rng``) has no line at all."""
    own: dict[int, list[int]] = {}
    for i, enterprise in enumerate(operator_of):
        own.setdefault(id(enterprise), []).append(i)
    turn: dict[int, int] = {}
    load = [0] * len(lines)
    out: list[Line | None] = []
    for vehicle in vehicles:
        if without_line and rng is not None and rng.random() < without_line:
            out.append(None)
            continue
        mine = own.get(id(vehicle.enterprise))
        if mine:
            n = turn.get(id(vehicle.enterprise), 0)
            turn[id(vehicle.enterprise)] = n + 1
            chosen: int | None = mine[n % len(mine)]
        elif others_if_none and lines:
            chosen = min(range(len(lines)), key=lambda i: (load[i], i))
        else:
            chosen = None
        if chosen is None:
            out.append(None)
            continue
        load[chosen] += 1
        out.append(lines[chosen])
    return out
