"""The notifications page behind the header bell: the user's own notifications, newest first,
marked read one by one, all at once, or by opening one."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from compliance import selectors_desk as selectors
from compliance.services.cases.notify import mark_read

PAGE_SIZE = 50
# What a notification is about, from its kind's prefix (the kinds: services/cases/notify.py).
FAMILIES = (("checkpost_", gettext_lazy("查岗")), ("instruction_", gettext_lazy("指令")),
            ("bulletin_", gettext_lazy("通报")), ("", gettext_lazy("案件")))


def family(kind: str) -> str:
    return next(str(label) for prefix, label in FAMILIES if kind.startswith(prefix))


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.notifications(request.user)
    if request.GET.get("unread"):
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for notification in page:
        notification.family = family(notification.kind)
        notification.family_key = notification.kind.split("_")[0]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "compliance/desk/notifications.html", {
        "title": gettext_lazy("通知"), "page": page, "query": query.urlencode(),
        "unread_only": bool(request.GET.get("unread"))})


@login_required
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    """``all`` marks every unread one; else ``id`` (repeatable) marks those. Only the user's
    own: another user's id changes nothing."""
    if request.POST.get("all"):
        mark_read(user=request.user)
    else:
        ids = [int(value) for value in request.POST.getlist("id") if value.isdigit()]
        if ids:
            mark_read(user=request.user, ids=ids)
    return HttpResponseRedirect(reverse("compliance:notifications"))


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one read and go where it points (a path on this site; anything else: the list)."""
    notification = get_object_or_404(selectors.notifications(request.user), pk=pk)
    mark_read(user=request.user, ids=[notification.pk])
    target = notification.url
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}):
        target = reverse("compliance:notifications")
    return HttpResponseRedirect(target)
