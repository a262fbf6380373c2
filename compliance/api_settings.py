"""Read API of the rule settings in force: ``GET /api/v1/rule-settings/``.

Each row is one current RuleSetting (a scope's override); a scope without a row uses the next
less specific one, then RULES.md's defaults (see compliance.rule_settings). Same gate as the
pages: VIEW_VIOLATIONS or EDIT_RULE_SETTINGS, city-wide rows plus the user's districts.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import generics, permissions, serializers

from accounts.roles import Capability
from compliance import selectors_settings as selectors
from compliance.catalogue import validate_params
from compliance.models import RuleSetting


class CanReadRuleSettings(permissions.BasePermission):
    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated
                    and (user.can(Capability.VIEW_VIOLATIONS)
                         or user.can(Capability.EDIT_RULE_SETTINGS)))


class RuleSettingOut(serializers.ModelSerializer):
    district_code = serializers.CharField(source="district.code", read_only=True, default=None)
    params = serializers.SerializerMethodField()
    created_by = serializers.StringRelatedField()

    class Meta:
        model = RuleSetting
        fields = ["id", "rule", "district", "district_code", "vehicle_kind", "version",
                  "enabled", "params", "auto_confirm", "tts_warning", "note", "created_at",
                  "created_by"]

    def get_params(self, row: RuleSetting) -> dict[str, float | int]:
        # The full set as the engine reads it (defaults for parameters added since the save).
        return validate_params(row.rule, row.params)


class RuleSettingList(generics.ListAPIView):
    """Current rule-setting rows (overrides) visible to the user. Filters: ``rule``,
    ``district`` (id), ``vehicle_kind``."""

    serializer_class = RuleSettingOut
    permission_classes = [CanReadRuleSettings]
    filterset_fields = ["rule", "district", "vehicle_kind"]
    # City-wide rows first, as the selector orders them.
    ordering_fields: list[str] = []

    def get_queryset(self) -> QuerySet[RuleSetting]:
        return selectors.current_rows(self.request.user)
