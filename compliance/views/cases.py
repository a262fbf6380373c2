"""Case pages: the city's list, a district's inbox, and the case page with its timeline, evidence
map and the action forms the user may use. Reads go through compliance.selectors_cases; the
forms post to compliance.views.case_actions, which call the services."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.roles import Capability
from compliance import selectors_cases as selectors
from compliance.models import AssignmentState, Case, CaseAssignment, CaseState, Outcome
from compliance.services.cases.core import DISTRICT_STAGES, PENDING_ASSIGNMENT
from compliance.services.cases.evidence import IMAGE_TYPES, KINDS
from compliance.services.cases.policy import max_units
from compliance.views.violations import needs
from fleet.models import District

PAGE_SIZE = 50
STATE_LABELS = dict(CaseState.choices)
# The filters a supervisor reaches for; CaseFilter has more (the API uses them), shown on demand.
MAIN_FILTERS = ("q", "state", "source", "district", "overdue", "supervised")
# The file picker offers what the evidence service accepts (it checks the content anyway).
ACCEPT_FILES = ",".join(f".{ext}" for kind in KINDS for ext in kind.extensions)



class OneState(forms.Select):
    """A plain drop-down for CaseFilter's multiple-choice state: a list box of eight states was
    the noisiest thing on the page; the API still takes several ``state`` values."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        return [value for value in values if value]


def _plain_choices(form: forms.Form) -> None:
    """"全部" instead of "---------" and "未知": a supervisor reads the empty choice as "any"."""
    everything = gettext_lazy("全部")
    for name, field in form.fields.items():
        if isinstance(field.widget, forms.NullBooleanSelect):
            field.widget.choices = [("unknown", everything), ("true", gettext_lazy("是")),
                                    ("false", gettext_lazy("否"))]
        elif isinstance(field, forms.ModelChoiceField):
            field.empty_label = everything
        elif isinstance(field, forms.ChoiceField) and name != "state":
            field.choices = [("", everything), *[c for c in field.choices if c[0] != ""]]


INBOX_TABS: tuple[tuple[str, Any], ...] = (
    ("new", gettext_lazy("待签收")),
    ("due_soon", gettext_lazy("即将到期")),
    ("overdue", gettext_lazy("已超时")),
    ("returned", gettext_lazy("退回重办")),
    ("supervised", gettext_lazy("督办")),
    ("awaiting_approval", gettext_lazy("待领导审批")),
)


@needs(Capability.VIEW_CASES)
def case_list(request: HttpRequest) -> HttpResponse:
    queryset = selectors.cases(request.user)
    filterset = selectors.CaseFilter(request.GET or None, queryset=queryset, request=request)
    form = filterset.form
    # Before validation: the widget decides how the submitted value is read.
    form.fields["state"].widget = OneState(choices=[("", gettext_lazy("全部")),
                                                   *CaseState.choices])
    _plain_choices(form)
    rows = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "compliance/cases/case_list.html", {
        "title": gettext_lazy("案件列表"), "filter": filterset, "page": page,
        "query": query.urlencode(),
        "main_fields": [form[name] for name in MAIN_FILTERS],
        "more_fields": [form[name] for name in form.fields if name not in MAIN_FILTERS],
        "more_open": any(request.GET.get(name) for name in form.fields
                         if name not in MAIN_FILTERS),
    })


@needs(Capability.VIEW_CASES)
def inbox(request: HttpRequest) -> HttpResponse:
    box = selectors.district_inbox(request.user)
    counts = box.counts
    names = [name for name, _label in INBOX_TABS]
    current = request.GET.get("tab", "")
    if current not in names:
        # Open on the most urgent bucket that has something in it.
        order = ("overdue", "supervised", "returned", "new", "due_soon", "awaiting_approval")
        current = next((name for name in order if counts[name]), "new")
    return render(request, "compliance/cases/inbox.html", {
        "title": gettext_lazy("待办案件"),
        "tabs": [(name, label, counts[name]) for name, label in INBOX_TABS],
        "current": current, "rows": getattr(box, current),
        # One district: its unit column would repeat the owning district on every row.
        "show_unit": len(request.user.scope.district_ids) != 1,
    })


# --- Case page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitForms:
    """The forms one assignment offers the user (the district's own steps)."""

    assignment: CaseAssignment
    accept: bool
    report: bool
    approve: bool


def _unit_forms(user: Any, case: Case, assignments: list[CaseAssignment]) -> list[UnitForms]:
    if case.state not in DISTRICT_STAGES:
        return []
    own = set(user.scope.district_ids)
    forms = []
    for assignment in assignments:
        if assignment.district_id not in own:
            continue
        item = UnitForms(
            assignment=assignment,
            accept=(user.can(Capability.HANDLE_CASES)
                    and assignment.state == AssignmentState.DISPATCHED),
            report=(user.can(Capability.HANDLE_CASES)
                    and assignment.state in (AssignmentState.ACCEPTED, AssignmentState.RETURNED)),
            approve=(user.can(Capability.APPROVE_CASES)
                     and assignment.state == AssignmentState.AWAITING_APPROVAL))
        if item.accept or item.report or item.approve:
            forms.append(item)
    return forms


@dataclass(frozen=True)
class TimelineRow:
    entry: selectors.TimelineEntry
    from_label: str
    to_label: str
    changed: bool  # a state change (supervision, a first report of two, … leave it unchanged)


def _timeline_rows(entries: list[selectors.TimelineEntry]) -> list[TimelineRow]:
    return [TimelineRow(entry=e, from_label=str(STATE_LABELS.get(e.from_state, e.from_state)),
                        to_label=str(STATE_LABELS.get(e.to_state, e.to_state)),
                        changed=bool(e.to_state) and e.from_state != e.to_state)
            for e in entries]


def _map_data(case: Case) -> dict[str, Any] | None:
    """The violation's track and location, else the case's own location; None: no map."""
    violation = case.violation
    track = json.loads(violation.track.geojson) if violation and violation.track else None
    point = violation.location if violation and violation.location else case.location
    if track is None and point is None:
        return None
    return {"track": track, "location": [point.y, point.x] if point is not None else None}


def _replies_due(user: Any, assignments: list[CaseAssignment],
                 supervisions: list[Any]) -> set[int]:
    """The open supervisions the user may answer: addressed to one of the user's units that is
    still on the case (as ``reply_supervision`` checks)."""
    if not (user.can(Capability.HANDLE_CASES) or user.can(Capability.APPROVE_CASES)):
        return set()
    mine = ({a.district_id for a in assignments if a.state != AssignmentState.WITHDRAWN}
            & set(user.scope.district_ids))
    return {s.pk for s in supervisions if s.replied_at is None
            and mine & {unit.pk for unit in s.units.all()}}


def _upload_units(user: Any, case: Case,
                  unit_forms: list[UnitForms]) -> list[CaseAssignment] | None:
    """Where the user may add evidence now: the city (None: the case itself) on a case not yet
    archived, a district to its parts between signing and reporting; ``[]``: nowhere."""
    if user.can(Capability.VERIFY_CASES) or user.can(Capability.SUPERVISE_CASES):
        return None if case.state != CaseState.ARCHIVED else []
    return [unit.assignment for unit in unit_forms if unit.report]


def _redispatch_choices(user: Any, case: Case, active: list[CaseAssignment],
                        leaves: list[District]) -> dict[str, Any] | None:
    """改派: the units that may give their part up (not after reporting) and the districts that
    may take it (not already on the case)."""
    if not user.can(Capability.DISPATCH_CASES) or case.state not in DISTRICT_STAGES:
        return None
    movable = [a for a in active if a.state in (AssignmentState.DISPATCHED,
                                                AssignmentState.ACCEPTED,
                                                AssignmentState.RETURNED)]
    taken = {a.district_id for a in active}
    targets = [d for d in leaves if d.pk not in taken]
    return {"units": movable, "targets": targets} if movable and targets else None


@needs(Capability.VIEW_CASES)
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    case = selectors.case_detail(user, pk)
    assignments = list(case.assignments.all())
    active = [a for a in assignments if a.state != AssignmentState.WITHDRAWN]
    timeline = selectors.case_timeline(user, case)
    state = case.state
    city = {
        "dispatch": user.can(Capability.DISPATCH_CASES) and state == CaseState.NEW,
        "verify": user.can(Capability.VERIFY_CASES) and state == CaseState.HANDLED,
        "archive": user.can(Capability.VERIFY_CASES) and state == CaseState.VERIFIED,
        "supervise": user.can(Capability.SUPERVISE_CASES) and state in DISTRICT_STAGES,
    }
    unit_forms = _unit_forms(user, case, active)
    leaves = list(District.objects.visible_to(user).filter(children__isnull=True)
                  .order_by("code")) if user.can(Capability.DISPATCH_CASES) else []
    redispatch = _redispatch_choices(user, case, active, leaves)
    upload_units = _upload_units(user, case, unit_forms)
    return render(request, "compliance/cases/case_detail.html", {
        "case": case, "assignments": assignments, "timeline": _timeline_rows(timeline.entries),
        "supervisions": timeline.supervisions, "evidence": timeline.evidence,
        "image_types": IMAGE_TYPES, "accept_files": ACCEPT_FILES,
        "can_upload": upload_units is None or bool(upload_units), "upload_units": upload_units,
        "city": city, "unit_forms": unit_forms, "redispatch": redispatch,
        "return_units": active if city["verify"] and len(active) > 1 else [],
        "has_actions": any(city.values()) or bool(unit_forms) or redispatch is not None,
        "replies_due": _replies_due(user, assignments, timeline.supervisions),
        "districts": leaves if city["dispatch"] else [],
        "two_units": max_units(case.source) > 1,
        # A unit's own clock (double dispatch: one unit can be late, the other not).
        "pending_states": [str(state) for state in PENDING_ASSIGNMENT], "now": timezone.now(),
        "outcomes": Outcome.choices,
        "map_data": _map_data(case), "map_tile_url": settings.MAP_TILE_URL,
    })
