"""Reads of the case workflow, always scoped by the requesting user (``visible_to``) and only for
users who may view cases: anything else reads as empty, so views turn it into a 404.

- ``cases(user)``: the city's (or a district's) list, with ``overdue`` and ``open_supervision``
  annotations; filter it with ``CaseFilter``.
- ``district_inbox(user)``: the district's work: new, due soon (< 24 h), overdue, returned,
  supervised, awaiting the leader — one query whatever the number of cases. Due soon and overdue
  go by each unit's own deadline (``CaseAssignment.deadline``): the two units of a double
  dispatch run separate clocks, one can be late while the other is not.
- ``case_detail(user, pk)`` and ``case_timeline(user, case)``: a case page;
  ``case_evidence(user, case_pk, pk)``: one of its files, through the same scope.
- ``counts_by_district(user)``: open / overdue / supervised per district (dashboard).
- ``notifications(user)``: the portal's bell.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Now
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Capability
from compliance.models import (
    AssignmentState,
    Case,
    CaseAssignment,
    CaseEvidence,
    CaseSource,
    CaseState,
    Notification,
    Supervision,
)
from compliance.models.cases import OPEN_STATES
from compliance.services.cases.core import DISTRICT_STAGES, PENDING_ASSIGNMENT
from fleet.filters import _scoped, _search
from fleet.models import District, Enterprise

if TYPE_CHECKING:
    from accounts.models import User

DUE_SOON = dt.timedelta(hours=24)
_DATE = forms.DateInput(attrs={"type": "date"})

ACTION_LABELS: dict[str, Any] = {
    "open": _("立案"),
    "dispatch": _("派发"),
    "redispatch": _("改派"),
    "accept": _("签收"),
    "report": _("反馈办理结果"),
    "approve": _("领导审批通过"),
    "reject": _("领导审批退回"),
    "verify": _("核查通过"),
    "return": _("核查退回"),
    "archive": _("归档"),
    "dismiss": _("不予立案"),
    "supervise": _("督办"),
    "supervision_reply": _("督办回复"),
    "evidence_added": _("上传证据"),
}


def _may_view(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.can(Capability.VIEW_CASES))


def _open_supervision() -> Exists:
    return Exists(Supervision.objects.filter(case=OuterRef("pk"), replied_at__isnull=True))


def cases(user: User, *, now: dt.datetime | None = None) -> QuerySet[Case]:
    """Cases in the user's scope with what a list row shows. ``overdue``: open and past the
    current stage's deadline (``now`` for a controlled clock, else the database's)."""
    if not _may_view(user):
        return Case.objects.none()
    moment = Value(now) if now is not None else Now()
    return (Case.objects.visible_to(user)
            .select_related("district", "vehicle", "enterprise")
            .annotate(overdue=ExpressionWrapper(Q(deadline__lt=moment, state__in=OPEN_STATES),
                                                output_field=BooleanField()),
                      open_supervision=_open_supervision())
            .order_by("-created_at", "-pk"))


class CaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("编号/车牌/案由"), method="search")
    state = django_filters.MultipleChoiceFilter(label=_("状态"), choices=CaseState.choices)
    source = django_filters.ChoiceFilter(label=_("来源"), choices=CaseSource.choices)
    district = django_filters.ModelChoiceFilter(label=_("属地区县"), queryset=_scoped(District))
    assigned = django_filters.ModelChoiceFilter(label=_("承办区县"), queryset=_scoped(District),
                                                method="assigned_to")
    enterprise = django_filters.ModelChoiceFilter(label=_("企业"), queryset=_scoped(Enterprise))
    supervised = django_filters.BooleanFilter(label=_("督办"))
    key_case = django_filters.BooleanFilter(label=_("重点案件"))
    overdue = django_filters.BooleanFilter(label=_("已超时"))
    open = django_filters.BooleanFilter(label=_("未办结"), method="open_only")
    start = django_filters.DateFilter(label=_("开始日期"), field_name="created_at",
                                      lookup_expr="date__gte", widget=_DATE)
    end = django_filters.DateFilter(label=_("结束日期"), field_name="created_at",
                                    lookup_expr="date__lte", widget=_DATE)

    class Meta:
        model = Case
        fields = ["q", "state", "source", "district", "assigned", "enterprise", "supervised",
                  "key_case", "overdue", "open", "start", "end"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _search(queryset, ("number", "title", "vehicle__plate", "plate_text"), value)

    def assigned_to(self, queryset: QuerySet, name: str, value: District) -> QuerySet:
        active = CaseAssignment.objects.filter(district=value).exclude(
            state=AssignmentState.WITHDRAWN).values("case_id")
        return queryset.filter(pk__in=active)

    def open_only(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return (queryset.filter(state__in=OPEN_STATES) if value
                else queryset.exclude(state__in=OPEN_STATES))


def case_detail(user: User, pk: int) -> Case:
    """One case with its units (withdrawn ones too, as history) and supervisions; 404 when out
    of scope."""
    assignments = CaseAssignment.objects.select_related(
        "district", "accepted_by", "handled_by", "approved_by").order_by("dispatched_at", "pk")
    supervisions = Supervision.objects.select_related("raised_by", "replied_by")
    return get_object_or_404(
        cases(user).select_related("driver", "violation", "created_by").prefetch_related(
            Prefetch("assignments", queryset=assignments),
            Prefetch("supervisions", queryset=supervisions)), pk=pk)


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # "event" or "evidence"
    action: str
    label: str
    actor: str
    from_state: str = ""
    to_state: str = ""
    district: str = ""
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    obj: Any = None  # the CaseEvent, CaseEvidence, or for "supervise" events the Supervision


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    supervisions: list[Supervision]
    evidence: list[Any]


def case_timeline(user: User, case: Case) -> Timeline:
    """Events and evidence uploads in time order (three queries); a ``supervise`` event carries
    its Supervision (reason, reply deadline, reply). An upload is one entry (kind "evidence",
    the file as ``obj``, the uploader's note after the file name), not its file and its
    ``evidence_added`` event twice. The case must be in the user's scope."""
    visible = Case.objects.visible_to(user) if _may_view(user) else Case.objects.none()
    case = get_object_or_404(visible.only("pk"), pk=case.pk)
    supervisions = list(case.supervisions.select_related("raised_by", "replied_by")
                        .prefetch_related("units"))
    by_id = {s.pk: s for s in supervisions}
    evidence = list(case.evidence.select_related("uploaded_by", "assignment__district"))
    events = list(case.events.select_related("actor", "district"))
    upload_notes = {e.detail.get("evidence"): e.note for e in events
                    if e.action == "evidence_added"}
    entries = [TimelineEntry(
        at=e.at, kind="event", action=e.action, label=str(ACTION_LABELS.get(e.action, e.action)),
        actor=str(e.actor) if e.actor_id else str(_("系统")), from_state=e.from_state,
        to_state=e.to_state, district=e.district.name if e.district_id else "", note=e.note,
        detail=e.detail, obj=by_id.get(e.detail.get("supervision")) if e.action == "supervise"
        else e)
        for e in events if e.action != "evidence_added"]
    entries += [TimelineEntry(
        at=f.uploaded_at, kind="evidence", action="evidence", label=str(_("上传证据")),
        actor=str(f.uploaded_by), district=(f.assignment.district.name if f.assignment_id
                                            else ""),
        note="\n".join(filter(None, (f.original_name, upload_notes.get(f.pk)))), obj=f)
        for f in evidence]
    entries.sort(key=lambda entry: entry.at)
    return Timeline(entries=entries, supervisions=supervisions, evidence=evidence)


def case_evidence(user: User, case_pk: int, evidence_pk: int) -> CaseEvidence:
    """One evidence file of a case the user may open (the case page's scope); 404 otherwise."""
    visible = cases(user).filter(pk=case_pk).values("pk")
    return get_object_or_404(CaseEvidence.objects.filter(case__in=visible), pk=evidence_pk)


@dataclass(frozen=True)
class InboxRow:
    assignment: CaseAssignment
    overdue: bool
    due_soon: bool
    supervised: bool

    @property
    def case(self) -> Case:
        return self.assignment.case


@dataclass(frozen=True)
class Inbox:
    new: list[InboxRow]
    due_soon: list[InboxRow]
    overdue: list[InboxRow]
    returned: list[InboxRow]
    supervised: list[InboxRow]
    awaiting_approval: list[InboxRow]

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in
                ("new", "due_soon", "overdue", "returned", "supervised", "awaiting_approval")}


def district_inbox(user: User, *, now: dt.datetime | None = None) -> Inbox:
    """What the user's districts owe, by bucket (a row can be in several: new and overdue).
    One query for any number of cases."""
    moment = now or timezone.now()
    rows: list[InboxRow] = []
    if _may_view(user):
        queryset = (CaseAssignment.objects.visible_to(user)
                    .filter(state__in=PENDING_ASSIGNMENT, case__state__in=DISTRICT_STAGES)
                    .select_related("case", "case__vehicle", "case__district", "case__enterprise",
                                    "district")
                    # 督办 addressed to this unit, not to another unit of the same case.
                    .annotate(open_supervision=Exists(Supervision.objects.filter(
                        case=OuterRef("case"), units=OuterRef("district"),
                        replied_at__isnull=True)))
                    .order_by("deadline", "pk"))
        for assignment in queryset:
            deadline = assignment.deadline
            rows.append(InboxRow(
                assignment=assignment,
                overdue=deadline is not None and deadline < moment,
                due_soon=deadline is not None and moment <= deadline < moment + DUE_SOON,
                supervised=assignment.open_supervision))
    return Inbox(
        new=[r for r in rows if r.assignment.state == AssignmentState.DISPATCHED],
        due_soon=[r for r in rows if r.due_soon],
        overdue=[r for r in rows if r.overdue],
        returned=[r for r in rows if r.assignment.state == AssignmentState.RETURNED],
        supervised=[r for r in rows if r.supervised],
        awaiting_approval=[r for r in rows
                           if r.assignment.state == AssignmentState.AWAITING_APPROVAL])


def counts_by_district(user: User, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Open, overdue and supervised cases per owning district (one query)."""
    moment = now or timezone.now()
    return list(cases(user).filter(state__in=OPEN_STATES).order_by()
                .values("district_id", "district__name")
                .annotate(open=Count("pk"),
                          overdue=Count("pk", filter=Q(deadline__lt=moment)),
                          supervised=Count("pk", filter=Q(supervised=True)))
                .order_by("district__name"))


def notifications(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    queryset = Notification.objects.filter(user=user).select_related("case")
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset.order_by("-created_at", "-pk")
