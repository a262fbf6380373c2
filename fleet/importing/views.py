"""The import page (upload, dry run or real run, the report) and the .xlsx downloads."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.roles import Capability
from fleet import filters
from fleet.importing import service
from fleet.importing.columns import SPECS
from fleet.importing.forms import ImportForm

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The list pages' filters, so "export" on a filtered list exports what the list shows
# (the list's query string is passed on unchanged).
FILTERSETS: dict[str, type] = {
    "enterprise": filters.EnterpriseFilter,
    "vehicle": filters.VehicleFilter,
    "driver": filters.DriverFilter,
    "terminal": filters.TerminalFilter,
}


def _require(request: HttpRequest, capability: str) -> None:
    if not request.user.can(capability):
        raise PermissionDenied


def _spec_or_404(kind: str) -> None:
    if kind not in SPECS:
        raise Http404


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    _require(request, Capability.IMPORT_REGISTRY)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        # Anything but an explicit 导入 is a check: the safe default for a stray submit.
        dry_run = request.POST.get("action") != "import"
        report = service.import_registry(kind=form.cleaned_data["kind"],
                                         file=form.cleaned_data["file"], actor=request.user,
                                         dry_run=dry_run)
        if report.committed:
            messages.success(request, _("导入完成：新增 %(created)d 条，更新 %(updated)d 条")
                             % {"created": report.created, "updated": report.updated})
    return render(request, "fleet/import.html", {
        "form": form,
        "report": report,
        "downloads": _downloads(request),
    })


def _downloads(request: HttpRequest) -> list[dict[str, Any]]:
    # Reverse within whatever namespace this app is included under ("importing" or nested as
    # "fleet:importing"), so the project URLconf may mount it either way.
    namespace = request.resolver_match.namespace if request.resolver_match else "importing"
    can_export = request.user.can(Capability.EXPORT_REGISTRY)
    return [{
        "label": spec.label,
        "template": reverse(f"{namespace}:template", args=[spec.kind]),
        "export": reverse(f"{namespace}:export", args=[spec.kind]) if can_export else "",
    } for spec in SPECS.values()]


@login_required
@require_GET
def template(request: HttpRequest, kind: str) -> HttpResponse:
    _require(request, Capability.IMPORT_REGISTRY)
    _spec_or_404(kind)
    return _xlsx(service.blank_template(kind), service.export_filename(kind, template=True))


@login_required
@require_GET
def export(request: HttpRequest, kind: str) -> HttpResponse:
    _require(request, Capability.EXPORT_REGISTRY)
    _spec_or_404(kind)
    queryset = SPECS[kind].model.objects.visible_to(request.user)
    if kind in FILTERSETS and request.GET:
        filterset = FILTERSETS[kind](request.GET, queryset=queryset, request=request)
        if filterset.is_valid():
            queryset = filterset.qs
    content = service.export_registry(kind=kind, queryset=queryset, actor=request.user)
    return _xlsx(content, service.export_filename(kind))


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
