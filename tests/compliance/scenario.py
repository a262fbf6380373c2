"""Builders of fix sequences for rule scenarios (local Beijing time)."""

from __future__ import annotations

import datetime as dt

from compliance.engine.model import BUREAU_TZ, RuleFix


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=BUREAU_TZ)


def drive(start: dt.datetime, duration: dt.timedelta, *, every_s: int = 30,
          speed: float = 60.0, **extra) -> list[RuleFix]:
    """Fixes every ``every_s`` seconds from ``start`` to ``start + duration`` inclusive."""
    steps = int(duration.total_seconds() // every_s)
    return [RuleFix(start + dt.timedelta(seconds=i * every_s), 122.0 + i * 1e-4, 41.1, speed,
                    **extra) for i in range(steps + 1)]


def stop(start: dt.datetime, duration: dt.timedelta, *, every_s: int = 30) -> list[RuleFix]:
    """Stationary fixes after ``start`` (exclusive) up to ``start + duration`` inclusive."""
    steps = int(duration.total_seconds() // every_s)
    return [RuleFix(start + dt.timedelta(seconds=i * every_s), 122.0, 41.1, 0.0)
            for i in range(1, steps + 1)]


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)
