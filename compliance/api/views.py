"""Read API of violations: scoped by ``visible_to`` (out of scope is 404), filtered like the
portal list, and only for users who may view violations."""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import permissions, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.roles import Capability
from compliance import selectors
from compliance.api import serializers as out
from compliance.models import Violation


class CanViewViolations(permissions.BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated
                    and request.user.can(Capability.VIEW_VIOLATIONS))


class ViolationViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [CanViewViolations]
    filterset_class = selectors.ViolationFilter
    ordering_fields = ["started_at", "detected_at", "severity", "rule"]
    ordering = ["-started_at", "-id"]

    def get_queryset(self) -> QuerySet[Violation]:
        if self.action == "retrieve":
            return (Violation.objects.visible_to(self.request.user)
                    .select_related("vehicle", "enterprise", "district", "setting"))
        return selectors.violations(self.request.user)

    def get_serializer_class(self) -> type[out.ViolationOut]:
        return out.ViolationDetailOut if self.action == "retrieve" else out.ViolationOut
