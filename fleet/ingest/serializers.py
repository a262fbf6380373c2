"""Input serializers of the ingest API: one item each; the view validates items one by one."""

from __future__ import annotations

from rest_framework import serializers

from fleet.validators import normalise_plate


class VehicleRef(serializers.Serializer):
    plate = serializers.CharField(max_length=12)
    plate_colour = serializers.IntegerField(min_value=1, max_value=99)

    def validate_plate(self, value: str) -> str:
        return normalise_plate(value)


class FixIn(VehicleRef):
    time = serializers.DateTimeField()
    lon = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    speed_kmh = serializers.FloatField(min_value=0, max_value=500)
    heading = serializers.IntegerField(min_value=0, max_value=359, default=0)
    altitude = serializers.IntegerField(min_value=-1000, max_value=10000, default=0)
    status = serializers.IntegerField(min_value=0, max_value=0xFFFFFFFF, default=0)
    alarm = serializers.IntegerField(min_value=0, max_value=0xFFFFFFFF, default=0)

    def validate(self, attrs: dict) -> dict:
        if (attrs.get("lon") is None) != (attrs.get("lat") is None):
            raise serializers.ValidationError("lon and lat go together")
        return attrs


class EventIn(VehicleRef):
    time = serializers.DateTimeField()
    kind = serializers.RegexField(r"^[a-z_]{2,30}$")
    code = serializers.CharField(max_length=40, allow_blank=True, default="")
    detail = serializers.DictField(required=False, default=dict)


class MeterTripIn(VehicleRef):
    trip_number = serializers.CharField(max_length=40, allow_blank=True, default="")
    boarded_at = serializers.DateTimeField()
    alighted_at = serializers.DateTimeField()
    board = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2,
                                  required=False, allow_null=True)
    alight = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2,
                                   required=False, allow_null=True)
    distance_km = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0)
    fare_yuan = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0)

    def validate(self, attrs: dict) -> dict:
        if attrs["alighted_at"] < attrs["boarded_at"]:
            raise serializers.ValidationError("alighted_at is before boarded_at")
        return attrs


class OrderIn(VehicleRef):
    order_id = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(choices=["accepted", "started", "finished", "cancelled"])
    time = serializers.DateTimeField()
    driver_id_number = serializers.CharField(max_length=18, allow_blank=True, default="")
    lon = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    lat = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    fare_yuan = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0,
                                         required=False, allow_null=True)

    def validate(self, attrs: dict) -> dict:
        if (attrs.get("lon") is None) != (attrs.get("lat") is None):
            raise serializers.ValidationError("lon and lat go together")
        return attrs


class BatchIn(serializers.Serializer):
    items = serializers.ListField(child=serializers.DictField(), allow_empty=False,
                                  max_length=5000)
