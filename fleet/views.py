"""Registry pages: lists with search, filters and pagination; detail pages; the map."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.core.serializers import serialize
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.roles import Capability
from fleet import filters, selectors

PAGE_SIZE = 50


def registry_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login plus the view-registry capability, for every page here."""

    @login_required
    @require_GET
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.can(Capability.VIEW_REGISTRY):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _list_page(request: HttpRequest, *, queryset: QuerySet, filterset_class: type,
               template: str, title: Any) -> HttpResponse:
    filterset = filterset_class(request.GET or None, queryset=queryset, request=request)
    rows = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, template, {
        "title": title,
        "filter": filterset,
        "page": page,
        "query": query.urlencode(),
        "can_export": request.user.can(Capability.EXPORT_REGISTRY),
        "show_personal": request.user.can(Capability.VIEW_PERSONAL_DATA),
    })


@registry_view
def vehicle_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, queryset=selectors.vehicles(request.user),
                      filterset_class=filters.VehicleFilter, template="fleet/vehicle_list.html",
                      title=_("车辆"))


@registry_view
def enterprise_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, queryset=selectors.enterprises(request.user),
                      filterset_class=filters.EnterpriseFilter,
                      template="fleet/enterprise_list.html", title=_("企业"))


@registry_view
def driver_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, queryset=selectors.drivers(request.user),
                      filterset_class=filters.DriverFilter, template="fleet/driver_list.html",
                      title=_("驾驶员"))


@registry_view
def terminal_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, queryset=selectors.terminals(request.user),
                      filterset_class=filters.TerminalFilter, template="fleet/terminal_list.html",
                      title=_("车载终端"))


@registry_view
def waybill_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, queryset=selectors.waybills(request.user),
                      filterset_class=filters.WaybillFilter, template="fleet/waybill_list.html",
                      title=_("电子运单"))


def _detail(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    context["show_personal"] = request.user.can(Capability.VIEW_PERSONAL_DATA)
    context["map_tile_url"] = settings.MAP_TILE_URL
    return render(request, template, context)


@registry_view
def vehicle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, "fleet/vehicle_detail.html",
                   selectors.vehicle_detail(request.user, pk))


@registry_view
def enterprise_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, "fleet/enterprise_detail.html",
                   selectors.enterprise_detail(request.user, pk))


@registry_view
def driver_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, "fleet/driver_detail.html", selectors.driver_detail(request.user, pk))


@registry_view
def waybill_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, "fleet/waybill_detail.html",
                   selectors.waybill_detail(request.user, pk))


@registry_view
def map_page(request: HttpRequest) -> HttpResponse:
    return _detail(request, "fleet/map.html", {})


def _geojson(queryset: QuerySet, geometry_field: str, fields: tuple[str, ...]) -> Any:
    return json.loads(serialize("geojson", queryset, geometry_field=geometry_field, fields=fields))


def _district_features(user) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """All district outlines (public reference geography), flagging the user's own and giving
    each a label point inside its largest part (enclaves would pull a bounds centre outside)."""
    own = set(selectors.districts(user).values_list("pk", flat=True))
    features = []
    for district in selectors.all_district_outlines():
        largest = max(district.boundary, key=lambda polygon: polygon.area)
        label = largest.point_on_surface
        features.append({
            "type": "Feature",
            "geometry": json.loads(district.boundary.geojson),
            "properties": {"code": district.code, "name": district.name,
                           "mine": district.pk in own, "label": [label.y, label.x]},
        })
    return {"type": "FeatureCollection", "features": features}


@registry_view
def map_layers(request: HttpRequest) -> HttpResponse:
    """The vector base layers: district boundaries, the road network and zones in force."""
    user = request.user
    body = {
        "districts": _district_features(user),
        "roads": _geojson(selectors.road_network(user), "geometry",
                          ("name", "road_class", "speed_limit_kmh")),
        "zones": _geojson(selectors.zones(user), "geometry", ("name", "kind", "speed_limit_kmh")),
    }
    response = HttpResponse(json.dumps(body, ensure_ascii=False),
                            content_type="application/json; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
