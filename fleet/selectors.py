"""Reads of the registry, always scoped by the requesting user."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from fleet.models import (
    Certificate,
    District,
    Driver,
    DriverVehicleBinding,
    Enterprise,
    RoadSegment,
    Terminal,
    Vehicle,
    VehicleState,
    Waybill,
    Zone,
)
from fleet.models.registry import CertificateState, VehicleKind

if TYPE_CHECKING:
    from accounts.models import User


def vehicles(user: User) -> QuerySet[Vehicle]:
    return Vehicle.objects.visible_to(user).select_related("enterprise", "registered_district")


def enterprises(user: User) -> QuerySet[Enterprise]:
    return (Enterprise.objects.visible_to(user).select_related("district")
            .annotate(vehicle_count=Count("vehicles", distinct=True)).order_by("name", "pk"))


def drivers(user: User) -> QuerySet[Driver]:
    return Driver.objects.visible_to(user).select_related("enterprise")


def terminals(user: User) -> QuerySet[Terminal]:
    return Terminal.objects.visible_to(user).select_related("vehicle")


def waybills(user: User) -> QuerySet[Waybill]:
    return Waybill.objects.visible_to(user).select_related("vehicle", "driver", "escort")


def districts(user: User) -> QuerySet[District]:
    return District.objects.visible_to(user).filter(boundary__isnull=False)


def all_district_outlines() -> QuerySet[District]:
    """District outlines for map context. Boundaries are public reference geography, so every
    user sees all of them; what a district *owns* stays behind ``visible_to``."""
    return District.objects.filter(boundary__isnull=False, children__isnull=True).order_by("code")


def vehicle_detail(user: User, pk: int) -> dict[str, Any]:
    vehicle = get_object_or_404(vehicles(user), pk=pk)
    now = timezone.now()
    track_end = _track_end(vehicle, now)
    bindings = (DriverVehicleBinding.objects.filter(vehicle=vehicle).select_related("driver")
                .order_by("-valid_from")[:20])
    driver_ids = [b.driver_id for b in bindings]
    certificates = (Certificate.objects.with_state().filter(driver_id__in=driver_ids)
                    .select_related("driver").order_by("driver__name", "kind"))
    return {
        "vehicle": vehicle,
        "terminal": vehicle.terminals.filter(active=True).first(),
        "bindings": bindings,
        "current_driver_ids": {b.driver_id for b in bindings
                               if b.valid_from <= now and (b.valid_to is None or b.valid_to > now)},
        "certificates": certificates,
        "waybills": vehicle.waybills.order_by("-planned_start")[:10],
        "track_end": track_end,
        "track_start": track_end - dt.timedelta(hours=2),
    }


def _track_end(vehicle: Vehicle, now: dt.datetime) -> dt.datetime:
    """Playback opens on the two hours up to the vehicle's last report (or now)."""
    state = VehicleState.objects.filter(vehicle=vehicle).only("fix_time").first()
    return state.fix_time + dt.timedelta(minutes=1) if state else now


def enterprise_detail(user: User, pk: int) -> dict[str, Any]:
    enterprise = get_object_or_404(enterprises(user), pk=pk)
    by_kind = dict(enterprise.vehicles.values_list("kind").annotate(n=Count("pk")))
    return {
        "enterprise": enterprise,
        "vehicles_by_kind": [(label, by_kind.get(value, 0)) for value, label in VehicleKind.choices
                             if by_kind.get(value)],
        "driver_count": enterprise.drivers.count(),
    }


def driver_detail(user: User, pk: int) -> dict[str, Any]:
    driver = get_object_or_404(drivers(user), pk=pk)
    return {
        "driver": driver,
        "certificates": Certificate.objects.with_state().filter(driver=driver),
        "bindings": driver.bindings.select_related("vehicle").order_by("-valid_from")[:20],
    }


def waybill_detail(user: User, pk: int) -> dict[str, Any]:
    waybill = get_object_or_404(waybills(user).prefetch_related("goods"), pk=pk)
    return {"waybill": waybill}


def registry_overview(user: User) -> dict[str, Any]:
    """The figures on the home page, for the user's scope."""
    visible = Vehicle.objects.visible_to(user)
    by_kind = dict(visible.values_list("kind").annotate(n=Count("pk")))
    today = timezone.localdate()
    certificates = Certificate.objects.visible_to(user).with_state(today)
    by_state = dict(certificates.values_list("state").annotate(n=Count("pk")))
    expiring = certificates.filter(state=CertificateState.VALID,
                                   valid_to__lte=today + dt.timedelta(days=30)).count()
    return {
        "vehicle_total": sum(by_kind.values()),
        "vehicles_by_kind": [(value, label, by_kind.get(value, 0))
                             for value, label in VehicleKind.choices],
        "enterprise_total": Enterprise.objects.visible_to(user).count(),
        "driver_total": Driver.objects.visible_to(user).count(),
        "certificates_expired": by_state.get(CertificateState.EXPIRED, 0),
        "certificates_void": by_state.get(CertificateState.VOID, 0),
        "certificates_expiring": expiring,
        "districts": districts(user),
    }


def road_network(user: User) -> QuerySet[RoadSegment]:
    return RoadSegment.objects.visible_to(user)


def zones(user: User) -> QuerySet[Zone]:
    return Zone.objects.visible_to(user).filter(active=True)
