"""Database effects of terminal reports that touch the registry: IC-card sign-in/out (0x0702)
and electronic waybills (0x0701).

These are synchronous ORM functions, run in the gateway's DB thread (`DbWorker`), each in one
transaction and idempotent: a terminal that repeats a report it saw no acknowledgement for
changes nothing the second time. The pipeline issue will move them behind the sink (the gateway
then only publishes `DriverSignIn`/`DriverSignOut`/`WaybillReport` and the pipeline worker owning
the vehicle applies them), which also removes the gateway's last database writes.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from fleet.gateway.directory import TerminalInfo
from fleet.gateway.records import DriverSignIn, DriverSignOut, WaybillReport
from fleet.jt808 import DriverIdentity
from fleet.jt808 import Waybill as WaybillBody

CARD = "card"


def _find_driver(identity: DriverIdentity) -> int | None:
    """Certificate number on the card → Certificate.number → driver; else the ID card
    number (2019 cards) → Driver.id_number."""
    from fleet.models import Certificate, Driver

    number = identity.certificate.strip()
    if number:
        driver_id = (
            Certificate.objects.filter(number=number).values_list("driver_id", flat=True).first()
        )
        if driver_id is not None:
            return driver_id
    id_card = (identity.id_card or "").strip().upper()
    if id_card:
        return Driver.objects.filter(id_number=id_card).values_list("pk", flat=True).first()
    return None


def _lock_vehicle(vehicle_id: int) -> None:
    # Serialises card events of one vehicle (two gateway processes, or a retransmission racing
    # the original) so the open-binding checks below cannot both pass.
    from fleet.models import Vehicle

    Vehicle.objects.select_for_update().filter(pk=vehicle_id).values_list("pk").first()


def card_in(
    *, terminal: TerminalInfo, identity: DriverIdentity, received_at: datetime, serial: int
) -> DriverSignIn:
    """Open a card binding for the driver on the card, closing the vehicle's previous one."""
    from fleet.models import DriverVehicleBinding

    at = identity.time
    read_ok = identity.read_result == 0
    binding_id: int | None = None
    with transaction.atomic():
        driver_id = _find_driver(identity) if read_ok else None
        vehicle_id = terminal.vehicle_id
        if vehicle_id is not None:
            _lock_vehicle(vehicle_id)
            cards = DriverVehicleBinding.objects.filter(source=CARD)
            same = cards.filter(vehicle_id=vehicle_id, valid_from=at)
            existing = same.filter(driver_id=driver_id).first() if driver_id else None
            if existing is not None:
                binding_id = existing.pk  # a repeated report: nothing to do
            elif driver_id is not None and same.exists():
                binding_id = None  # another driver signed in at the same second: keep that one
            else:
                # Whoever was signed in on this vehicle (or this driver on another vehicle)
                # before `at` is signed out by this card-in.
                previous = Q(vehicle_id=vehicle_id)
                if driver_id is not None:
                    previous |= Q(driver_id=driver_id)
                cards.filter(previous, valid_to__isnull=True, valid_from__lt=at).update(
                    valid_to=at
                )
                if driver_id is not None:
                    # A late, out-of-order card-in ends where the next sign-in began.
                    later = (
                        cards.filter(vehicle_id=vehicle_id, valid_from__gt=at)
                        .order_by("valid_from")
                        .values_list("valid_from", flat=True)
                        .first()
                    )
                    binding_id = DriverVehicleBinding.objects.create(
                        driver_id=driver_id,
                        vehicle_id=vehicle_id,
                        valid_from=at,
                        valid_to=later,
                        source=CARD,
                        card_certificate_number=identity.certificate.strip()[:30],
                    ).pk
    return DriverSignIn(
        terminal.sim,
        terminal.vehicle_id,
        terminal.plate,
        at,
        received_at,
        driver_id,
        identity.certificate.strip(),
        identity.name.strip(),
        identity.issuer.strip(),
        identity.valid_until,
        identity.read_result if identity.read_result is not None else 0,
        binding_id,
        serial,
    )


def card_out(
    *, terminal: TerminalInfo, identity: DriverIdentity, received_at: datetime, serial: int
) -> DriverSignOut:
    """Close the vehicle's open card binding at the card-out time."""
    from fleet.models import DriverVehicleBinding

    at = identity.time
    binding_id: int | None = None
    driver_id: int | None = None
    vehicle_id = terminal.vehicle_id
    if vehicle_id is not None:
        with transaction.atomic():
            _lock_vehicle(vehicle_id)
            cards = DriverVehicleBinding.objects.filter(source=CARD, vehicle_id=vehicle_id)
            row = (
                cards.filter(valid_to__isnull=True, valid_from__lt=at)
                .order_by("-valid_from")
                .values_list("pk", "driver_id")
                .first()
            )
            if row is not None:
                cards.filter(valid_to__isnull=True, valid_from__lt=at).update(valid_to=at)
            else:
                # Repeated card-out: report the binding it closed the first time.
                row = cards.filter(valid_to=at).values_list("pk", "driver_id").first()
            if row is not None:
                binding_id, driver_id = row
    return DriverSignOut(
        terminal.sim, vehicle_id, terminal.plate, at, received_at, driver_id, binding_id, serial
    )


def link_waybill(
    *, terminal: TerminalInfo, body: WaybillBody, received_at: datetime, serial: int
) -> WaybillReport:
    """Find the vehicle's open waybill whose number appears in the reported content."""
    from fleet.models import Waybill
    from fleet.models.waybills import WaybillState

    text = body.text
    waybill_id: int | None = None
    number = ""
    if terminal.vehicle_id is not None and text:
        candidates = Waybill.objects.filter(
            vehicle_id=terminal.vehicle_id,
            state__in=[WaybillState.ISSUED, WaybillState.IN_TRANSIT],
        ).values_list("pk", "number")
        # Longest number first, so 'YD2024001' never shadows 'YD20240012'.
        for pk, candidate in sorted(candidates, key=lambda r: -len(r[1])):
            if candidate and candidate in text:
                waybill_id, number = pk, candidate
                break
    return WaybillReport(
        terminal.sim,
        terminal.vehicle_id,
        terminal.plate,
        received_at,
        bytes(body.content),
        text,
        waybill_id,
        number,
        serial,
    )
