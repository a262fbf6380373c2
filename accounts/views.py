from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from compliance.views.dashboard import may_see_dashboard, render_dashboard
from fleet import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard for those who may see it (``?view=registry``: the registry overview, which
    everyone else gets)."""
    if may_see_dashboard(request.user) and request.GET.get("view") != "registry":
        return render_dashboard(request)
    return render(request, "home.html", {"overview": selectors.registry_overview(request.user),
                                         "has_dashboard": may_see_dashboard(request.user)})
