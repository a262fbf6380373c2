"""Input and output serializers of the case API (compliance/api_cases.py).

Inputs name registry objects by id through ``ScopedPK``: an id outside the user's scope is
"not found", exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.urls import reverse
from rest_framework import serializers

from compliance.models import (
    Case,
    CaseAssignment,
    CaseEvidence,
    CaseSource,
    CaseState,
    Notification,
    Outcome,
    Supervision,
    Violation,
)
from fleet.api.fields import GeometryField
from fleet.models import District, Driver, Enterprise, Vehicle


class ScopedPK(serializers.PrimaryKeyRelatedField):
    """A primary key resolved among the objects the requesting user may see."""

    def __init__(self, model: type[Model], **kwargs: Any) -> None:
        self.model = model
        # The unscoped queryset only tells the schema generator the model; lookups use the
        # scoped one below.
        super().__init__(queryset=model._default_manager.all(), **kwargs)

    def get_queryset(self) -> QuerySet:
        request = self.context.get("request")
        return self.model.objects.visible_to(getattr(request, "user", None))  # type: ignore[attr-defined]


# --- inputs ---------------------------------------------------------------------------------


class SeenIn(serializers.Serializer):
    state = serializers.ChoiceField(choices=CaseState.choices, required=False,
                                    help_text="the case state the client last showed")


class NoteIn(SeenIn):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReasonIn(SeenIn):
    # Blank is accepted here so the service answers with its own code (reason_required).
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   max_length=2000)


class DispatchIn(NoteIn):
    districts = ScopedPK(District, many=True)


class RedispatchIn(ReasonIn):
    from_district = ScopedPK(District)
    to_district = ScopedPK(District)


class ReturnIn(ReasonIn):
    districts = ScopedPK(District, many=True, required=False)


class SuperviseIn(ReasonIn):
    reply_within_hours = serializers.IntegerField(required=False, min_value=1, max_value=720)


class AssignmentIn(serializers.Serializer):
    district = ScopedPK(District, required=False)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReportIn(AssignmentIn):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    fine_yuan = serializers.DecimalField(max_digits=10, decimal_places=2, required=False,
                                         allow_null=True)
    penalty_points = serializers.IntegerField(required=False, allow_null=True)


class EvidenceIn(serializers.Serializer):
    # Empty files pass here so the service answers with its own code (evidence_empty).
    files = serializers.ListField(child=serializers.FileField(allow_empty_file=True),
                                  allow_empty=False, help_text="repeatable multipart field")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    district = ScopedPK(District, required=False,
                        help_text="the unit the files belong to (a district user on two units)")


class ReplyIn(serializers.Serializer):
    supervision = serializers.IntegerField()
    reply = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class OpenIn(serializers.Serializer):
    # "violation" is refused by the service (such cases come from /cases/from-violation/).
    source = serializers.ChoiceField(choices=CaseSource.choices)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    district = ScopedPK(District, required=False, allow_null=True, default=None)
    vehicle = ScopedPK(Vehicle, required=False, allow_null=True, default=None)
    driver = ScopedPK(Driver, required=False, allow_null=True, default=None)
    enterprise = ScopedPK(Enterprise, required=False, allow_null=True, default=None)
    plate_text = serializers.CharField(required=False, allow_blank=True, default="",
                                       max_length=10)
    lon = serializers.FloatField(required=False, min_value=73.0, max_value=136.0)
    lat = serializers.FloatField(required=False, min_value=3.0, max_value=54.0)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    complaint_ref = serializers.CharField(required=False, allow_blank=True, default="",
                                          max_length=40)
    key_case = serializers.BooleanField(required=False, default=False)


class FromViolationIn(serializers.Serializer):
    violation = ScopedPK(Violation)


class ReadIn(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False)


# --- outputs --------------------------------------------------------------------------------


class AssignmentOut(serializers.ModelSerializer):
    district_name = serializers.CharField(source="district.name", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    outcome_label = serializers.CharField(source="get_outcome_display", read_only=True)
    accepted_by = serializers.StringRelatedField()
    handled_by = serializers.StringRelatedField()
    approved_by = serializers.StringRelatedField()

    class Meta:
        model = CaseAssignment
        fields = ["id", "district", "district_name", "state", "state_label", "dispatched_at",
                  "deadline", "accepted_at", "accepted_by", "outcome", "outcome_label",
                  "fine_yuan", "penalty_points", "result_note", "handled_at", "handled_by",
                  "approved_by"]


class SupervisionOut(serializers.ModelSerializer):
    raised_by = serializers.StringRelatedField()
    replied_by = serializers.StringRelatedField()
    automatic = serializers.SerializerMethodField()
    units = serializers.PrimaryKeyRelatedField(many=True, read_only=True,
                                               help_text="districts the notice is addressed to")

    class Meta:
        model = Supervision
        fields = ["id", "raised_at", "raised_by", "automatic", "units", "reason",
                  "reply_deadline", "replied_at", "replied_by", "reply"]

    def get_automatic(self, supervision: Supervision) -> bool:
        return supervision.raised_by_id is None


class CaseOut(serializers.ModelSerializer):
    source_label = serializers.CharField(source="get_source_display", read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    district_name = serializers.CharField(source="district.name", read_only=True)
    plate = serializers.SerializerMethodField()
    enterprise_name = serializers.CharField(source="enterprise.name", read_only=True,
                                            default=None)
    overdue = serializers.BooleanField(read_only=True, default=False)
    open_supervision = serializers.BooleanField(read_only=True, default=False)

    class Meta:
        model = Case
        fields = ["id", "number", "source", "source_label", "state", "state_label", "title",
                  "district", "district_name", "vehicle", "plate", "enterprise",
                  "enterprise_name", "occurred_at", "deadline", "overdue", "supervised",
                  "open_supervision", "key_case", "created_at", "closed_at"]

    def get_plate(self, case: Case) -> str:
        return case.vehicle.plate if case.vehicle_id else case.plate_text


class CaseDetailOut(CaseOut):
    location = GeometryField(read_only=True)
    created_by = serializers.StringRelatedField()
    assignments = AssignmentOut(many=True, read_only=True)
    supervisions = SupervisionOut(many=True, read_only=True)

    class Meta(CaseOut.Meta):
        fields = [*CaseOut.Meta.fields, "description", "violation", "complaint_ref", "driver",
                  "plate_text", "location", "created_by", "assignments", "supervisions"]


class EvidenceOut(serializers.ModelSerializer):
    uploaded_by = serializers.StringRelatedField()
    district = serializers.IntegerField(source="assignment.district_id", default=None,
                                        read_only=True)
    district_name = serializers.CharField(source="assignment.district.name", default=None,
                                          read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = CaseEvidence
        fields = ["id", "original_name", "content_type", "size", "sha256", "uploaded_by",
                  "uploaded_at", "district", "district_name", "url"]

    def get_url(self, evidence: CaseEvidence) -> str:
        return reverse("case-evidence-file", kwargs={"pk": evidence.case_id,
                                                     "evidence_pk": evidence.pk})


class TimelineEntryOut(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    action = serializers.CharField()
    label = serializers.CharField()
    actor = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    district = serializers.CharField()
    note = serializers.CharField()
    detail = serializers.JSONField()


class InboxRowOut(serializers.Serializer):
    case = CaseOut()
    assignment = AssignmentOut()
    overdue = serializers.BooleanField()
    due_soon = serializers.BooleanField()
    supervised = serializers.BooleanField()


class InboxOut(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField())
    new = InboxRowOut(many=True)
    due_soon = InboxRowOut(many=True)
    overdue = InboxRowOut(many=True)
    returned = InboxRowOut(many=True)
    supervised = InboxRowOut(many=True)
    awaiting_approval = InboxRowOut(many=True)


class NotificationOut(serializers.ModelSerializer):
    case_number = serializers.CharField(source="case.number", read_only=True, default=None)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "url", "case", "case_number", "created_at", "read_at"]
