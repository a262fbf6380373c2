from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

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


@admin.register(District)
class DistrictAdmin(GISModelAdmin):
    list_display = ("code", "name", "parent")
    search_fields = ("code", "name")


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ("name", "credit_code", "kind", "district", "permit_valid_to")
    list_filter = ("kind", "district")
    search_fields = ("name", "credit_code")


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ("plate", "plate_colour", "kind", "enterprise", "registered_district", "status")
    list_filter = ("kind", "status", "registered_district")
    search_fields = ("plate", "vin")
    raw_id_fields = ("enterprise",)
    autocomplete_fields = ("bus_line", "coach_line")


class CertificateInline(admin.TabularInline):
    model = Certificate
    extra = 0


@admin.register(Driver)
class DriverAdmin(admin.ModelAdmin):
    list_display = ("name", "enterprise")
    search_fields = ("name", "id_number")
    raw_id_fields = ("enterprise",)
    inlines = [CertificateInline]


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    list_display = ("sim_number", "vehicle", "protocol_edition", "alarm_standard", "active")
    list_filter = ("protocol_edition", "alarm_standard", "active")
    search_fields = ("sim_number", "vehicle__plate")
    raw_id_fields = ("vehicle",)


@admin.register(DriverVehicleBinding)
class BindingAdmin(admin.ModelAdmin):
    list_display = ("driver", "vehicle", "valid_from", "valid_to", "source")
    list_filter = ("source",)
    raw_id_fields = ("driver", "vehicle")


@admin.register(Zone)
class ZoneAdmin(GISModelAdmin):
    list_display = ("name", "kind", "district", "speed_limit_kmh", "active")
    list_filter = ("kind", "district", "active")


@admin.register(RoadSegment)
class RoadSegmentAdmin(GISModelAdmin):
    list_display = ("name", "road_class", "speed_limit_kmh")
    list_filter = ("road_class",)


class BusStopInline(admin.TabularInline):
    model = BusStop
    extra = 0


@admin.register(BusLine)
class BusLineAdmin(GISModelAdmin):
    list_display = ("number", "name", "enterprise", "district")
    search_fields = ("number", "name")
    inlines = [BusStopInline]


@admin.register(CoachLine)
class CoachLineAdmin(GISModelAdmin):
    list_display = ("number", "name", "service_type", "one_way_km", "enterprise", "district",
                    "night_ban_exempt")
    list_filter = ("service_type", "night_ban_exempt", "district")
    search_fields = ("number", "name")
    raw_id_fields = ("enterprise",)


class GoodsInline(admin.TabularInline):
    model = WaybillGoods
    extra = 0


@admin.register(Waybill)
class WaybillAdmin(GISModelAdmin):
    list_display = ("number", "vehicle", "state", "planned_start", "escort")
    list_filter = ("state",)
    search_fields = ("number", "vehicle__plate")
    raw_id_fields = ("vehicle", "driver", "escort")
    inlines = [GoodsInline]
