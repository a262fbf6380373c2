"""Writes of the bureau's rule settings: every change is a new version, never an edit.

A save writes the next version for its scope (rule, district, vehicle kind) and retires the
current row in the same transaction; the retirement is a conditional UPDATE on the version the
editor saw, so when two people save the same scope at once exactly one wins and the other gets
a conflict with nothing written. Running pipeline workers reload on the generation bump sent
after commit (compliance.rule_settings.LiveSettings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _

from accounts import audit
from accounts.roles import Capability
from compliance import rule_settings
from compliance.catalogue import RULES, RuleSpec, validate_params
from compliance.models import RuleSetting
from fleet.models import District

if TYPE_CHECKING:
    from accounts.models import User

SAVE_ACTION = "rule_setting_save"
RETIRE_ACTION = "rule_setting_retire"
OBJECT_TYPE = "rule_setting"
NOTE_MAX = 200


class RuleSettingError(Exception):
    """A refused settings write; ``code`` is stable for callers (API, tests), the message is
    for people."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class SettingInvalid(RuleSettingError):
    """Codes: unknown_rule, kind_not_applicable, invalid_params, tts_not_allowed,
    auto_confirm_not_allowed, note_required, unchanged, city_wide_not_retirable."""


class SettingConflict(RuleSettingError):
    """Someone saved or removed this scope since the editor loaded it."""

    code = "conflict"


class SettingPermissionDenied(RuleSettingError, PermissionDenied):
    """Also a PermissionDenied, so a view that lets it through answers 403."""

    code = "permission_denied"


def save_rule_setting(*, rule: str, district: District | None, vehicle_kind: str, enabled: bool,
                      params: dict[str, Any], auto_confirm: bool, tts_warning: bool, note: str,
                      actor: User, expected_version: int | None) -> RuleSetting:
    """Write the next version of ``rule`` for the scope (district or city-wide when None,
    vehicle kind or every kind when ""), with the full parameter set.

    ``expected_version`` is the version of the scope's current row the editor started from, or
    None when the editor saw no row (a new override).
    """
    _require_editor(actor, district)
    spec = _spec(rule)
    if vehicle_kind and vehicle_kind not in spec.kinds:
        raise SettingInvalid(_("该规则不适用于此车辆类型"), code="kind_not_applicable")
    if tts_warning and not spec.warnable:
        raise SettingInvalid(_("该规则不支持语音提醒驾驶员"), code="tts_not_allowed")
    if auto_confirm and not spec.screened:
        raise SettingInvalid(_("该规则的记录不经甄别，不能设置自动确认"),
                             code="auto_confirm_not_allowed")
    note = _clean_note(note)
    try:
        values = validate_params(rule, params)
    except (ValueError, TypeError) as exc:
        raise SettingInvalid(_("参数无效：%(detail)s") % {"detail": exc},
                             code="invalid_params") from exc
    after = {"enabled": bool(enabled), "params": values, "auto_confirm": bool(auto_confirm),
             "tts_warning": bool(tts_warning)}

    scope = _scope(rule, district, vehicle_kind)
    with transaction.atomic():
        before = scope.filter(current=True).first()
        if (before.version if before else None) != expected_version:
            raise _conflict()
        if before is not None and _values(before) == after:
            raise SettingInvalid(_("没有修改任何内容"), code="unchanged")
        if before is not None:
            # The guard that makes two simultaneous saves safe: only the one whose UPDATE still
            # finds the version it started from may continue; the other waits on the row lock,
            # re-reads, matches nothing and gets the conflict.
            retired = scope.filter(current=True, version=expected_version).update(current=False)
            if retired != 1:
                raise _conflict()
        # What the scope was judged by until now, so the history can show what a new override
        # actually changed (the rows it inherited from may change later).
        inherited = _inherited(rule, district, vehicle_kind) if before is None else None
        version = (scope.aggregate(top=Max("version"))["top"] or 0) + 1
        try:
            with transaction.atomic():
                row = RuleSetting.objects.create(
                    rule=rule, district=district, vehicle_kind=vehicle_kind, version=version,
                    note=note, current=True, created_by=actor, **after)
        except IntegrityError as exc:
            # Two first saves of one scope: the unique constraints let only one through.
            raise _conflict() from exc
        detail = {**_scope_detail(row), "version": version, "note": note,
                  "before": _state(before), "after": _state(row)}
        if inherited is not None:
            detail["inherited"] = inherited
        audit.record(actor=actor, action=SAVE_ACTION, object_type=OBJECT_TYPE, object_id=row.pk,
                     detail=detail)
        # robust: the change is committed whether or not Redis answers; Django logs a failure.
        transaction.on_commit(rule_settings.bump_generation, robust=True)
    return row


def retire_rule_setting(*, setting: RuleSetting, actor: User, note: str,
                        expected_version: int) -> RuleSetting:
    """Remove a district or vehicle-kind override so its scope inherits again. The city-wide
    row is never removed: saving the defaults there is the way back to RULES.md."""
    _require_editor(actor, setting.district)
    if setting.district_id is None and not setting.vehicle_kind:
        raise SettingInvalid(_("全市通用参数不能删除，可改回默认值保存"),
                             code="city_wide_not_retirable")
    note = _clean_note(note)
    with transaction.atomic():
        retired = RuleSetting.objects.filter(pk=setting.pk, current=True,
                                             version=expected_version).update(current=False)
        if retired != 1:
            raise _conflict()
        setting.refresh_from_db()
        audit.record(actor=actor, action=RETIRE_ACTION, object_type=OBJECT_TYPE,
                     object_id=setting.pk,
                     detail={**_scope_detail(setting), "version": setting.version, "note": note,
                             "before": _state(setting), "after": None})
        transaction.on_commit(rule_settings.bump_generation, robust=True)
    return setting


def _require_editor(actor: User, district: District | None) -> None:
    if actor is None or not actor.can(Capability.EDIT_RULE_SETTINGS):
        raise SettingPermissionDenied(_("没有维护规则参数的权限"))
    if district is not None and not District.objects.visible_to(actor).filter(
            pk=district.pk).exists():
        raise SettingPermissionDenied(_("没有维护规则参数的权限"))


def _spec(rule: str) -> RuleSpec:
    try:
        return RULES[rule]
    except KeyError:
        raise SettingInvalid(_("未知规则：%(rule)s") % {"rule": rule},
                             code="unknown_rule") from None


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise SettingInvalid(_("请填写修改说明"), code="note_required")
    return note[:NOTE_MAX]


def _conflict() -> SettingConflict:
    return SettingConflict(_("该参数已被他人修改，请刷新页面后在最新版本上重新修改"))


def _scope(rule: str, district: District | None, vehicle_kind: str) -> QuerySet[RuleSetting]:
    # district=None is SQL IS NULL here, i.e. the city-wide rows.
    return RuleSetting.objects.filter(rule=rule, district=district, vehicle_kind=vehicle_kind)


def _values(row: RuleSetting) -> dict[str, Any]:
    return {"enabled": row.enabled, "params": validate_params(row.rule, row.params),
            "auto_confirm": row.auto_confirm, "tts_warning": row.tts_warning}


def _inherited(rule: str, district: District | None, vehicle_kind: str) -> dict[str, Any]:
    effective = rule_settings.load_snapshot().resolve(
        rule, district.pk if district is not None else None, vehicle_kind)
    return {"setting_id": effective.setting_id, "version": effective.version,
            "enabled": effective.enabled, "params": effective.params,
            "auto_confirm": effective.auto_confirm, "tts_warning": effective.tts_warning}


def _state(row: RuleSetting | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row.pk, "version": row.version, **_values(row)}


def _scope_detail(row: RuleSetting) -> dict[str, Any]:
    return {"rule": row.rule, "district_id": row.district_id,
            "district": row.district.code if row.district_id else None,
            "vehicle_kind": row.vehicle_kind}
