"""The case page's forms: one small POST view per step, each calling its service with the state
the page showed (``seen``), so a page loaded before someone else's step gets a conflict instead
of acting on a case that moved on. Every refusal comes back as a message on the case page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.roles import Capability
from compliance import selectors_cases as selectors
from compliance.models import AssignmentState, Case, CaseAssignment, Supervision
from compliance.services import cases as services
from compliance.services.cases import CaseError
from compliance.services.cases.core import conflict
from compliance.views.violations import needs
from fleet.models import District

Handler = Callable[[HttpRequest, Case], str]


def _seen_case(request: HttpRequest, case: Case) -> Case:
    """The case as the page showed it: the services compare this state with the stored one."""
    case.state = request.POST.get("seen", "")
    return case


def _seen_assignment(request: HttpRequest, case: Case) -> CaseAssignment:
    try:
        pk = int(request.POST.get("assignment", ""))
    except ValueError:
        raise Http404 from None
    assignment = get_object_or_404(case.assignments.all(), pk=pk)
    assignment.state = request.POST.get("seen", "")
    return assignment


def _note(request: HttpRequest, name: str = "note") -> str:
    return request.POST.get(name, "")


# --- The steps (each returns the success message) ---------------------------------------------


def _dispatch(request: HttpRequest, case: Case) -> str:
    ids = [value for value in request.POST.getlist("districts") if value]
    try:
        wanted = list(dict.fromkeys(int(value) for value in ids))
    except ValueError:
        wanted = []
    found = {d.pk: d for d in District.objects.visible_to(request.user).filter(pk__in=wanted)}
    districts = [found[pk] for pk in wanted if pk in found]
    if not districts:
        raise CaseError(CaseError.INVALID_DISTRICTS, _("请选择承办区县"))
    services.dispatch_case(case=_seen_case(request, case), districts=districts,
                           actor=request.user, note=_note(request))
    return _("已派发至%(names)s") % {"names": "、".join(d.name for d in districts)}


def _dismiss(request: HttpRequest, case: Case) -> str:
    services.dismiss_case(case=_seen_case(request, case), actor=request.user,
                          reason=_note(request))
    return _("已决定不予立案")


def _accept(request: HttpRequest, case: Case) -> str:
    services.accept_assignment(assignment=_seen_assignment(request, case), actor=request.user,
                               note=_note(request))
    return _("已签收")


def _int_or_raw(value: str) -> int | str | None:
    """An integer, nothing, or the raw text — the service explains what is wrong with it."""
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _report(request: HttpRequest, case: Case) -> str:
    """The result and the files sent with it (multipart ``files``): one transaction, so a
    refused file leaves the report unsent and nothing stored."""
    assignment = _seen_assignment(request, case)
    uploads = request.FILES.getlist("files")
    if uploads and assignment.state != (CaseAssignment.objects.filter(pk=assignment.pk)
                                        .values_list("state", flat=True).first()):
        raise conflict(case)  # a stale page: say so before judging the files
    with services.evidence_transaction():
        for upload in uploads:
            services.add_evidence(case=case, assignment=assignment, upload=upload,
                                  actor=request.user)
        services.report_result(assignment=assignment,
                               outcome=request.POST.get("outcome", ""),
                               fine_yuan=request.POST.get("fine_yuan", "").strip() or None,
                               penalty_points=_int_or_raw(request.POST.get("penalty_points", "")),
                               note=_note(request), actor=request.user)
    if uploads:
        return ngettext("已反馈办理结果，附证据 %(n)d 件", "已反馈办理结果，附证据 %(n)d 件",
                        len(uploads)) % {"n": len(uploads)}
    return _("已反馈办理结果")


def _approve(request: HttpRequest, case: Case) -> str:
    services.approve_result(assignment=_seen_assignment(request, case), actor=request.user,
                            note=_note(request))
    return _("已审批通过")


def _reject(request: HttpRequest, case: Case) -> str:
    services.reject_result(assignment=_seen_assignment(request, case), actor=request.user,
                           reason=_note(request))
    return _("已退回区县重新办理")


def _verify(request: HttpRequest, case: Case) -> str:
    services.verify_case(case=_seen_case(request, case), actor=request.user,
                         note=_note(request))
    return _("已核查通过")


def _return(request: HttpRequest, case: Case) -> str:
    """Every unit, or (double dispatch) the units ticked on the form."""
    units = {a.district_id: a.district for a in case.assignments.exclude(
        state=AssignmentState.WITHDRAWN).select_related("district")}
    districts = None
    if request.POST.get("choose_units"):
        try:
            wanted = {int(value) for value in request.POST.getlist("districts")}
        except ValueError:
            wanted = set()
        districts = [units[pk] for pk in sorted(units) if pk in wanted]
        if not districts or len(districts) != len(wanted):
            raise CaseError(CaseError.INVALID_DISTRICTS, _("请选择要退回的承办区县"))
    services.return_case(case=_seen_case(request, case), actor=request.user,
                         reason=_note(request), districts=districts)
    names = [d.name for d in districts] if districts else [d.name for d in units.values()]
    return _("已退回%(names)s") % {"names": "、".join(names)}


def _chosen_district(request: HttpRequest, name: str) -> District:
    try:
        pk = int(request.POST.get(name, ""))
    except ValueError:
        pk = None
    district = District.objects.visible_to(request.user).filter(pk=pk).first() if pk else None
    if district is None:
        raise CaseError(CaseError.INVALID_DISTRICTS, _("请选择改派的区县"))
    return district


def _redispatch(request: HttpRequest, case: Case) -> str:
    leaving = _chosen_district(request, "from_district")
    arriving = _chosen_district(request, "to_district")
    services.redispatch_case(case=_seen_case(request, case), from_district=leaving,
                             to_district=arriving, actor=request.user, reason=_note(request))
    return _("已由%(from)s改派至%(to)s") % {"from": leaving.name, "to": arriving.name}


def _archive(request: HttpRequest, case: Case) -> str:
    services.archive_case(case=_seen_case(request, case), actor=request.user,
                          note=_note(request))
    return _("已归档")


def _supervise(request: HttpRequest, case: Case) -> str:
    services.supervise_case(case=_seen_case(request, case), actor=request.user,
                            reason=_note(request))
    return _("已督办")


def _reply(request: HttpRequest, case: Case) -> str:
    try:
        pk = int(request.POST.get("supervision", ""))
    except ValueError:
        raise Http404 from None
    supervision = get_object_or_404(Supervision.objects.filter(case=case), pk=pk)
    services.reply_supervision(supervision=supervision, actor=request.user,
                               reply=_note(request))
    return _("已回复督办")


# The capability each step needs: checked here too, so a user without it gets 403 rather than a
# message (the page never showed them the form).
STEPS: dict[str, tuple[tuple[str, ...], Handler]] = {
    "dispatch": ((Capability.DISPATCH_CASES,), _dispatch),
    "dismiss": ((Capability.DISPATCH_CASES,), _dismiss),
    "redispatch": ((Capability.DISPATCH_CASES,), _redispatch),
    "accept": ((Capability.HANDLE_CASES,), _accept),
    "report": ((Capability.HANDLE_CASES,), _report),
    "approve": ((Capability.APPROVE_CASES,), _approve),
    "reject": ((Capability.APPROVE_CASES,), _reject),
    "verify": ((Capability.VERIFY_CASES,), _verify),
    "return": ((Capability.VERIFY_CASES,), _return),
    "archive": ((Capability.VERIFY_CASES,), _archive),
    "supervise": ((Capability.SUPERVISE_CASES,), _supervise),
    "reply": ((Capability.HANDLE_CASES, Capability.APPROVE_CASES), _reply),
}


def _refusal(request: HttpRequest, error: CaseError, page: str) -> None:
    if error.code == CaseError.CONFLICT:
        messages.error(request, format_html(
            '{} {} <a href="{}">{}</a>', _("他人已先行操作。"), error.message, page,
            _("重新加载")))
    else:
        messages.error(request, error.message)


@needs(Capability.VIEW_CASES, method="POST")
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in STEPS:
        raise Http404
    # Out of scope reads as absent, before anything else is said about the case.
    case = selectors.case_detail(request.user, pk)
    capabilities, handler = STEPS[action]
    if not any(request.user.can(capability) for capability in capabilities):
        raise PermissionDenied
    page = reverse("compliance:case_detail", args=[case.pk])
    try:
        done: Any = handler(request, case)
    except CaseError as error:
        if error.code == CaseError.NOT_FOUND:
            raise Http404 from None
        _refusal(request, error, page)
    else:
        messages.success(request, done)
    return HttpResponseRedirect(page)
