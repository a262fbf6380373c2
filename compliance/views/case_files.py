"""The case's files: evidence upload from the case page (several files at once, all or none),
the scoped download (thumbnails of photos for the page), and the printed case file (卷宗 PDF).

Every file is read through the case page's selector: a case out of the user's scope is a 404,
for its files as for the page. Evidence is served with the type sniffed when it was stored, as a
download (photos and PDFs inline on request), never with a type a browser might guess.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import audit
from accounts.models import User
from accounts.roles import Capability
from compliance import selectors_cases as selectors
from compliance.documents.case_file import case_file_context
from compliance.documents.images import thumbnail_jpeg
from compliance.documents.pdf import render_pdf
from compliance.models import CaseEvidence
from compliance.services.cases import (
    CaseError,
    add_evidence,
    evidence_transaction,
    record_evidence_read,
)
from compliance.services.cases.evidence import IMAGE_TYPES
from compliance.views.violations import needs

log = logging.getLogger(__name__)

INLINE_TYPES = IMAGE_TYPES | {"application/pdf"}
# Evidence never changes: the browser may keep it, but only for this user.
CACHE = "private, max-age=86400"
UPLOADERS = (Capability.HANDLE_CASES, Capability.VERIFY_CASES, Capability.SUPERVISE_CASES)


@needs(Capability.VIEW_CASES, method="POST")
def evidence_upload(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_detail(request.user, pk)
    if not any(request.user.can(capability) for capability in UPLOADERS):
        raise PermissionDenied
    page = reverse("compliance:case_detail", args=[case.pk])
    uploads = request.FILES.getlist("files")
    if not uploads:
        messages.error(request, _("请选择要上传的证据文件"))
        return HttpResponseRedirect(page)
    assignment = None
    if request.POST.get("assignment"):
        try:
            assignment = get_object_or_404(case.assignments.all(),
                                           pk=int(request.POST["assignment"]))
        except ValueError:
            raise Http404 from None
    try:
        with evidence_transaction():
            for upload in uploads:
                add_evidence(case=case, assignment=assignment, upload=upload,
                             actor=request.user, note=request.POST.get("note", ""))
    except CaseError as error:
        if error.code == CaseError.NOT_FOUND:
            raise Http404 from None
        messages.error(request, _("%(reason)s。本次未上传任何文件。") % {
            "reason": error.message.rstrip("。")})
        return HttpResponseRedirect(page)  # the message is at the top of the page
    messages.success(request, ngettext("已上传 %(n)d 个证据文件", "已上传 %(n)d 个证据文件",
                                       len(uploads)) % {"n": len(uploads)})
    return HttpResponseRedirect(page + "#evidence")


def evidence_response(evidence: CaseEvidence, *, inline: bool = False,
                      thumbnail: bool = False) -> HttpResponse:
    """The stored file (or a photo's thumbnail) with its sniffed type; shared with the API."""
    if thumbnail and evidence.content_type in IMAGE_TYPES:
        jpeg = thumbnail_jpeg(evidence.file.name)
        if jpeg is None:
            raise Http404
        response: HttpResponse = HttpResponse(jpeg, content_type="image/jpeg")
    else:
        try:
            stored = evidence.file.open("rb")
        except FileNotFoundError:
            log.error("evidence %s: stored file %s is missing", evidence.pk, evidence.file.name)
            raise Http404 from None
        inline = inline and evidence.content_type in INLINE_TYPES
        response = FileResponse(stored, content_type=evidence.content_type)
        response["Content-Disposition"] = content_disposition_header(
            not inline, evidence.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = CACHE
    response["ETag"] = f'"{evidence.sha256}{"-t" if thumbnail else ""}"'
    return response


def serve_evidence(evidence: CaseEvidence, *, actor: User, inline: bool, thumbnail: bool,
                   channel: str) -> HttpResponse:
    """The response, and the audit row of an opening of the file itself (portal and API)."""
    response = evidence_response(evidence, inline=inline, thumbnail=thumbnail)
    if not thumbnail:
        record_evidence_read(evidence=evidence, actor=actor, inline=inline, channel=channel)
    return response


@needs(Capability.VIEW_CASES)
def evidence_file(request: HttpRequest, pk: int, evidence_pk: int) -> HttpResponse:
    evidence = selectors.case_evidence(request.user, pk, evidence_pk)
    return serve_evidence(evidence, actor=request.user, inline=request.GET.get("inline") == "1",
                          thumbnail=request.GET.get("thumb") == "1", channel="portal")


@needs(Capability.VIEW_CASES)
def case_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The case file as a PDF (an export: one audit row)."""
    case = selectors.case_detail(request.user, pk)
    pdf = render_pdf("compliance/cases/case_file_pdf.html",
                     case_file_context(request.user, case), request=request)
    with transaction.atomic():
        audit.record(actor=request.user, action="case_file_export", object_type="case",
                     object_id=case.pk, detail={"number": case.number})
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, f"{case.number}.pdf")
    return response
