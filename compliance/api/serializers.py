"""Output serializers of the violations API."""

from __future__ import annotations

from rest_framework import serializers

from compliance.models import Violation
from fleet.api.fields import GeometryField


class ViolationOut(serializers.ModelSerializer):
    rule_label = serializers.CharField(source="get_rule_display", read_only=True)
    plate = serializers.CharField(source="vehicle.plate", read_only=True)
    enterprise_name = serializers.CharField(source="enterprise.name", read_only=True)
    district_code = serializers.CharField(source="district.code", read_only=True)
    duration_s = serializers.FloatField(read_only=True, allow_null=True)
    location = GeometryField(read_only=True)

    class Meta:
        model = Violation
        fields = ["id", "rule", "rule_label", "severity", "vehicle", "plate", "vehicle_kind",
                  "driver", "enterprise", "enterprise_name", "district", "district_code",
                  "started_at", "ended_at", "duration_s", "location", "review_status",
                  "reviewed_at", "auto_confirmed", "detected_at"]


class ViolationDetailOut(ViolationOut):
    """One violation with its evidence: measured values, thresholds, the setting version it was
    judged by (null: the built-in defaults), the track segment and the terminal events."""

    setting_version = serializers.IntegerField(source="setting.version", read_only=True,
                                               allow_null=True)
    track = GeometryField(read_only=True)

    class Meta(ViolationOut.Meta):
        fields = [*ViolationOut.Meta.fields, "episode_key", "measured", "thresholds", "setting",
                  "setting_version", "track", "evidence", "review_note"]
