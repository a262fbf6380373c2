"""Database side of the demo city: what counts as "already loaded", wiping, bulk inserting.

The demo city owns the fleet registry and reference geography of the database it is loaded into
(enterprises and everything under them, roads, zones, bus and coach lines); districts are
upserted by the boundary importer and never deleted. A registry that already has rows is never
mixed with demo rows: without ``replace`` the load is a no-op; with it, the rows are deleted
through the ORM, so other apps' CASCADE relations follow and PROTECT relations (a user tied to an
enterprise, a violation tied to a vehicle) stop the replace with a clear error instead of losing
data.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.db.models.deletion import ProtectedError, RestrictedError

from fleet.demo.spec import DISTRICT_CODES
from fleet.models import (
    BusLine,
    BusStop,
    Certificate,
    CoachLine,
    District,
    Driver,
    DriverVehicleBinding,
    Enterprise,
    RoadSegment,
    Terminal,
    Vehicle,
    Waybill,
    WaybillGoods,
    Zone,
)

BATCH_SIZE = 2000
# Children before parents (vehicles point at their bus or coach line).
WIPE_ORDER: tuple[type[models.Model], ...] = (
    WaybillGoods, Waybill, DriverVehicleBinding, Terminal, Certificate, Driver, Vehicle, BusStop,
    BusLine, CoachLine, Zone, RoadSegment, Enterprise,
)


class DemoConflict(RuntimeError):
    """The database holds rows the demo may not delete."""


def existing_data() -> str | None:
    """Why a load without ``replace`` must do nothing, or None when the registry is empty."""
    enterprises = Enterprise.objects.count()
    vehicles = Vehicle.objects.count()
    roads = RoadSegment.objects.count()
    if not (enterprises or vehicles or roads):
        return None
    demo_districts = District.objects.filter(code__in=DISTRICT_CODES,
                                             boundary__isnull=False).count()
    if demo_districts == len(DISTRICT_CODES):
        return (f"demo city already loaded ({enterprises} enterprises, {vehicles} vehicles, "
                f"{roads} road segments); nothing done. Use --replace to load it again.")
    return (f"the registry already holds {enterprises} enterprises and {vehicles} vehicles that "
            f"are not a demo city; nothing done. Use --replace to delete them and load the demo.")


def wipe() -> dict[str, int]:
    """Delete every row the demo city owns; raises DemoConflict when something protects one."""
    deleted: dict[str, int] = {}
    for model in WIPE_ORDER:
        try:
            _, per_model = model.objects.all().delete()
        except (ProtectedError, RestrictedError) as exc:
            blockers = sorted({type(obj)._meta.label for obj in exc.args[1]})
            raise DemoConflict(
                f"cannot delete {model._meta.label}: still referenced by {', '.join(blockers)}; "
                f"delete or reassign those first") from exc
        for label, count in per_model.items():
            deleted[label] = deleted.get(label, 0) + count
    return deleted


def insert(batches: Iterable[tuple[type[models.Model], list[models.Model]]]) -> dict[str, int]:
    """Bulk-insert in order; primary keys come back, so children can point at their parents."""
    counts: dict[str, int] = {}
    for model, rows in batches:
        model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        counts[model._meta.label] = len(rows)
    return counts
