from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.roles import Capability


@dataclass(frozen=True)
class Link:
    name: str  # url name
    label: Any
    needs: str | None = None


@dataclass(frozen=True)
class Menu:
    label: Any
    links: tuple[Link, ...] = field(default_factory=tuple)


# The navigation bar, in order: a few menus rather than a row of fifteen links (a supervisor
# looks for "where are the violations", not for the name of a page).
NAVIGATION: list[Link | Menu] = [
    Link("home", _("总览")),
    Menu(_("监控"), (
        Link("fleet:live_map", _("实时监控"), Capability.VIEW_REGISTRY),
        Link("compliance:alerts", _("实时告警"), Capability.VIEW_VIOLATIONS),
        Link("fleet:gateway_stats", _("接入网关"), Capability.VIEW_GATEWAY),
    )),
    Menu(_("违规"), (
        Link("compliance:violation_list", _("违规记录"), Capability.VIEW_VIOLATIONS),
        Link("compliance:screening_queue", _("违规甄别"), Capability.SCREEN_VIOLATIONS),
        Link("compliance:quality", _("数据质量"), Capability.VIEW_VIOLATIONS),
    )),
    Menu(_("案件"), (
        Link("compliance:inbox", _("待办案件"), Capability.VIEW_CASES),
        Link("compliance:case_list", _("案件列表"), Capability.VIEW_CASES),
    )),
    Menu(_("指令查岗"), (
        Link("compliance:instruction_list", _("指令下发"), Capability.ISSUE_INSTRUCTIONS),
        Link("compliance:instruction_inbox", _("待签收指令"), Capability.ACKNOWLEDGE_INSTRUCTIONS),
        Link("compliance:checkpost_list", _("查岗"), Capability.SEND_CHECKPOSTS),
        Link("compliance:checkpost_desk", _("查岗应答"), Capability.ANSWER_CHECKPOSTS),
    )),
    Menu(_("考评通报"), (
        Link("compliance:assessment", _("月度考评"), Capability.VIEW_VIOLATIONS),
        Link("compliance:assessment_risk", _("企业风险等级"), Capability.VIEW_VIOLATIONS),
        Link("compliance:bulletin_list", _("周通报/月复盘"), Capability.VIEW_CASES),
    )),
    Menu(_("登记"), (
        Link("fleet:vehicle_list", _("车辆"), Capability.VIEW_REGISTRY),
        Link("fleet:enterprise_list", _("企业"), Capability.VIEW_REGISTRY),
        Link("fleet:driver_list", _("驾驶员"), Capability.VIEW_REGISTRY),
        Link("fleet:terminal_list", _("终端"), Capability.VIEW_REGISTRY),
        Link("fleet:waybill_list", _("电子运单"), Capability.VIEW_REGISTRY),
        Link("fleet:map", _("地图"), Capability.VIEW_REGISTRY),
        Link("importing:upload", _("数据导入"), Capability.IMPORT_REGISTRY),
    )),
    Menu(_("规则管理"), (
        Link("compliance:rule_settings", _("规则参数"), Capability.VIEW_VIOLATIONS),
        Link("compliance:replay", _("规则回放"), Capability.RUN_REPLAY),
    )),
]


@dataclass(frozen=True)
class NavEntry:
    label: Any
    name: str = ""  # a link
    children: tuple[Link, ...] = ()  # a menu

    @property
    def names(self) -> set[str]:
        return {self.name} if self.name else {link.name for link in self.children}


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}

    def allowed(link: Link) -> bool:
        return link.needs is None or user.can(link.needs)

    entries = []
    for item in NAVIGATION:
        if isinstance(item, Link):
            if allowed(item):
                entries.append(NavEntry(item.label, name=item.name))
            continue
        links = tuple(link for link in item.links if allowed(link))
        if len(links) == 1:  # a menu of one is just a link
            entries.append(NavEntry(links[0].label, name=links[0].name))
        elif links:
            entries.append(NavEntry(item.label, children=links))
    return {"nav_items": entries}
