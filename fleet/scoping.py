"""The one gate for access: ``Model.objects.visible_to(user)``.

Bureau staff see everything, district staff the objects of their districts, enterprise officers the
objects of their enterprise. Each queryset names the lookup from the model to its owning district
and to its owning enterprise; everything else derives from that, so a new model cannot forget a
case. Objects outside the scope are simply absent, so views turn them into 404s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Self

from django.contrib.gis.db.models import QuerySet
from django.db.models import Q

if TYPE_CHECKING:
    from accounts.models import User


class ScopedQuerySet(QuerySet):
    # Lookup from this model to District (``None``: not district-owned) and to Enterprise.
    district_lookup: ClassVar[str | None] = None
    enterprise_lookup: ClassVar[str | None] = None
    # Reference data every signed-in user may read (roads, city-wide zones).
    public_filter: ClassVar[Q | None] = None

    def visible_to(self, user: User | None) -> Self:
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        scope = user.scope
        if scope.everything:
            return self.all()
        condition = Q(pk__in=[])
        if self.public_filter is not None:
            condition |= self.public_filter
        if scope.district_ids and self.district_lookup is not None:
            condition |= Q(**{f"{self.district_lookup}__in": scope.district_ids})
        if scope.enterprise_id is not None and self.enterprise_lookup is not None:
            condition |= Q(**{self.enterprise_lookup: scope.enterprise_id})
        return self.filter(condition)


class VehicleOwnedQuerySet(ScopedQuerySet):
    """Rows that belong to one vehicle: visible where the vehicle is."""

    district_lookup = "vehicle__registered_district"
    enterprise_lookup = "vehicle__enterprise"
