"""Stages → the location fixes a terminal takes: when it reports and what each report says.

Reporting follows the usual terminal parameters: every `interval_min`–`interval_max` s with the
engine on, every `parked_interval` s with it off (sleep reporting), and at once on a status change
(engine on/off, doors opening or closing) or while an alarm is on (`Drive.forced`). A fix taken
inside a blind area (no mobile network) is flagged `blind`: the terminal keeps it for a 0x0704
backfill.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fleet.jt808 import AlarmFlag, StatusFlag
from fleet.simulator.geometry import Frame
from fleet.simulator.plan import Drive, Dwell, Fix, Instant, Item, Stage

_BASE_STATUS = StatusFlag.POSITIONED | StatusFlag.GPS | StatusFlag.BEIDOU


@dataclass(frozen=True)
class ReportConfig:
    interval_min: int = 10
    interval_max: int = 30
    parked_interval: int = 300

    def __post_init__(self) -> None:
        if not 1 <= self.interval_min <= self.interval_max:
            raise ValueError("report intervals must satisfy 1 ≤ min ≤ max")


@dataclass(frozen=True, slots=True)
class BlindSpot:
    x: float
    y: float
    radius: float

    def covers(self, x: float, y: float) -> bool:
        return (x - self.x) ** 2 + (y - self.y) ** 2 < self.radius * self.radius


class Sampler:
    def __init__(self, frame: Frame, rng: random.Random, config: ReportConfig, *,
                 blind_spots: Iterable[BlindSpot] = (), v2019: bool = False) -> None:
        self.frame = frame
        self.rng = rng
        self.config = config
        self.blind_spots = tuple(blind_spots)
        self.v2019 = v2019
        self.altitude = rng.randint(2, 9)  # the Liao river delta is flat
        self.next_t: int | None = None
        self.last_t = -1
        self.acc: bool | None = None

    def run(self, stages: Iterable[Stage]) -> Iterator[Item]:
        for stage in stages:
            if isinstance(stage, Instant):
                yield stage.item
                continue
            yield from self._stage(stage)

    def _interval(self, acc: bool) -> int:
        cfg = self.config
        return self.rng.randint(cfg.interval_min, cfg.interval_max) if acc \
            else cfg.parked_interval

    def _stage(self, stage: Drive | Dwell) -> Iterator[Fix]:
        start, end = stage.start, stage.end
        acc = stage.acc if isinstance(stage, Dwell) else True
        first = math.ceil(start)
        times: set[int] = set()
        if acc != self.acc or self.next_t is None:
            # A status change is reported at once and restarts the reporting timer.
            self.next_t = first
        self.acc = acc
        if isinstance(stage, Dwell):
            if stage.report_start:
                times.add(first)
            if stage.report_end:
                times.add(max(first, math.ceil(end) - 1))
        else:
            times.update(math.ceil(start + f) for f in stage.forced)
        while self.next_t < end:
            times.add(self.next_t)
            self.next_t += self._interval(acc)
        for t in sorted(times):
            if t <= self.last_t or t >= end:
                continue
            self.last_t = t
            yield self._fix(stage, t, acc)

    def _fix(self, stage: Drive | Dwell, t: int, acc: bool) -> Fix:
        alarm = 0
        status = _BASE_STATUS | (StatusFlag.ACC_ON if acc else 0) | stage.load
        if isinstance(stage, Drive):
            elapsed = t - stage.start
            x, y, kmh, head, s = stage.motion.at(elapsed)
            speed = round(kmh * (1.0 - self.rng.uniform(0.0, 0.02)), 1)
            odometer = stage.odometer_m + s
            if stage.overspeed is not None and stage.overspeed[0] <= elapsed <= stage.overspeed[1]:
                alarm |= AlarmFlag.OVERSPEED
            if self.v2019:
                status |= StatusFlag.MOVING
        else:
            x, y, speed, head, odometer = stage.x, stage.y, 0.0, stage.heading, stage.odometer_m
            if stage.doors:
                status |= StatusFlag.DOOR_FRONT
        lon, lat = self.frame.lonlat(x, y)
        items = [
            (0x01, int(odometer / 100).to_bytes(4, "big")),
            (0x30, bytes((self.rng.randint(12, 31),))),
            (0x31, bytes((self.rng.randint(9, 22),))),
        ]
        return Fix(t, x, y, round(lon, 6), round(lat, 6), speed, head,
                   self.altitude + self.rng.randint(-1, 1), int(status), odometer, int(alarm),
                   items, any(b.covers(x, y) for b in self.blind_spots), stage.tag)
