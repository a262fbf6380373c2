"""The rules page and one rule's page: values in force, overrides per district and kind, the
edit form (bureau only) and the history.

Reading needs VIEW_VIOLATIONS (district staff see the city-wide values and their own district's);
writing needs EDIT_RULE_SETTINGS. A district or kind outside the user's scope is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.roles import Capability
from compliance import selectors_settings as selectors
from compliance.catalogue import RULES, RuleSpec
from compliance.services.rule_settings import (
    NOTE_MAX,
    RuleSettingError,
    retire_rule_setting,
    save_rule_setting,
)


def _can_view(user: Any) -> bool:
    return user.can(Capability.VIEW_VIOLATIONS) or user.can(Capability.EDIT_RULE_SETTINGS)


def settings_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _can_view(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


class RuleSettingForm(forms.Form):
    """One input per catalogue parameter (with its limits), the switches the rule allows, and
    the note every change must carry. Field names are the parameter names."""

    enabled = forms.BooleanField(label=gettext_lazy("启用"), required=False)
    auto_confirm = forms.BooleanField(label=gettext_lazy("自动确认（不经人工甄别）"),
                                      required=False)
    tts_warning = forms.BooleanField(label=gettext_lazy("语音提醒驾驶员"), required=False)
    note = forms.CharField(label=gettext_lazy("修改说明"), max_length=NOTE_MAX,
                           widget=forms.TextInput(attrs={
                               "placeholder": gettext_lazy("例：依据某文件调整，必填")}))
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, spec: RuleSpec, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        for p in spec.params:
            if p.type == "switch":
                field: forms.Field = forms.BooleanField(label=p.label, required=False)
            elif p.type == "int":
                field = forms.IntegerField(
                    label=p.label, min_value=int(p.minimum), max_value=int(p.maximum))
            else:
                field = forms.FloatField(label=p.label, min_value=p.minimum,
                                         max_value=p.maximum)
            self.fields[p.name] = field
        if not spec.screened:
            del self.fields["auto_confirm"]
        if not spec.warnable:
            del self.fields["tts_warning"]

    def param_values(self) -> dict[str, float | int]:
        # A switch's checkbox gives a bool; the setting stores 1 / 0 like any parameter.
        return {p.name: int(self.cleaned_data[p.name]) if p.type == "switch"
                else self.cleaned_data[p.name] for p in self.spec.params}


class RetireForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("修改说明"), max_length=NOTE_MAX)
    expected_version = forms.IntegerField(required=False)


def _initial(state: selectors.ScopeState) -> dict[str, Any]:
    effective = state.resolved.effective
    # 80 rather than 80.0 in the input: whole numbers read as the bureau writes them. A
    # switch's checkbox needs a bool (Django's checkbox ticks any value but False and None).
    spec = RULES[effective.rule]
    params = {name: bool(value) if spec.param(name).type == "switch"
              else int(value) if float(value).is_integer() else value
              for name, value in effective.params.items()}
    return {"enabled": effective.enabled, "auto_confirm": effective.auto_confirm,
            "tts_warning": effective.tts_warning, **params,
            "expected_version": state.own.version if state.own else None}


@settings_view
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    scope = selectors.parse_scope(request.user, None, request.GET.get("district"), None)
    families = selectors.overview(request.user, scope)
    return render(request, "compliance/settings/rule_list.html", {
        "title": _("规则参数"),
        "scope": scope,
        "families": families,
        "deviations": selectors.deviations(request.user, families) if scope.district is None
        else [],
        "districts": selectors.districts_for(request.user),
        "city_choice": request.user.scope.everything,
    })


@settings_view
@require_http_methods(["GET", "POST"])
def rule_detail(request: HttpRequest, rule: str) -> HttpResponse:
    can_edit = request.user.can(Capability.EDIT_RULE_SETTINGS)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    spec = selectors.rule_or_404(rule)
    source = request.POST if request.method == "POST" else request.GET
    scope = selectors.parse_scope(request.user, spec, source.get("district"), source.get("kind"))
    settings = selectors.Settings()
    state = selectors.scope_state(spec, scope, settings)
    form = RuleSettingForm(spec, initial=_initial(state)) if can_edit else None
    if request.method == "POST":
        if request.POST.get("action") == "retire":
            form, done = _retire(request, spec, state)
        else:
            form, done = _save(request, spec, scope)
        if done:
            return redirect(f"{reverse('compliance:rule_setting_detail', args=[rule])}"
                            f"?{scope.query}#edit")
    return render(request, "compliance/settings/rule_detail.html", {
        "spec": spec,
        # Each shown value next to its input (None for readers), in catalogue order.
        "param_rows": [(p, form[p.param.name] if form else None) for p in state.params],
        "switch_rows": [(s, form[s.name] if form else None) for s in state.switches],
        "kinds": [(k, label) for k, label in selectors.KIND_SHORT.items() if k in spec.kinds],
        "state": state,
        "matrix": selectors.matrix(request.user, spec, settings),
        "history": selectors.history(request.user, spec),
        "districts": selectors.districts_for(request.user),
        "form": form,
        "can_edit": can_edit,
        "can_retire": state.own is not None and not scope.is_city_wide,
        # Without an own row the inherited values are the values shown: no second column,
        # except for an editor about to type new ones.
        "show_inherited": not scope.is_city_wide and (state.own is not None or can_edit),
    })


def _save(request: HttpRequest, spec: RuleSpec,
          scope: selectors.Scope) -> tuple[RuleSettingForm, bool]:
    form = RuleSettingForm(spec, request.POST)
    if not form.is_valid():
        return form, False
    data = form.cleaned_data
    try:
        row = save_rule_setting(
            rule=spec.code, district=scope.district, vehicle_kind=scope.kind,
            enabled=data["enabled"], params=form.param_values(),
            auto_confirm=data.get("auto_confirm", False),
            tts_warning=data.get("tts_warning", False), note=data["note"], actor=request.user,
            expected_version=data["expected_version"])
    except RuleSettingError as exc:
        form.add_error(None, exc.message)
        return form, False
    messages.success(request,
                     _("已保存 %(scope)s 第 %(version)d 版，运行中的检测将在数秒内采用新值")
                     % {"scope": scope.label, "version": row.version})
    return form, True


def _retire(request: HttpRequest, spec: RuleSpec,
            state: selectors.ScopeState) -> tuple[RuleSettingForm, bool]:
    form = RuleSettingForm(spec, request.POST)
    form.is_valid()  # for redisplay only; removal reads just the note and version
    retire = RetireForm(request.POST)
    if state.own is None:
        form.add_error(None, _("该范围没有单独设置，无需删除"))
        return form, False
    if not retire.is_valid():
        form.add_error("note", _("请填写修改说明"))
        return form, False
    try:
        retire_rule_setting(setting=state.own, actor=request.user,
                            note=retire.cleaned_data["note"],
                            # No version (a page from before the row existed) is a conflict.
                            expected_version=retire.cleaned_data["expected_version"] or -1)
    except RuleSettingError as exc:
        form.add_error(None, exc.message)
        return form, False
    messages.success(request, _("已删除 %(scope)s 的单独设置，恢复继承上级参数")
                     % {"scope": state.scope.label})
    return form, True
