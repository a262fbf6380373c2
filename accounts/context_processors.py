from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.roles import Capability

# (url name, label, capability needed). Order is the order of the navigation bar.
NAVIGATION: list[tuple[str, Any, str | None]] = [
    ("home", _("总览"), None),
    ("fleet:live_map", _("实时监控"), Capability.VIEW_REGISTRY),
    ("fleet:vehicle_list", _("车辆"), Capability.VIEW_REGISTRY),
    ("fleet:enterprise_list", _("企业"), Capability.VIEW_REGISTRY),
    ("fleet:driver_list", _("驾驶员"), Capability.VIEW_REGISTRY),
    ("fleet:terminal_list", _("终端"), Capability.VIEW_REGISTRY),
    ("fleet:waybill_list", _("电子运单"), Capability.VIEW_REGISTRY),
    ("fleet:map", _("地图"), Capability.VIEW_REGISTRY),
    ("importing:upload", _("数据导入"), Capability.IMPORT_REGISTRY),
    ("fleet:gateway_stats", _("接入网关"), Capability.VIEW_GATEWAY),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [(name, label) for name, label, needs in NAVIGATION if needs is None or user.can(needs)]
    return {"nav_items": items}
