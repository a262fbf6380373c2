"""指令下发 pages: the city's list (per-district status) and issue form, a district's inbox of
instructions to acknowledge, the instruction page with its acknowledgement form. Reads go
through compliance.selectors_desk (out of scope: 404), writes through
compliance.services.instructions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from accounts.roles import Capability
from compliance import selectors_desk as selectors
from compliance.services import instructions as services
from compliance.services.cases import CaseError
from compliance.views.violations import needs
from fleet.models import District

PAGE_SIZE = 20
DEFAULT_WINDOW = dt.timedelta(days=1)
View = Callable[..., HttpResponse]


def needs_any(*capabilities: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[View], View]:
    """Login, the HTTP methods, and at least one of the capabilities."""

    def decorate(view: View) -> View:
        @login_required
        @require_http_methods(list(methods))
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not any(request.user.can(c) for c in capabilities):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return decorate


def leaf_districts(user: Any) -> Any:
    """The districts an instruction or a check-post can go to (no parent units)."""
    return District.objects.visible_to(user).filter(children__isnull=True).order_by("code")


class IssueForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("指令标题"), max_length=services.TITLE_MAX)
    body = forms.CharField(label=gettext_lazy("指令内容"), max_length=services.BODY_MAX,
                           widget=forms.Textarea(attrs={"rows": 6}))
    all_districts = forms.BooleanField(label=gettext_lazy("全部区县"), required=False)
    districts = forms.ModelMultipleChoiceField(
        label=gettext_lazy("接收区县"), queryset=District.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple)
    acknowledge_by = forms.DateTimeField(
        label=gettext_lazy("签收时限"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["districts"].queryset = leaf_districts(user)

    def chosen_districts(self) -> list[District]:
        if self.cleaned_data.get("all_districts"):
            return list(self.fields["districts"].queryset)
        return list(self.cleaned_data.get("districts") or [])


@needs(Capability.ISSUE_INSTRUCTIONS)
def instruction_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.instructions(request.user), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "compliance/desk/instruction_list.html", {
        "title": gettext_lazy("指令下发"), "page": page,
        "rows": selectors.instruction_rows(request.user, page),
    })


@needs_any(Capability.ISSUE_INSTRUCTIONS, methods=("GET", "POST"))
def instruction_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = IssueForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                instruction = services.issue_instruction(
                    title=form.cleaned_data["title"], body=form.cleaned_data["body"],
                    districts=form.chosen_districts(),
                    acknowledge_by=form.cleaned_data["acknowledge_by"], actor=request.user)
            except CaseError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("指令已下发"))
                return HttpResponseRedirect(reverse("compliance:instruction_detail",
                                                    args=[instruction.pk]))
    else:
        deadline = timezone.localtime() + DEFAULT_WINDOW
        form = IssueForm(user=request.user, initial={
            "acknowledge_by": deadline.replace(second=0, microsecond=0)})
    return render(request, "compliance/desk/instruction_form.html", {
        "title": gettext_lazy("下发指令"), "form": form})


@needs(Capability.ACKNOWLEDGE_INSTRUCTIONS)
def instruction_inbox(request: HttpRequest) -> HttpResponse:
    rows = selectors.instruction_inbox(request.user)
    return render(request, "compliance/desk/instruction_inbox.html", {
        "title": gettext_lazy("待签收指令"), "rows": rows,
        "overdue": sum(row.status == selectors.OVERDUE for row in rows),
        "done": selectors.recently_acknowledged(request.user),
        "show_district": len(request.user.scope.district_ids) != 1,
    })


@needs_any(Capability.ISSUE_INSTRUCTIONS, Capability.ACKNOWLEDGE_INSTRUCTIONS)
def instruction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    instruction = selectors.instruction_detail(user, pk)
    [row] = selectors.instruction_rows(user, [instruction])
    own = set(user.scope.district_ids)
    may_sign = user.can(Capability.ACKNOWLEDGE_INSTRUCTIONS)
    return render(request, "compliance/desk/instruction_detail.html", {
        "instruction": instruction, "row": row,
        "to_sign": [t for t in row.targets if may_sign and t.target.district_id in own
                    and t.target.acknowledged_at is None],
        "overdue": timezone.now() > instruction.acknowledge_by,
        **_back(user),
    })


def _back(user: Any) -> dict[str, Any]:
    if user.can(Capability.ISSUE_INSTRUCTIONS):
        return {"back_url": reverse("compliance:instruction_list"),
                "back_label": gettext_lazy("指令下发")}
    return {"back_url": reverse("compliance:instruction_inbox"),
            "back_label": gettext_lazy("待签收指令")}


@needs(Capability.ACKNOWLEDGE_INSTRUCTIONS, method="POST")
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(selectors.visible_targets(request.user), pk=pk)
    page = reverse("compliance:instruction_detail", args=[target.instruction_id])
    try:
        services.acknowledge_instruction(target=target, actor=request.user,
                                         reply=request.POST.get("reply", ""))
    except CaseError as error:
        if error.code == CaseError.NOT_FOUND:
            raise Http404 from None
        messages.error(request, error.message)
    else:
        messages.success(request, _("已签收"))
    return HttpResponseRedirect(page)
