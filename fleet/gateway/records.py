"""What the gateway hands to the ingest pipeline: plain frozen dataclasses, no ORM objects.

Every record names its terminal by canonical SIM (`fleet.validators.canonical_sim`) and carries
the vehicle id and plate the registry had for it when the frame arrived (None / '' for a
terminal without a vehicle), so the pipeline never needs a registry lookup to route it.

Times: `time` is the terminal's own time (aware, UTC+8 as sent); `received_at` is when the gateway
read the bytes (aware, UTC). Delivery is at-least-once: a terminal that saw no acknowledgement
sends the same report again, so consumers must treat (sim, time, source) as the identity of a fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from fleet.jt808 import AlarmCodeTable, Location, SafetyAlarm

# Message ids a fix can come from.
SOURCE_LOCATION = 0x0200
SOURCE_QUERY = 0x0201
SOURCE_BATCH = 0x0704

_SAFETY_ITEM_IDS = frozenset((0x64, 0x65))
# Status bits 1 (positioned), 2 (south), 3 (west).
_POSITIONED, _SOUTH, _WEST = 0x2, 0x4, 0x8


@dataclass(frozen=True, slots=True)
class ActiveSafetyAlarm:
    """One 0x64 (ADAS) / 0x65 (DSM) item, named with the terminal's alarm-standard table."""

    kind: Literal["adas", "dsm"]
    alarm_id: int
    flag: int  # 0 n/a, 1 start, 2 end
    type_code: int
    type_name: str  # e.g. 'dsm_phone'; unknown codes give 'dsm_0x1f'
    level: int
    time: datetime | None
    attachment_count: int

    @classmethod
    def from_codec(cls, alarm: SafetyAlarm) -> ActiveSafetyAlarm:
        return cls(
            alarm.kind,
            alarm.alarm_id,
            alarm.flag,
            alarm.type_code,
            alarm.type_name,
            alarm.level,
            alarm.time,
            alarm.attachment_count,
        )


@dataclass(frozen=True, slots=True)
class Fix:
    """One location report (0x0200, one item of 0x0704, or a 0x0201 query answer).

    `latitude`/`longitude` are None when the terminal had no GNSS fix (status bit 1 clear): such
    a report still counts for online time and data validity, but is never a point at (0, 0).
    `items` are the additional items exactly as received (wire order, duplicates kept).
    """

    sim: str
    vehicle_id: int | None
    plate: str
    time: datetime
    received_at: datetime
    latitude: float | None
    longitude: float | None
    speed_kmh: float
    heading: int
    altitude: int
    alarm: int
    status: int
    items: tuple[tuple[int, bytes], ...]
    safety_alarms: tuple[ActiveSafetyAlarm, ...]
    backfill: bool
    serial: int
    source: int = SOURCE_LOCATION

    @property
    def positioned(self) -> bool:
        return self.latitude is not None


@dataclass(frozen=True, slots=True)
class TerminalEvent:
    """Something a terminal did or reported besides its position.

    kinds: 'online' (authenticated), 'offline' (connection closed; best effort), 'logout'
    (0x0003), 'safety_alarm' (one per 0x64/0x65 item, `code` = its type name; the same alarm is
    also on the fix in `Fix.safety_alarms` so per-vehicle state sees it in context — count
    alarms from the events, not from both).
    """

    sim: str
    vehicle_id: int | None
    plate: str
    kind: str
    time: datetime
    received_at: datetime
    code: str = ""
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CardReport:
    """0x0702 driver identity exactly as the terminal reported it, not yet matched with the
    registry: what the gateway publishes. The pipeline worker owning the vehicle applies it in
    its batch transaction (`fleet.telemetry.cards`: card bindings) and turns it into the
    `DriverSignIn` / `DriverSignOut` the event log and the rules consume.

    `card_in` is status 1 (True) or 2 (False; the identity fields are then empty).
    `read_result` is None when the body had none (card out). Strings are stripped."""

    sim: str
    vehicle_id: int | None
    plate: str
    time: datetime
    received_at: datetime
    card_in: bool
    certificate_number: str
    id_card_number: str
    driver_name: str
    issuer: str
    certificate_valid_until: date | None
    read_result: int | None
    serial: int


@dataclass(frozen=True, slots=True)
class WaybillUpload:
    """0x0701 electronic waybill as the terminal reported it (`text`: the content decoded, None
    when it is not GB 18030). The pipeline worker links it to the vehicle's open registry
    waybill and turns it into a `WaybillReport`."""

    sim: str
    vehicle_id: int | None
    plate: str
    received_at: datetime
    content: bytes
    text: str | None
    serial: int


@dataclass(frozen=True, slots=True)
class DriverSignIn:
    """0x0702 card in, as the pipeline worker applied it (from a `CardReport`). `driver_id` is
    None when the card's certificate (and ID card number, 2019) match no registered driver, or
    the card could not be read (`read_result` != 0): the certificate rule then sees a missing
    driver. `binding_id` is the card binding opened (None when no binding could be opened, e.g.
    unknown driver)."""

    sim: str
    vehicle_id: int | None
    plate: str
    time: datetime
    received_at: datetime
    driver_id: int | None
    certificate_number: str
    driver_name: str
    issuer: str
    certificate_valid_until: date | None
    read_result: int
    binding_id: int | None
    serial: int


@dataclass(frozen=True, slots=True)
class DriverSignOut:
    """0x0702 card out, as the pipeline worker applied it (from a `CardReport`);
    `binding_id`/`driver_id` of the card binding it closed, if any."""

    sim: str
    vehicle_id: int | None
    plate: str
    time: datetime
    received_at: datetime
    driver_id: int | None
    binding_id: int | None
    serial: int


@dataclass(frozen=True, slots=True)
class WaybillReport:
    """0x0701 electronic waybill as the pipeline worker applied it (from a `WaybillUpload`):
    linked to the registry waybill of that vehicle whose number appears in the content (None
    when none does)."""

    sim: str
    vehicle_id: int | None
    plate: str
    received_at: datetime
    content: bytes
    text: str | None
    waybill_id: int | None
    waybill_number: str
    serial: int


# What the gateway publishes is Fix, TerminalEvent, CardReport and WaybillUpload; the resolved
# DriverSignIn / DriverSignOut / WaybillReport are made by the pipeline worker (and were published
# by gateways before it did, so entries of that kind may still be on the bus).
Record = (Fix | TerminalEvent | CardReport | WaybillUpload | DriverSignIn | DriverSignOut
          | WaybillReport)


def make_fix(
    loc: Location,
    *,
    sim: str,
    vehicle_id: int | None,
    plate: str,
    received_at: datetime,
    serial: int,
    table: AlarmCodeTable,
    backfill: bool = False,
    source: int = SOURCE_LOCATION,
) -> Fix:
    """Build a fix from a decoded 0x0200 body. Hot path: parses items only for active safety."""
    status = loc.status
    # Same meaning as Location.position, read from the raw fields with plain int masks: the
    # IntFlag arithmetic behind the properties is a measurable share of the per-frame cost.
    lat: float | None = None
    lon: float | None = None
    if status & _POSITIONED:
        lat = -loc.lat_raw / 1_000_000 if status & _SOUTH else loc.lat_raw / 1_000_000
        lon = -loc.lon_raw / 1_000_000 if status & _WEST else loc.lon_raw / 1_000_000
    safety: tuple[ActiveSafetyAlarm, ...] = ()
    for item_id, _ in loc.items:  # a plain loop: cheaper than any() over a generator
        if item_id in _SAFETY_ITEM_IDS:
            extras = loc.extras(table)
            safety = tuple(ActiveSafetyAlarm.from_codec(a) for a in (*extras.adas, *extras.dsm))
            break
    return Fix(
        sim,
        vehicle_id,
        plate,
        loc.time,
        received_at,
        lat,
        lon,
        loc.speed_raw / 10,
        loc.direction,
        loc.altitude,
        loc.alarm,
        status,
        loc.items,
        safety,
        backfill,
        serial,
        source,
    )


def safety_events(fix: Fix) -> list[TerminalEvent]:
    """One 'safety_alarm' event per active-safety item of a fix."""
    return [
        TerminalEvent(
            fix.sim,
            fix.vehicle_id,
            fix.plate,
            "safety_alarm",
            alarm.time or fix.time,
            fix.received_at,
            alarm.type_name,
            {
                "kind": alarm.kind,
                "alarm_id": alarm.alarm_id,
                "flag": alarm.flag,
                "level": alarm.level,
                "type_code": alarm.type_code,
                "attachments": alarm.attachment_count,
            },
        )
        for alarm in fix.safety_alarms
    ]
