"""Bulletin pages: the list of periods, a bulletin, its PDF and workbook, and "generate now".

Every bulletin is city-wide (compliance.bulletins.access says who reads and who issues it).
A published bulletin is shown from its frozen copy and its stored files; an unpublished one is
built on demand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import audit
from compliance.bulletins import access, excel, pdf, store
from compliance.bulletins.charts import daily_chart
from compliance.bulletins.data import BulletinData
from compliance.bulletins.periods import BulletinKind, Period, PeriodError
from compliance.bulletins.services import BulletinError, publish_bulletin

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LISTED = {BulletinKind.WEEKLY: 12, BulletinKind.MONTHLY: 12}
CADENCE = {BulletinKind.WEEKLY: gettext_lazy("每周一 02:00 发布上周"),
           BulletinKind.MONTHLY: gettext_lazy("每月2日 02:00 发布上月")}


def reader(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @require_GET
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.may_read(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _period(kind: str, start: str) -> Period:
    """The finished period named in the URL; 404 for anything else."""
    try:
        period = Period.of(kind, dt.date.fromisoformat(start))
    except (PeriodError, ValueError):
        raise Http404 from None
    if not period.is_over(timezone.now()):
        raise Http404
    return period


def _url(name: str, period: Period) -> str:
    return reverse(f"compliance:{name}", args=[period.kind, period.start.isoformat()])


def _today() -> dt.date:
    return timezone.localdate()


@reader
def bulletin_list(request: HttpRequest) -> HttpResponse:
    sections = []
    for kind, count in LISTED.items():
        periods = [Period.last_complete(kind, _today())]
        while len(periods) < count:
            periods.append(periods[-1].previous())
        published = store.published_times(kind, [p.start for p in periods])
        sections.append({
            "kind": kind, "label": BulletinKind(kind).label, "cadence": CADENCE[kind],
            "rows": [{"title": p.title, "url": _url("bulletin_detail", p),
                      "published_at": published.get(p.start)} for p in periods]})
    return render(request, "compliance/bulletins/list.html", {
        "title": _("通报"), "sections": sections})


@reader
def bulletin_detail(request: HttpRequest, kind: str, start: str) -> HttpResponse:
    period = _period(kind, start)
    data, row = store.bulletin_data(period)
    following = Period.of(kind, period.end + dt.timedelta(days=1))
    return render(request, "compliance/bulletins/detail.html", {
        "data": data, "chart": daily_chart(data), "published": row is not None,
        "published_by": row.generated_by if row is not None else None,
        "kind_label": BulletinKind(kind).label,
        "pdf_url": _url("bulletin_pdf", period), "xlsx_url": _url("bulletin_xlsx", period),
        "previous_url": _url("bulletin_detail", period.previous()),
        "next_url": (_url("bulletin_detail", following)
                     if following.is_over(timezone.now()) else ""),
        "can_publish": access.may_publish(request.user)})


def _download(request: HttpRequest, period: Period, *, what: str, content_type: str,
              render_file: Callable[[BulletinData], bytes]) -> HttpResponse:
    data, row = store.bulletin_data(period)
    name = f"{BulletinKind(period.kind).label}_{period.start:%Y%m%d}.{what}"
    audit.record(actor=request.user, action="bulletin_download", object_type="bulletin",
                 object_id=period.slug, detail={"format": what, "published": row is not None})
    if row is not None:
        stored = getattr(row, what)
        return FileResponse(stored.open("rb"), as_attachment=True, filename=name,
                            content_type=content_type)
    response = HttpResponse(render_file(data), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@reader
def bulletin_pdf(request: HttpRequest, kind: str, start: str) -> HttpResponse:
    return _download(request, _period(kind, start), what="pdf", content_type="application/pdf",
                     render_file=pdf.document)


@reader
def bulletin_xlsx(request: HttpRequest, kind: str, start: str) -> HttpResponse:
    return _download(request, _period(kind, start), what="xlsx", content_type=XLSX,
                     render_file=excel.workbook)


@login_required
@require_POST
def bulletin_publish(request: HttpRequest) -> HttpResponse:
    """"Generate now": publish (or, with ``replace``, regenerate) a finished period."""
    if not access.may_publish(request.user):
        raise PermissionDenied
    kind, start = request.POST.get("kind", ""), request.POST.get("start", "")
    period = _period(kind, start)
    try:
        publish_bulletin(kind=kind, period_start=period.start, actor=request.user,
                         replace=request.POST.get("replace") == "1")
    except BulletinError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("已发布：%(title)s") % {"title": period.title})
    return redirect(_url("bulletin_detail", period))
