"""Read API of the registry. Every queryset goes through ``visible_to``: out of scope is 404."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets

from fleet import filters
from fleet.api import serializers as out
from fleet.models import (
    BusLine,
    Certificate,
    District,
    Driver,
    DriverVehicleBinding,
    Enterprise,
    RoadSegment,
    Terminal,
    Vehicle,
    Waybill,
    Zone,
)


class ScopedViewSet(viewsets.ReadOnlyModelViewSet):
    model: type
    related: tuple[str, ...] = ()

    def get_queryset(self) -> QuerySet:
        queryset = self.model.objects.visible_to(self.request.user)
        return queryset.select_related(*self.related) if self.related else queryset


class DistrictViewSet(ScopedViewSet):
    model = District
    serializer_class = out.DistrictOut
    ordering = ["code"]


class EnterpriseViewSet(ScopedViewSet):
    model = Enterprise
    related = ("district",)
    serializer_class = out.EnterpriseOut
    filterset_class = filters.EnterpriseFilter
    ordering = ["name"]


class VehicleViewSet(ScopedViewSet):
    model = Vehicle
    related = ("enterprise", "registered_district", "bus_line", "coach_line")
    serializer_class = out.VehicleOut
    filterset_class = filters.VehicleFilter
    ordering_fields = ["plate", "kind"]
    ordering = ["plate"]


class DriverViewSet(ScopedViewSet):
    model = Driver
    serializer_class = out.DriverOut
    filterset_class = filters.DriverFilter
    ordering = ["name", "id"]


class CertificateViewSet(ScopedViewSet):
    model = Certificate
    serializer_class = out.CertificateOut
    filterset_fields = ["kind", "driver"]
    ordering = ["id"]

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().with_state()


class TerminalViewSet(ScopedViewSet):
    model = Terminal
    serializer_class = out.TerminalOut
    filterset_class = filters.TerminalFilter
    ordering = ["sim_number"]


class BindingViewSet(ScopedViewSet):
    model = DriverVehicleBinding
    serializer_class = out.BindingOut
    filterset_fields = ["vehicle", "driver", "source"]
    ordering = ["-valid_from"]


class WaybillViewSet(ScopedViewSet):
    model = Waybill
    serializer_class = out.WaybillOut
    filterset_class = filters.WaybillFilter
    ordering = ["-planned_start"]

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().prefetch_related("goods")


class ZoneViewSet(ScopedViewSet):
    model = Zone
    serializer_class = out.ZoneOut
    filterset_fields = ["kind", "district"]
    ordering = ["id"]


class RoadSegmentViewSet(ScopedViewSet):
    model = RoadSegment
    serializer_class = out.RoadSegmentOut
    filterset_fields = ["road_class"]
    ordering = ["id"]


class BusLineViewSet(ScopedViewSet):
    model = BusLine
    serializer_class = out.BusLineOut
    filterset_fields = ["district", "enterprise"]
    ordering = ["number"]

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().prefetch_related("stops")
