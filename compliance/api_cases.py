"""Case API (``/api/v1/cases/``, ``/api/v1/notifications/``), registered in fleet/api/urls.py.

Reads go through ``compliance.selectors_cases`` (scoped: another district's case is a 404),
writes through ``compliance.services.cases``. Every action answers with the case as it is now,
or with ``{"code": …, "detail": …}``: 404 ``not_found``, 403 ``forbidden``, 409 ``conflict`` /
``invalid_transition``, 400 for the inputs (``reason_required``, ``invalid_result``…).

Case actions accept an optional ``state``: the state the client last showed. When the case has
moved on since, the action is refused with 409 ``conflict`` instead of acting on a stale view.
Unit actions (accept, report, approve, reject) take ``district`` when the user's scope holds more
than one unit of the case.

Evidence: ``GET …/evidence/`` lists the files, ``POST …/evidence/`` (multipart: ``files``
repeatable, ``note``, ``district``) adds them — all or none: 413 ``evidence_too_large``, 415
``evidence_type``, 400 ``evidence_extension`` / ``evidence_empty`` / ``evidence_damaged`` —
and ``GET …/evidence/<id>/`` downloads one (``?inline=1`` photos/PDF, ``?thumb=1`` photos).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.gis.geos import Point
from django.db.models import Model, QuerySet
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import Capability
from compliance import selectors_cases as selectors
from compliance.api_cases_io import (
    AssignmentIn,
    CaseDetailOut,
    CaseOut,
    DispatchIn,
    EvidenceIn,
    EvidenceOut,
    FromViolationIn,
    InboxOut,
    NoteIn,
    NotificationOut,
    OpenIn,
    ReadIn,
    ReasonIn,
    RedispatchIn,
    ReplyIn,
    ReportIn,
    ReturnIn,
    SuperviseIn,
    TimelineEntryOut,
)
from compliance.models import AssignmentState, Case, CaseAssignment, Notification
from compliance.services import cases as services
from compliance.services.cases import CaseError
from compliance.services.cases.core import not_found
from compliance.views.case_files import serve_evidence

STATUS = {CaseError.NOT_FOUND: status.HTTP_404_NOT_FOUND,
          CaseError.FORBIDDEN: status.HTTP_403_FORBIDDEN,
          CaseError.CONFLICT: status.HTTP_409_CONFLICT,
          CaseError.INVALID_TRANSITION: status.HTTP_409_CONFLICT,
          CaseError.EVIDENCE_TOO_LARGE: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
          CaseError.EVIDENCE_TYPE: status.HTTP_415_UNSUPPORTED_MEDIA_TYPE}


class CanViewCases(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated
                    and request.user.can(Capability.VIEW_CASES))


def refused(error: CaseError) -> Response:
    return Response({"code": error.code, "detail": error.message},
                    status=STATUS.get(error.code, status.HTTP_400_BAD_REQUEST))


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cases in the user's scope. Filters: ``q``, ``state`` (repeatable), ``source``,
    ``district``, ``assigned``, ``enterprise``, ``supervised``, ``key_case``, ``overdue``,
    ``open``, ``start``/``end`` (created, dates)."""

    permission_classes = [CanViewCases]
    filterset_class = selectors.CaseFilter
    ordering_fields = ["created_at", "deadline", "number", "occurred_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Case]:
        return selectors.cases(self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return CaseOut if self.action == "list" else CaseDetailOut

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case = selectors.case_detail(request.user, self.kwargs["pk"])
        return Response(CaseDetailOut(case, context={"request": request}).data)

    # --- helpers ----------------------------------------------------------------------------

    def _input(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _case(self, data: dict[str, Any] | None = None) -> Case:
        case = Case.objects.visible_to(self.request.user).filter(pk=self.kwargs["pk"]).first()
        if case is None:
            raise not_found()
        if data and data.get("state"):
            # What the client saw: the service refuses with "conflict" if the case moved on.
            case.state = data["state"]
        return case

    def _assignment(self, case: Case, district: Model | None) -> CaseAssignment:
        queryset = (CaseAssignment.objects.visible_to(self.request.user).filter(case=case)
                    .exclude(state=AssignmentState.WITHDRAWN))
        if district is not None:
            queryset = queryset.filter(district=district)
        rows = list(queryset[:2])
        if not rows:
            raise not_found()
        if len(rows) > 1:
            raise CaseError(CaseError.INVALID_DISTRICTS, _("请指定承办区县"))
        return rows[0]

    def _answer(self, case: Case, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.cases(self.request.user).filter(pk=case.pk).first()
        if fresh is None:  # e.g. re-dispatched out of the actor's scope
            return Response(status=status.HTTP_204_NO_CONTENT)
        fresh = selectors.case_detail(self.request.user, case.pk)
        return Response(CaseDetailOut(fresh, context={"request": self.request}).data,
                        status=code)

    def _run(self, serializer_class: type[serializers.Serializer], step: Any) -> Response:
        try:
            data = self._input(serializer_class)
            return self._answer(step(data))
        except CaseError as error:
            return refused(error)

    # --- creation ---------------------------------------------------------------------------

    @extend_schema(request=OpenIn, responses={201: CaseDetailOut})
    def create(self, request: Request) -> Response:
        """Open a case by hand (complaint, illegal operation, field inspection)."""
        try:
            data = self._input(OpenIn)
            lon, lat = data.pop("lon", None), data.pop("lat", None)
            location = Point(lon, lat, srid=4326) if lon is not None and lat is not None else None
            case = services.open_case(location=location, actor=request.user, **data)
            return self._answer(case, status.HTTP_201_CREATED)
        except CaseError as error:
            return refused(error)

    @extend_schema(request=FromViolationIn, responses={201: CaseDetailOut})
    @action(detail=False, methods=["post"], url_path="from-violation")
    def from_violation(self, request: Request) -> Response:
        """The case of a confirmed violation (the existing one if it has one)."""
        try:
            data = self._input(FromViolationIn)
            case = services.open_case_for_violation(violation=data["violation"],
                                                    actor=request.user)
            return self._answer(case, status.HTTP_201_CREATED)
        except CaseError as error:
            return refused(error)

    # --- the city's steps -------------------------------------------------------------------

    @extend_schema(request=DispatchIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"], url_path="dispatch", url_name="dispatch")
    def dispatch_(self, request: Request, pk: str) -> Response:  # "dispatch" is APIView's
        return self._run(DispatchIn, lambda d: services.dispatch_case(
            case=self._case(d), districts=d["districts"], actor=request.user, note=d["note"]))

    @extend_schema(request=RedispatchIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def redispatch(self, request: Request, pk: str) -> Response:
        return self._run(RedispatchIn, lambda d: services.redispatch_case(
            case=self._case(d), from_district=d["from_district"], to_district=d["to_district"],
            actor=request.user, reason=d["reason"]))

    @extend_schema(request=ReasonIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str) -> Response:
        return self._run(ReasonIn, lambda d: services.dismiss_case(
            case=self._case(d), actor=request.user, reason=d["reason"]))

    @extend_schema(request=NoteIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str) -> Response:
        return self._run(NoteIn, lambda d: services.verify_case(
            case=self._case(d), actor=request.user, note=d["note"]))

    @extend_schema(request=ReturnIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request: Request, pk: str) -> Response:
        return self._run(ReturnIn, lambda d: services.return_case(
            case=self._case(d), actor=request.user, reason=d["reason"],
            districts=d.get("districts") or None))

    @extend_schema(request=NoteIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str) -> Response:
        return self._run(NoteIn, lambda d: services.archive_case(
            case=self._case(d), actor=request.user, note=d["note"]))

    @extend_schema(request=SuperviseIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def supervise(self, request: Request, pk: str) -> Response:
        def step(d: dict[str, Any]) -> Case:
            case = self._case(d)
            hours = d.get("reply_within_hours")
            services.supervise_case(case=case, actor=request.user, reason=d["reason"],
                                    reply_within=dt.timedelta(hours=hours) if hours else None)
            return case
        return self._run(SuperviseIn, step)

    # --- the district's steps ---------------------------------------------------------------

    @extend_schema(request=AssignmentIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        return self._run(AssignmentIn, lambda d: services.accept_assignment(
            assignment=self._assignment(self._case(), d.get("district")), actor=request.user,
            note=d["note"]))

    @extend_schema(request=ReportIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def report(self, request: Request, pk: str) -> Response:
        return self._run(ReportIn, lambda d: services.report_result(
            assignment=self._assignment(self._case(), d.get("district")),
            outcome=d["outcome"], fine_yuan=d.get("fine_yuan"),
            penalty_points=d.get("penalty_points"), note=d["note"], actor=request.user))

    @extend_schema(request=AssignmentIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._run(AssignmentIn, lambda d: services.approve_result(
            assignment=self._assignment(self._case(), d.get("district")), actor=request.user,
            note=d["note"]))

    @extend_schema(request=ReasonIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        return self._run(ReasonIn, lambda d: services.reject_result(
            assignment=self._assignment(self._case(), d.get("district")), actor=request.user,
            reason=d["reason"]))

    @extend_schema(request=ReplyIn, responses=CaseDetailOut)
    @action(detail=True, methods=["post"], url_path="reply-supervision")
    def reply_supervision(self, request: Request, pk: str) -> Response:
        def step(d: dict[str, Any]) -> Case:
            case = self._case()
            supervision = case.supervisions.filter(pk=d["supervision"]).first()
            if supervision is None:
                raise not_found()
            services.reply_supervision(supervision=supervision, actor=request.user,
                                       reply=d["reply"])
            return case
        return self._run(ReplyIn, step)

    # --- reads ------------------------------------------------------------------------------

    @extend_schema(responses=TimelineEntryOut(many=True))
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: str) -> Response:
        """Events and evidence uploads in time order."""
        try:
            case = self._case()
        except CaseError as error:
            return refused(error)
        timeline = selectors.case_timeline(request.user, case)
        return Response(TimelineEntryOut(timeline.entries, many=True).data)

    @extend_schema(methods=["GET"], responses=EvidenceOut(many=True))
    @extend_schema(methods=["POST"], request={"multipart/form-data": EvidenceIn},
                   responses={201: EvidenceOut(many=True)})
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser])
    def evidence(self, request: Request, pk: str) -> Response:
        """The case's evidence files; POST adds files (all or none)."""
        try:
            case = self._case()
            if request.method == "GET":
                rows = case.evidence.select_related("uploaded_by", "assignment__district")
                return Response(EvidenceOut(rows, many=True).data)
            data = self._input(EvidenceIn)
            city = (request.user.can(Capability.VERIFY_CASES)
                    or request.user.can(Capability.SUPERVISE_CASES))
            # The city's files belong to the case unless it names a unit.
            assignment = (self._assignment(case, data.get("district"))
                          if data.get("district") is not None or not city else None)
            with services.evidence_transaction():
                rows = [services.add_evidence(case=case, assignment=assignment, upload=upload,
                                              actor=request.user, note=data["note"])
                        for upload in data["files"]]
            return Response(EvidenceOut(rows, many=True).data, status=status.HTTP_201_CREATED)
        except CaseError as error:
            return refused(error)

    @extend_schema(responses={(200, "*/*"): bytes})
    @action(detail=True, methods=["get"], url_path=r"evidence/(?P<evidence_pk>[0-9]+)",
            url_name="evidence-file")
    def evidence_file(self, request: Request, pk: str, evidence_pk: str) -> HttpResponse:
        """One evidence file, with the type sniffed when it was stored."""
        try:
            evidence = selectors.case_evidence(request.user, int(pk), int(evidence_pk))
        except Http404:
            return refused(not_found())
        return serve_evidence(evidence, actor=request.user,
                              inline=request.query_params.get("inline") == "1",
                              thumbnail=request.query_params.get("thumb") == "1", channel="api")

    @extend_schema(responses=InboxOut)
    @action(detail=False, methods=["get"])
    def inbox(self, request: Request) -> Response:
        """The user's districts' work: new, due soon, overdue, returned, supervised, awaiting
        approval (a case can be in several)."""
        inbox = selectors.district_inbox(request.user)
        return Response(InboxOut(inbox, context={"request": request}).data)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The user's own notifications, newest first (``?unread=1``: unread only)."""

    serializer_class = NotificationOut
    filterset_class = None
    ordering: list[str] = []

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Notification.objects.none()
        unread = self.request.query_params.get("unread") in ("1", "true")
        return selectors.notifications(self.request.user, unread_only=unread)

    @extend_schema(request=ReadIn, responses={200: {"type": "object"}})
    @action(detail=False, methods=["post"])
    def read(self, request: Request) -> Response:
        """Mark notifications read: ``{"ids": [..]}``, or all unread without ``ids``."""
        serializer = ReadIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = serializer.validated_data.get("ids")
        return Response({"marked": services.mark_read(user=request.user, ids=ids)})
