"""In-memory registry of terminals, keyed by canonical SIM.

Headers carry the phone zero-padded to 12 (2013) or 20 (2019) digits; the registry stores it as
entered. `fleet.validators.canonical_sim` maps all of them to one key. The table is loaded from
the database in the gateway's DB thread, replaced atomically (one dict assignment), refreshed
periodically and on demand (an unknown SIM asks for a reload, rate-limited), and never consulted
through the ORM per frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fleet.jt808 import ALARM_CODE_TABLES, SU_TABLE, AlarmCodeTable
from fleet.validators import canonical_sim, normalise_plate

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TerminalInfo:
    sim: str  # canonical
    terminal_id: int
    auth_code: str
    protocol_edition: str
    alarm_standard: str
    vehicle_id: int | None
    plate: str
    plate_colour: int | None
    vin: str

    @property
    def alarm_table(self) -> AlarmCodeTable:
        return ALARM_CODE_TABLES.get(self.alarm_standard, SU_TABLE)

    def matches_vehicle(self, plate: str, colour: int) -> bool:
        """Does a 0x0100 plate + colour name this terminal's vehicle? Colour 0 means the
        terminal sends the VIN instead (vehicle without plates)."""
        if self.vehicle_id is None:
            return False
        if colour == 0:
            return bool(self.vin) and plate.strip().upper() == self.vin.upper()
        return colour == self.plate_colour and normalise_plate(plate) == normalise_plate(
            self.plate
        )


def load_terminals() -> list[TerminalInfo]:
    """Every active terminal with its vehicle (synchronous ORM: run it in the DB thread)."""
    from fleet.models import Terminal

    rows = Terminal.objects.filter(active=True).values_list(
        "pk",
        "sim_number",
        "auth_code",
        "protocol_edition",
        "alarm_standard",
        "vehicle_id",
        "vehicle__plate",
        "vehicle__plate_colour",
        "vehicle__vin",
    )
    return [
        TerminalInfo(canonical_sim(sim), pk, code, edition, standard, vid, plate or "", colour,
                     vin or "")
        for pk, sim, code, edition, standard, vid, plate, colour, vin in rows
    ]


Runner = Callable[[Callable[[], list[TerminalInfo]]], Awaitable[list[TerminalInfo]]]


class TerminalDirectory:
    """`get(phone)` is a dict lookup; `refresh(run)` reloads through `run` (the DB worker)."""

    def __init__(
        self,
        loader: Callable[[], Iterable[TerminalInfo]] = load_terminals,
        *,
        miss_refresh_s: float = 5.0,
    ) -> None:
        self._loader = loader
        self._by_sim: dict[str, TerminalInfo] = {}
        self.miss_refresh_s = miss_refresh_s
        self.generation = 0  # bumped on every reload; sessions re-read their entry when it moves
        self.loaded_at: float | None = None
        self._last_miss_refresh = float("-inf")
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._by_sim)

    def get(self, phone: str) -> TerminalInfo | None:
        """Entry for a header phone or registry SIM, in any zero padding."""
        return self._by_sim.get(canonical_sim(phone))

    def replace(self, entries: Iterable[TerminalInfo]) -> None:
        self._by_sim = {e.sim: e for e in entries}
        self.generation += 1
        self.loaded_at = time.time()

    def load_sync(self) -> int:
        """Load on the calling thread (startup, management commands, tests)."""
        self.replace(self._loader())
        return len(self)

    async def refresh(self, run: Runner) -> int:
        """Reload through `run` (e.g. `DbWorker.run`); a failure keeps the previous table."""
        async with self._lock:
            try:
                entries = await run(lambda: list(self._loader()))
            except Exception:
                log.exception("terminal directory reload failed; keeping %d entries", len(self))
                raise
            self.replace(entries)
            return len(self)

    async def lookup(self, phone: str, run: Runner) -> TerminalInfo | None:
        """`get`, and on a miss reload once (at most every `miss_refresh_s`) and try again, so
        a terminal added to the registry a moment ago can register without waiting."""
        info = self.get(phone)
        if info is not None:
            return info
        now = time.monotonic()
        if now - self._last_miss_refresh < self.miss_refresh_s:
            return None
        self._last_miss_refresh = now
        try:
            await self.refresh(run)
        except Exception:
            return None
        return self.get(phone)
