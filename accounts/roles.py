"""Roles, the level of organisation each may belong to, and what each may do.

Kept as plain data: the capability table is small, read everywhere, and reviewed by the bureau,
so a table beats a permission framework here.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    BUREAU = "bureau", _("市交通运输局")
    DISTRICT = "district", _("区县分平台")
    ENTERPRISE = "enterprise", _("运输企业")


class Role(models.TextChoices):
    BUREAU_ADMIN = "bureau_admin", _("局系统管理员")
    BUREAU_SUPERVISOR = "bureau_supervisor", _("局监管人员")
    BUREAU_ANALYST = "bureau_analyst", _("局数据分析员（只读）")
    DISTRICT_OPERATOR = "district_operator", _("区县操作员")
    DISTRICT_LEADER = "district_leader", _("区县负责人")
    ENTERPRISE_OFFICER = "enterprise_officer", _("企业安全员")
    DESK_OPERATOR = "desk_operator", _("12328话务员")
    FIELD_OFFICER = "field_officer", _("执法人员")


ROLE_LEVELS: dict[str, frozenset[str]] = {
    Role.BUREAU_ADMIN: frozenset({Level.BUREAU}),
    Role.BUREAU_SUPERVISOR: frozenset({Level.BUREAU}),
    Role.BUREAU_ANALYST: frozenset({Level.BUREAU}),
    Role.DISTRICT_OPERATOR: frozenset({Level.DISTRICT}),
    Role.DISTRICT_LEADER: frozenset({Level.DISTRICT}),
    Role.ENTERPRISE_OFFICER: frozenset({Level.ENTERPRISE}),
    Role.DESK_OPERATOR: frozenset({Level.BUREAU}),
    Role.FIELD_OFFICER: frozenset({Level.BUREAU, Level.DISTRICT}),
}


class Capability(models.TextChoices):
    VIEW_REGISTRY = "view_registry", _("查看登记信息")
    EDIT_REGISTRY = "edit_registry", _("维护登记信息")
    IMPORT_REGISTRY = "import_registry", _("批量导入")
    EXPORT_REGISTRY = "export_registry", _("导出")
    VIEW_PERSONAL_DATA = "view_personal_data", _("查看完整个人信息")
    MANAGE_USERS = "manage_users", _("用户管理")
    VIEW_GATEWAY = "view_gateway", _("查看接入网关")
    VIEW_VIOLATIONS = "view_violations", _("查看违规")
    SCREEN_VIOLATIONS = "screen_violations", _("违规甄别")
    EDIT_RULE_SETTINGS = "edit_rule_settings", _("维护规则参数")
    RUN_REPLAY = "run_replay", _("规则回放")
    # Case workflow (compliance.services.cases): who may do which step.
    VIEW_CASES = "view_cases", _("查看案件")
    DISPATCH_CASES = "dispatch_cases", _("案件立案派发")
    HANDLE_CASES = "handle_cases", _("案件签收办理")
    APPROVE_CASES = "approve_cases", _("案件审批")
    VERIFY_CASES = "verify_cases", _("案件核查归档")
    SUPERVISE_CASES = "supervise_cases", _("案件督办")
    # Duty supervision (compliance.services.instructions / checkposts): the city issues
    # instructions and pings monitoring desks (查岗); district desks and enterprise monitoring
    # rooms acknowledge and answer.
    ISSUE_INSTRUCTIONS = "issue_instructions", _("指令下发")
    ACKNOWLEDGE_INSTRUCTIONS = "acknowledge_instructions", _("指令签收")
    SEND_CHECKPOSTS = "send_checkposts", _("发起查岗")
    ANSWER_CHECKPOSTS = "answer_checkposts", _("查岗应答")


_ALL_READ = {Capability.VIEW_REGISTRY, Capability.EXPORT_REGISTRY, Capability.VIEW_VIOLATIONS}
# Screening, thresholds and what-if runs are the city's call (RULES.md: the bureau tunes rules).
_CITY_RULES = {Capability.SCREEN_VIOLATIONS, Capability.EDIT_RULE_SETTINGS, Capability.RUN_REPLAY}
# The city opens, dispatches, verifies and supervises; districts handle, their leaders approve.
_CITY_CASES = {Capability.VIEW_CASES, Capability.DISPATCH_CASES, Capability.VERIFY_CASES,
               Capability.SUPERVISE_CASES}
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.BUREAU_ADMIN: frozenset(Capability.values),
    Role.BUREAU_SUPERVISOR: frozenset(_ALL_READ | {Capability.EDIT_REGISTRY,
                                                   Capability.IMPORT_REGISTRY,
                                                   Capability.VIEW_PERSONAL_DATA,
                                                   Capability.VIEW_GATEWAY} | _CITY_RULES
                                         | _CITY_CASES),
    Role.BUREAU_ANALYST: frozenset(_ALL_READ | {Capability.VIEW_GATEWAY, Capability.RUN_REPLAY,
                                                Capability.VIEW_CASES}),
    Role.DISTRICT_OPERATOR: frozenset(_ALL_READ | {Capability.VIEW_PERSONAL_DATA,
                                                   Capability.VIEW_CASES, Capability.HANDLE_CASES}),
    Role.DISTRICT_LEADER: frozenset(_ALL_READ | {Capability.VIEW_PERSONAL_DATA,
                                                 Capability.VIEW_CASES, Capability.APPROVE_CASES}),
    # Enterprises see their violations, not the administrative case workflow about them.
    Role.ENTERPRISE_OFFICER: frozenset(_ALL_READ | {Capability.VIEW_PERSONAL_DATA}),
    Role.DESK_OPERATOR: frozenset({Capability.VIEW_REGISTRY, Capability.VIEW_CASES}),
    Role.FIELD_OFFICER: frozenset({Capability.VIEW_REGISTRY, Capability.VIEW_PERSONAL_DATA,
                                   Capability.VIEW_VIOLATIONS, Capability.VIEW_CASES}),
}

# Duty supervision: the city's supervisors issue and ping; district operators and leaders
# acknowledge and answer their district's; an enterprise's safety officer answers its own.
_DUTY: dict[str, frozenset[str]] = {
    Role.BUREAU_SUPERVISOR: frozenset({Capability.ISSUE_INSTRUCTIONS, Capability.SEND_CHECKPOSTS}),
    Role.DISTRICT_OPERATOR: frozenset({Capability.ACKNOWLEDGE_INSTRUCTIONS,
                                       Capability.ANSWER_CHECKPOSTS}),
    Role.DISTRICT_LEADER: frozenset({Capability.ACKNOWLEDGE_INSTRUCTIONS,
                                     Capability.ANSWER_CHECKPOSTS}),
    Role.ENTERPRISE_OFFICER: frozenset({Capability.ANSWER_CHECKPOSTS}),
}
ROLE_CAPABILITIES.update({role: ROLE_CAPABILITIES[role] | extra for role, extra in _DUTY.items()})
