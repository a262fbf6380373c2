"""The bureau dashboard: today's figures, the live map, the alert feed and the district table,
for the user's scope. ``accounts.views.home`` shows it to users who may see it; the figures
refresh from ``figures.json`` without reloading the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.roles import Capability
from compliance.selectors_dashboard import Dashboard, DistrictRow, as_json, dashboard
from compliance.views.quality import COMPLETENESS_FLOOR, VALIDITY_FLOOR, percent
from compliance.views.violations import alert_feed_context
from fleet.models.registry import VehicleKind

ALERTS_SHOWN = 10


def may_see_dashboard(user: Any) -> bool:
    """The map needs the registry, the figures and the feed the violations."""
    return bool(user.is_authenticated and user.can(Capability.VIEW_REGISTRY)
                and user.can(Capability.VIEW_VIOLATIONS))


@dataclass(frozen=True)
class DistrictLine:
    """A district row with its ratios ready to print and flagged when below RULES.md §4."""

    row: DistrictRow

    @property
    def online_pct(self) -> str:
        return percent(self.row.online_rate)

    @property
    def validity_pct(self) -> str:
        return percent(self.row.validity)

    @property
    def completeness_pct(self) -> str:
        return percent(self.row.completeness)

    @property
    def validity_low(self) -> bool:
        return self.row.validity is not None and self.row.validity < VALIDITY_FLOOR

    @property
    def completeness_low(self) -> bool:
        return self.row.completeness is not None and self.row.completeness < COMPLETENESS_FLOOR


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    board: Dashboard = dashboard(user)
    return {
        "board": board,
        "online_pct": percent(board.online_rate),
        "district_lines": [DistrictLine(row) for row in board.districts],
        "shows_rank": any(row.rank is not None for row in board.districts),
        "can_screen": user.can(Capability.SCREEN_VIOLATIONS),
        "kind_choices": VehicleKind.choices,
        "kind_labels": {value: str(label) for value, label in VehicleKind.choices},
        "validity_floor": VALIDITY_FLOOR,
        "completeness_floor": COMPLETENESS_FLOOR,
        "map_tile_url": settings.MAP_TILE_URL,
        **alert_feed_context(user, limit=ALERTS_SHOWN, compact=True),
    }


def render_dashboard(request: HttpRequest) -> HttpResponse:
    """The page itself, for ``home`` and ``dashboard`` alike (callers check the capability)."""
    return render(request, "compliance/dashboard/dashboard.html", dashboard_context(request))


@login_required
@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    if not may_see_dashboard(request.user):
        raise PermissionDenied
    return render_dashboard(request)


@login_required
@require_GET
def figures(request: HttpRequest) -> JsonResponse:
    """The dashboard's figures for the user's scope, polled by static/js/dashboard.js; the
    month's data quality and ranks stay as the page rendered them (recomputed hourly)."""
    if not may_see_dashboard(request.user):
        raise PermissionDenied
    response = JsonResponse(as_json(dashboard(request.user, month_figures=False)))
    response["Cache-Control"] = "no-store"
    return response
