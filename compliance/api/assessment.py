"""Read API of the monthly assessments: ``GET /api/v1/assessments/?month=2026-10&unit=district``
(list, by rank) and ``GET /api/v1/assessments/<id>/``. Scoped by ``visible_to`` through the
assessment selectors (out of scope is a 404), for users who may view violations."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView

from compliance.assessment import selectors
from compliance.models import MonthlyAssessment

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class CanViewAssessments(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return selectors.may_view(request.user)


class KpiOut(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    score = serializers.FloatField()


class AssessmentOut(serializers.ModelSerializer):
    month = serializers.DateField(format="%Y-%m")
    unit_id = serializers.SerializerMethodField()
    unit_name = serializers.SerializerMethodField()
    district_name = serializers.CharField(source="district.name")
    kpis = serializers.DictField(child=KpiOut())
    risk_grade = serializers.SerializerMethodField()
    cases = serializers.SerializerMethodField()

    class Meta:
        model = MonthlyAssessment
        fields = ["id", "month", "unit_type", "unit_id", "unit_name", "district_id",
                  "district_name", "total", "rank", "kpis", "risk_grade", "cases",
                  "computed_at"]
        read_only_fields = fields

    def get_unit_id(self, row: MonthlyAssessment) -> int:
        return selectors.unit_id_of(row)

    def get_unit_name(self, row: MonthlyAssessment) -> str:
        return selectors.unit_name_of(row)

    def get_risk_grade(self, row: MonthlyAssessment) -> str | None:
        return row.risk_grade or None

    def get_cases(self, row: MonthlyAssessment) -> dict[str, Any] | None:
        """The district's case-handling KPIs (None for enterprises)."""
        return row.figures.get("cases")


class AssessmentViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [CanViewAssessments]
    serializer_class = AssessmentOut
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[MonthlyAssessment]:
        rows = selectors.assessments(self.request.user)
        if self.action != "list":
            return rows
        params = self.request.query_params
        unit = params.get("unit")
        if unit is not None and unit not in selectors.UNITS:
            raise ValidationError({"unit": "district | enterprise"})
        month = params.get("month")
        if month is not None:
            if not _MONTH.match(month):
                raise ValidationError({"month": "YYYY-MM"})
            rows = rows.filter(month=f"{month}-01")
        if unit is not None:
            rows = rows.filter(unit_type=unit)
        return rows.order_by("-month", "unit_type", "rank", "pk")
