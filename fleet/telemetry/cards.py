"""Card sign-in/out (0x0702) and electronic waybills (0x0701), applied by the pipeline worker.

The gateway publishes what the terminal reported (`CardReport`, `WaybillUpload`) and
acknowledges it like a location report; the worker owning the vehicle applies the reports of a
batch here, inside the batch transaction and before the other stages, and replaces each one by
the resolved record (`DriverSignIn` / `DriverSignOut` / `WaybillReport`) that the event log, the
latest state and the rules consume.

Semantics (as the gateway had them when it applied the reports itself):

- card in: the driver is the one whose certificate number is on the card, else (2019 cards) the
  one whose ID card number is; none when the card could not be read. Whoever was signed in on
  the vehicle (and this driver on another vehicle) before the card time is signed out at it; a
  card binding opens for a known driver. A late, out-of-order card-in ends where the next
  sign-in of the vehicle began. Another driver already signed in at that very second is kept.
- card out: the vehicle's open card binding closes at the card time.
- waybill: linked to the vehicle's open (issued / in transit) registry waybill whose number
  appears in the content, longest number first.
- Idempotent: a report applied again (terminal retransmission, or a batch re-delivered after a
  worker crash before its acknowledgement) changes nothing and resolves to the same binding.

Cost: drivers, vehicle locks and open waybills are one query each per batch; then one statement
per card report (the reports of one vehicle depend on each other, in order).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from fleet.gateway.records import (
    CardReport,
    DriverSignIn,
    DriverSignOut,
    WaybillReport,
    WaybillUpload,
)
from fleet.telemetry.wire import BusRecord

CARD = "card"
OPEN_WAYBILL_STATES = ("issued", "in_transit")  # fleet.models.waybills.WaybillState

# Certificate.objects.filter(number=…).first() ordering: by driver (name, pk), then kind.
_CERTIFICATES = """
SELECT c.number, c.driver_id FROM fleet_certificate c JOIN fleet_driver d ON d.id = c.driver_id
WHERE c.number = ANY(%s) ORDER BY d.name, d.id, c.kind
"""
_ID_CARDS = "SELECT id_number, id FROM fleet_driver WHERE id_number = ANY(%s)"
# Serialises card writes of one vehicle (a shard taken over while its previous owner still
# works on it) so the open-binding checks below cannot both pass. NO KEY UPDATE: foreign-key
# checks of other sessions (KEY SHARE) are not blocked.
_LOCK_VEHICLES = "SELECT id FROM fleet_vehicle WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE"
# Meta ordering of Waybill (-planned_start); the longest number is preferred in Python.
_OPEN_WAYBILLS = """
SELECT vehicle_id, id, number FROM fleet_waybill
WHERE vehicle_id = ANY(%s) AND state = ANY(%s) ORDER BY planned_start DESC
"""

# One card-in of a vehicle. `same`: card bindings of the vehicle opened at this very time. When
# this driver's is among them the report is a repetition (nothing changes, its id is returned);
# when another driver's is, that one is kept. Otherwise the previous bindings (of the vehicle, and
# of this driver elsewhere) close at the card time and, for a known driver, a binding opens,
# ending where the next later sign-in of the vehicle began. Every sub-statement sees the
# snapshot from before the statement, which is what each branch needs.
_CARD_IN = """
WITH same AS (
    SELECT id, driver_id FROM fleet_drivervehiclebinding
    WHERE source = 'card' AND vehicle_id = %(vehicle)s AND valid_from = %(at)s
),
apply AS (SELECT %(driver)s::bigint IS NULL OR NOT EXISTS (SELECT 1 FROM same) AS ok),
closed AS (
    UPDATE fleet_drivervehiclebinding SET valid_to = %(at)s
    WHERE source = 'card' AND valid_to IS NULL AND valid_from < %(at)s
      AND (vehicle_id = %(vehicle)s OR driver_id = %(driver)s::bigint)
      AND (SELECT ok FROM apply)
),
opened AS (
    INSERT INTO fleet_drivervehiclebinding
        (driver_id, vehicle_id, valid_from, valid_to, source, card_certificate_number)
    SELECT %(driver)s::bigint, %(vehicle)s, %(at)s,
        (SELECT min(valid_from) FROM fleet_drivervehiclebinding
         WHERE source = 'card' AND vehicle_id = %(vehicle)s AND valid_from > %(at)s),
        'card', %(certificate)s
    WHERE %(driver)s::bigint IS NOT NULL AND NOT EXISTS (SELECT 1 FROM same)
    RETURNING id
)
SELECT id FROM opened
UNION ALL
SELECT id FROM same WHERE driver_id = %(driver)s::bigint
"""

# One card-out: the vehicle's open card binding(s) before the card time close at it. A repeated
# card-out finds none open and reports the binding it closed the first time.
_CARD_OUT = """
WITH open AS (
    SELECT id, driver_id FROM fleet_drivervehiclebinding
    WHERE source = 'card' AND vehicle_id = %(vehicle)s AND valid_to IS NULL
      AND valid_from < %(at)s
    ORDER BY valid_from DESC LIMIT 1
),
closed AS (
    UPDATE fleet_drivervehiclebinding SET valid_to = %(at)s
    WHERE source = 'card' AND vehicle_id = %(vehicle)s AND valid_to IS NULL
      AND valid_from < %(at)s
)
SELECT id, driver_id FROM open
UNION ALL
(SELECT id, driver_id FROM fleet_drivervehiclebinding
 WHERE source = 'card' AND vehicle_id = %(vehicle)s AND valid_to = %(at)s
   AND NOT EXISTS (SELECT 1 FROM open)
 ORDER BY valid_from DESC LIMIT 1)
"""


def _read_ok(report: CardReport) -> bool:
    return report.card_in and report.read_result == 0


def find_drivers(conn: psycopg.Connection, reports: Sequence[CardReport],
                 ) -> dict[tuple[str, str], int]:
    """(certificate number, ID card number) → driver id, for the readable card-ins: certificate
    number → Certificate.number → driver; else the ID card number → Driver.id_number."""
    numbers = {r.certificate_number for r in reports if r.certificate_number}
    id_cards = {r.id_card_number.upper() for r in reports if r.id_card_number}
    by_certificate: dict[str, int] = {}
    by_id_card: dict[str, int] = {}
    with conn.cursor() as cursor:
        if numbers:
            cursor.execute(_CERTIFICATES, [sorted(numbers)])
            for number, driver_id in cursor.fetchall():
                by_certificate.setdefault(number, driver_id)
        if id_cards:
            cursor.execute(_ID_CARDS, [sorted(id_cards)])
            by_id_card.update(cursor.fetchall())
    found: dict[tuple[str, str], int] = {}
    for r in reports:
        key = (r.certificate_number, r.id_card_number)
        driver_id = by_certificate.get(r.certificate_number) if r.certificate_number else None
        if driver_id is None and r.id_card_number:
            driver_id = by_id_card.get(r.id_card_number.upper())
        if driver_id is not None:
            found[key] = driver_id
    return found


def _card_in(cursor: psycopg.Cursor, report: CardReport, driver_id: int | None) -> DriverSignIn:
    binding_id: int | None = None
    if report.vehicle_id is not None:
        cursor.execute(_CARD_IN, {"vehicle": report.vehicle_id, "at": report.time,
                                  "driver": driver_id,
                                  "certificate": report.certificate_number[:30]})
        row = cursor.fetchone()
        binding_id = row[0] if row is not None else None
    return DriverSignIn(
        report.sim, report.vehicle_id, report.plate, report.time, report.received_at, driver_id,
        report.certificate_number, report.driver_name, report.issuer,
        report.certificate_valid_until,
        report.read_result if report.read_result is not None else 0, binding_id, report.serial)


def _card_out(cursor: psycopg.Cursor, report: CardReport) -> DriverSignOut:
    binding_id: int | None = None
    driver_id: int | None = None
    if report.vehicle_id is not None:
        cursor.execute(_CARD_OUT, {"vehicle": report.vehicle_id, "at": report.time})
        row = cursor.fetchone()
        if row is not None:
            binding_id, driver_id = row
    return DriverSignOut(report.sim, report.vehicle_id, report.plate, report.time,
                         report.received_at, driver_id, binding_id, report.serial)


def _link_waybill(upload: WaybillUpload,
                  open_waybills: dict[int, list[tuple[int, str]]]) -> WaybillReport:
    text = upload.text
    waybill_id: int | None = None
    number = ""
    if upload.vehicle_id is not None and text:
        # Longest number first, so 'YD2024001' never shadows 'YD20240012'.
        for pk, candidate in sorted(open_waybills.get(upload.vehicle_id, ()),
                                    key=lambda r: -len(r[1])):
            if candidate and candidate in text:
                waybill_id, number = pk, candidate
                break
    return WaybillReport(upload.sim, upload.vehicle_id, upload.plate, upload.received_at,
                         upload.content, text, waybill_id, number, upload.serial)


def apply_reports(conn: psycopg.Connection, records: Sequence[BusRecord]) -> list[BusRecord]:
    """Apply the batch's card reports and waybill uploads inside the caller's transaction, in
    batch order; return the records with each of them replaced by its resolved record (every
    other record is returned as it is, in place)."""
    cards = [r for r in records if isinstance(r, CardReport)]
    uploads = [r for r in records if isinstance(r, WaybillUpload)]
    if not cards and not uploads:
        return list(records)
    drivers = find_drivers(conn, [r for r in cards if _read_ok(r)])
    open_waybills: dict[int, list[tuple[int, str]]] = {}
    with conn.cursor() as cursor:
        vehicles = sorted({r.vehicle_id for r in cards if r.vehicle_id is not None})
        if vehicles:
            cursor.execute(_LOCK_VEHICLES, [vehicles])
            cursor.fetchall()
        with_text = sorted({u.vehicle_id for u in uploads if u.vehicle_id is not None and u.text})
        if with_text:
            cursor.execute(_OPEN_WAYBILLS, [with_text, list(OPEN_WAYBILL_STATES)])
            for vehicle_id, pk, number in cursor.fetchall():
                open_waybills.setdefault(vehicle_id, []).append((pk, number))
        out: list[BusRecord] = []
        for record in records:
            if isinstance(record, CardReport):
                if record.card_in:
                    driver_id = (drivers.get((record.certificate_number, record.id_card_number))
                                 if _read_ok(record) else None)
                    out.append(_card_in(cursor, record, driver_id))
                else:
                    out.append(_card_out(cursor, record))
            elif isinstance(record, WaybillUpload):
                out.append(_link_waybill(record, open_waybills))
            else:
                out.append(record)
    return out

