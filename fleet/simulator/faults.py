"""Report-level misbehaviours: transforms of one terminal's item stream, drawn afresh each day.

Each injector is fed the items in time order and returns what the terminal emits instead: the
same fix with an alarm item attached, a fix moved kilometres away, a fix without a GNSS position,
or nothing (the terminal is dark). Triggers count *moving* fixes of the day, so they always land
while the vehicle is on the road, whatever its schedule.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator

from fleet.jt808 import AlarmFlag, StatusFlag
from fleet.simulator.alarms import (
    ADAS_ITEM,
    ADAS_PEDESTRIAN,
    DSM_CODES,
    DSM_ITEM,
    END,
    START,
    occlusion_item,
    safety_item,
)
from fleet.simulator.entities import TerminalInfo
from fleet.simulator.geometry import Frame
from fleet.simulator.localtime import Day
from fleet.simulator.plan import Fix, Item, PowerCut


class Injector:
    name = ""

    def __init__(self, seed: int, terminal: TerminalInfo, frame: Frame) -> None:
        self.seed = seed
        self.terminal = terminal
        self.frame = frame
        self.rng = random.Random()
        self.moving = 0  # moving fixes seen today

    def new_day(self, day: Day) -> None:
        self.rng = random.Random(f"{self.seed}/{self.terminal.sim}/{self.name}/{day.ordinal}")
        self.moving = 0
        self.plan_day(day)

    def plan_day(self, day: Day) -> None:
        pass

    def process(self, item: Item) -> Iterable[Item]:
        if isinstance(item, Fix):
            if item.moving:
                self.moving += 1
            return self.fix(item)
        return (item,)

    def fix(self, fix: Fix) -> Iterable[Item]:
        return (fix,)


class SafetyAlarms(Injector):
    """DSM episodes (0x65, start and end flags) of every type the terminal's standard knows;
    a Su terminal's blocked camera goes out as item 0x16 on a run of reports (RULES.md §2a)."""

    name = "dsm"
    item_id = DSM_ITEM

    def episodes(self) -> list[tuple[str, int]]:
        codes = DSM_CODES.get(self.terminal.alarm_standard, DSM_CODES["su"])
        out = list(codes.items())
        if "camera_blocked" not in codes:
            out.append(("camera_blocked", -1))  # via 0x16
        return out

    def plan_day(self, day: Day) -> None:
        # Close together, so that even a short trip (a hazmat truck's one waybill) sees them all.
        k = self.rng.randint(5, 25)
        self.pending: list[tuple[int, str, int, int]] = []
        for name, code in self.episodes():
            length = self.rng.randint(5, 9) if code < 0 else self.rng.randint(1, 3)
            self.pending.append((k, name, code, length))
            k += length + self.rng.randint(4, 10)
        self.active: tuple[str, int, int] | None = None  # name, code, fixes left
        self.alarm_id = self.rng.randint(1, 50_000)

    def ready(self, fix: Fix) -> bool:
        return fix.moving

    def fix(self, fix: Fix) -> Iterable[Item]:
        if self.active is not None:
            name, code, left = self.active
            if code < 0:
                if left > 0:
                    fix.items.append(occlusion_item())
            elif left == 0:
                fix.items.append(self._item(END, code, fix))
            self.active = (name, code, left - 1) if left > 0 else None
        elif self.pending and fix.moving and self.moving >= self.pending[0][0] \
                and self.ready(fix):
            _, name, code, length = self.pending.pop(0)
            self.alarm_id += 1
            fix.items.append(occlusion_item() if code < 0 else self._item(START, code, fix))
            self.active = (name, code, length - 1)
        return (fix,)

    def _item(self, flag: int, code: int, fix: Fix) -> tuple[int, bytes]:
        level = 2 if code == 0x01 else 1
        detail = bytes((self.rng.randint(3, 8) if code == 0x01 else 0, 0, 0, 0, 0))
        return safety_item(self.item_id, self.terminal.alarm_standard, alarm_id=self.alarm_id,
                           flag=flag, code=code, fix=fix, terminal_id=self.terminal.device_id,
                           level=level, detail=detail)


class ZebraAlarm(SafetyAlarms):
    """ADAS pedestrian-collision warning (0x64 type 04) at town speed: not yielding at a
    crossing (RULES.md §2 zebra_not_yield)."""

    name = "zebra"
    item_id = ADAS_ITEM

    def episodes(self) -> list[tuple[str, int]]:
        return [("zebra_not_yield", ADAS_PEDESTRIAN), ("zebra_not_yield", ADAS_PEDESTRIAN)]

    def ready(self, fix: Fix) -> bool:
        return fix.speed <= 45.0


class DeviceFault(Injector):
    """A fault bit for 12-20 min; GNSS faults also lose the fix while the engine runs."""

    name = "device_fault"
    VARIANTS = (("antenna_cut", AlarmFlag.GNSS_ANTENNA_CUT, True),
                ("gnss_fault", AlarmFlag.GNSS_FAULT, True),
                ("antenna_short", AlarmFlag.GNSS_ANTENNA_SHORT, True),
                ("power_off", AlarmFlag.POWER_OFF | AlarmFlag.POWER_LOW, False))

    def plan_day(self, day: Day) -> None:
        self.variant = self.rng.choice(self.VARIANTS)
        self.trigger = self.rng.randint(20, 80)
        self.length = self.rng.uniform(12 * 60, 20 * 60)
        self.until: float | None = None
        self.last: Fix | None = None

    def fix(self, fix: Fix) -> Iterable[Item]:
        if self.until is None and fix.moving and self.moving >= self.trigger:
            self.until = fix.t + self.length
        if self.until is not None and fix.t <= self.until:
            _, bits, loses_fix = self.variant
            fix.alarm |= int(bits)
            if loses_fix and self.last is not None:
                # No GNSS: the terminal repeats its last position with the positioned bit clear.
                fix.status &= ~int(StatusFlag.POSITIONED | StatusFlag.GPS | StatusFlag.BEIDOU)
                fix.lon, fix.lat = self.last.lon, self.last.lat
                return (fix,)
        self.last = fix
        return (fix,)


class GpsDrift(Injector):
    """One fix thrown 8-25 km off: an implied speed far above 160 km/h (RULES.md §2a drift)."""

    name = "gps_drift"

    def plan_day(self, day: Day) -> None:
        self.trigger = self.rng.randint(10, 60)
        self.done = False

    def fix(self, fix: Fix) -> Iterable[Item]:
        if not self.done and fix.moving and self.moving >= self.trigger:
            self.done = True
            bearing = self.rng.uniform(0, 2 * math.pi)
            jump = self.rng.uniform(8000.0, 25_000.0)
            lon, lat = self.frame.lonlat(fix.x + jump * math.sin(bearing),
                                         fix.y + jump * math.cos(bearing))
            fix.lon, fix.lat = round(lon, 6), round(lat, 6)
            fix.tag = "drift"
        return (fix,)


class Offline(Injector):
    """The terminal goes dark mid-trip for 12-25 min (unplugged: nothing recorded), then comes
    back in a blind area for a few minutes, whose fixes it backfills with 0x0704 when the
    network returns (RULES.md §2 offline_in_service)."""

    name = "offline"

    def plan_day(self, day: Day) -> None:
        self.trigger = self.rng.randint(10, 40)
        self.gap = self.rng.uniform(12 * 60, 25 * 60)
        self.tail = self.rng.uniform(2 * 60, 5 * 60)
        self.dark_until: float | None = None
        self.blind_until = 0.0

    def fix(self, fix: Fix) -> Iterable[Item]:
        if self.dark_until is None and fix.speed >= 20.0 and not fix.blind \
                and self.moving >= self.trigger:
            self.dark_until = fix.t + self.gap
            self.blind_until = self.dark_until + self.tail
            return (fix, PowerCut(fix.t + 0.5))
        if self.dark_until is not None and fix.t <= self.dark_until:
            return ()
        if fix.t <= self.blind_until:
            fix.blind = True
        return (fix,)


INJECTORS: dict[str, type[Injector]] = {
    "dsm": SafetyAlarms,
    "zebra_not_yield": ZebraAlarm,
    "device_fault": DeviceFault,
    "gps_drift": GpsDrift,
    "offline_in_service": Offline,
}


def inject(items: Iterator[Item], injectors: list[Injector]) -> Iterator[Item]:
    """Run the stream through the injectors, starting each one's day at local midnight."""
    day: Day | None = None
    for item in items:
        if injectors and (day is None or item.t >= day.start + 86_400):
            day = Day.of(item.t)
            for injector in injectors:
                injector.new_day(day)
        batch: Iterable[Item] = (item,)
        for injector in injectors:
            batch = [out for one in batch for out in injector.process(one)]
        yield from batch
