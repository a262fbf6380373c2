"""Output serializers of the read API. Input serializers come with the write endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.roles import Capability
from fleet import validators
from fleet.api.fields import GeometryField
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
    WaybillGoods,
    Zone,
)


class DistrictOut(serializers.ModelSerializer):
    class Meta:
        model = District
        fields = ["id", "code", "name", "parent"]


class EnterpriseOut(serializers.ModelSerializer):
    district_code = serializers.CharField(source="district.code", read_only=True)

    class Meta:
        model = Enterprise
        fields = ["id", "name", "credit_code", "kind", "district", "district_code",
                  "permit_number", "permit_valid_from", "permit_valid_to", "safety_contact",
                  "safety_contact_phone", "address"]


class VehicleOut(serializers.ModelSerializer):
    enterprise_name = serializers.CharField(source="enterprise.name", read_only=True)
    district_code = serializers.CharField(source="registered_district.code", read_only=True)
    # Line numbers are what the bureau's sheets and the terminals' dispatch systems use.
    bus_line_number = serializers.CharField(source="bus_line.number", read_only=True,
                                            allow_null=True)
    coach_line_number = serializers.CharField(source="coach_line.number", read_only=True,
                                              allow_null=True)
    night_ban_exempt = serializers.SerializerMethodField()

    class Meta:
        model = Vehicle
        fields = ["id", "plate", "plate_colour", "kind", "enterprise", "enterprise_name",
                  "registered_district", "district_code", "vin", "seats", "rated_load_kg",
                  "transport_cert_number", "transport_cert_valid_to", "hazmat_goods_classes",
                  "tank_capacity_m3", "ride_hailing_permit_number",
                  "ride_hailing_permit_valid_to", "status", "bus_line", "bus_line_number",
                  "coach_line", "coach_line_number", "night_ban_exempt"]

    def get_night_ban_exempt(self, vehicle: Vehicle) -> bool:
        """Whether the vehicle may drive between 02:00 and 05:00: only a coach whose line is
        exempt may (a coach without a line is not exempt; RULES.md §2a night_ban)."""
        line = vehicle.coach_line
        return bool(line is not None and line.night_ban_exempt)


class PersonalDataMixin:
    """Masks ID and phone numbers for callers without the personal-data capability."""

    def masked(self, value: str, mask: Any) -> str:
        request = self.context.get("request")  # type: ignore[attr-defined]
        if request is not None and request.user.can(Capability.VIEW_PERSONAL_DATA):
            return value
        return mask(value) if value else value


class DriverOut(PersonalDataMixin, serializers.ModelSerializer):
    id_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()

    class Meta:
        model = Driver
        fields = ["id", "name", "id_number", "phone", "enterprise"]

    def get_id_number(self, driver: Driver) -> str:
        return self.masked(driver.id_number, validators.mask_id_number)

    def get_phone(self, driver: Driver) -> str:
        return self.masked(driver.phone, validators.mask_phone)


class CertificateOut(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)

    class Meta:
        model = Certificate
        fields = ["id", "driver", "kind", "number", "issuer", "valid_from", "valid_to", "state"]


class TerminalOut(serializers.ModelSerializer):
    class Meta:
        model = Terminal
        # The auth code is a credential: never served by the API.
        fields = ["id", "sim_number", "maker", "model", "device_id", "protocol_edition",
                  "alarm_standard", "vehicle", "active"]


class BindingOut(serializers.ModelSerializer):
    class Meta:
        model = DriverVehicleBinding
        fields = ["id", "driver", "vehicle", "valid_from", "valid_to", "source"]


class WaybillGoodsOut(serializers.ModelSerializer):
    class Meta:
        model = WaybillGoods
        fields = ["un_number", "name", "hazard_class", "packing_group", "quantity", "unit"]


class WaybillOut(serializers.ModelSerializer):
    goods = WaybillGoodsOut(many=True, read_only=True)
    planned_route = GeometryField(read_only=True)

    class Meta:
        model = Waybill
        fields = ["id", "number", "vehicle", "trailer_plate", "driver", "escort", "shipper",
                  "consignee", "origin_name", "destination_name", "planned_route",
                  "planned_start", "planned_end", "state", "goods"]


class ZoneOut(serializers.ModelSerializer):
    geometry = GeometryField(read_only=True)

    class Meta:
        model = Zone
        fields = ["id", "name", "kind", "district", "time_windows", "speed_limit_kmh", "active",
                  "geometry"]


class RoadSegmentOut(serializers.ModelSerializer):
    geometry = GeometryField(read_only=True)

    class Meta:
        model = RoadSegment
        fields = ["id", "name", "road_class", "speed_limit_kmh", "geometry"]


class BusLineOut(serializers.ModelSerializer):
    route = GeometryField(read_only=True)
    stops = serializers.SerializerMethodField()

    class Meta:
        model = BusLine
        fields = ["id", "number", "name", "enterprise", "district", "route", "stops"]

    def get_stops(self, line: BusLine) -> list[dict[str, Any]]:
        return [{"sequence": s.sequence, "name": s.name, "lon": s.location.x,
                 "lat": s.location.y, "radius_m": s.radius_m} for s in line.stops.all()]
