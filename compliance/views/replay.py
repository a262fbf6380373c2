"""Replay pages: ask for a run (what-if thresholds or a rebuild), watch its progress, read the
counts beside the stored violations."""

from __future__ import annotations

import datetime as dt
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import Capability
from compliance.catalogue import ALL_KINDS, RULES
from compliance.models import ReplayRun
from compliance.replay_runs import ReplayRequestError, request_replay
from fleet.models import District, Enterprise, Vehicle
from fleet.models.registry import VehicleKind


def replay_view(view: Any) -> Any:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.can(Capability.RUN_REPLAY):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


class ReplayForm(forms.Form):
    start = forms.DateTimeField(label=_("开始时间"), widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(label=_("结束时间"), widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}))
    rules = forms.MultipleChoiceField(label=_("规则（不选为全部）"), required=False,
                                      choices=[(c, s.label) for c, s in RULES.items()],
                                      widget=forms.CheckboxSelectMultiple)
    kinds = forms.MultipleChoiceField(label=_("车辆类型"), required=False,
                                      choices=[c for c in VehicleKind.choices
                                               if c[0] in ALL_KINDS],
                                      widget=forms.CheckboxSelectMultiple)
    districts = forms.ModelMultipleChoiceField(label=_("登记区县"), required=False,
                                               queryset=District.objects.none())
    plates = forms.CharField(label=_("车牌（逗号分隔）"), required=False)
    what_if = forms.ChoiceField(label=_("调整阈值的规则"), required=False,
                                choices=[("", "—")] + [(c, s.label) for c, s in RULES.items()
                                                       if s.params])
    rebuild = forms.BooleanField(label=_("按现行参数重建该时段的待甄别违规记录"),
                                 required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["districts"].queryset = District.objects.visible_to(user).exclude(
            boundary=None)
        if not user.can(Capability.EDIT_RULE_SETTINGS):
            del self.fields["rebuild"]  # rewriting violations is a supervisor's decision
        rule = self.data.get("what_if") or self.initial.get("what_if")
        self.param_names: list[str] = []
        if rule in RULES:
            for param in RULES[rule].params:
                name = f"p_{param.name}"
                self.param_names.append(name)
                if param.type == "switch":  # blank: as set; otherwise yes or no
                    self.fields[name] = forms.TypedChoiceField(
                        label=param.label, required=False, coerce=int, empty_value=None,
                        choices=[("", _("（按现行设置）")), ("1", _("是")), ("0", _("否"))])
                    continue
                self.fields[name] = forms.FloatField(
                    label=f"{param.label}（{param.unit}）" if param.unit else param.label,
                    required=False, min_value=param.minimum, max_value=param.maximum,
                    widget=forms.NumberInput(attrs={"placeholder": f"{param.default:g}",
                                                    "step": "any"}))

    def overrides(self) -> dict[str, dict[str, Any]]:
        rule = self.cleaned_data.get("what_if")
        if not rule:
            return {}
        values = {name[2:]: self.cleaned_data[name] for name in self.param_names
                  if self.cleaned_data.get(name) is not None}
        return {rule: values} if values else {}


def _default_period() -> dict[str, str]:
    today = timezone.localdate()
    start = dt.datetime.combine(today - dt.timedelta(days=1), dt.time())
    return {"start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}


@replay_view
def replay_home(request: HttpRequest) -> HttpResponse:
    submitted = request.method == "POST" and "go" in request.POST
    form = ReplayForm(request.POST if request.method == "POST" else None, user=request.user,
                      initial=_default_period())
    if submitted and form.is_valid():
        data = form.cleaned_data
        selection: dict[str, Any] = {}
        if data["kinds"]:
            selection["kinds"] = data["kinds"]
        if data["districts"]:
            selection["district_ids"] = [d.pk for d in data["districts"]]
        plates = [p.strip() for p in data["plates"].replace("，", ",").split(",") if p.strip()]
        if plates:
            found = dict(Vehicle.objects.visible_to(request.user).filter(plate__in=plates)
                         .values_list("plate", "pk"))
            missing = [p for p in plates if p not in found]
            if missing:
                form.add_error("plates", _("未找到车辆：%(plates)s") % {
                    "plates": "，".join(missing)})
            selection["vehicle_ids"] = list(found.values())
        if not form.errors:
            try:
                run = request_replay(actor=request.user, start=data["start"], end=data["end"],
                                     selection=selection, overrides=form.overrides(),
                                     rules=data["rules"], rebuild=bool(data.get("rebuild")))
            except ReplayRequestError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("compliance:replay_detail", pk=run.pk)
    runs = ReplayRun.objects.select_related("created_by")[:20]
    return render(request, "compliance/replay/home.html", {"form": form, "runs": runs})


def _named_rows(rows: dict[str, list[list[Any]]], index: int,
                names: dict[int, str]) -> list[dict[str, Any]]:
    totals: dict[Any, list[int]] = {}
    for row in rows["replayed"]:
        totals.setdefault(row[index], [0, 0])[0] += row[3]
    for row in rows["stored"]:
        totals.setdefault(row[index], [0, 0])[1] += row[3]
    out = [{"name": names.get(key, key) if names else key, "key": key, "replayed": r,
            "stored": s, "delta": r - s} for key, (r, s) in totals.items()]
    return sorted(out, key=lambda row: (-max(row["replayed"], row["stored"]), str(row["name"])))


@replay_view
def replay_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ReplayRun.objects.select_related("created_by"), pk=pk)
    context: dict[str, Any] = {"run": run}
    if run.results:
        labels = {code: spec.label for code, spec in RULES.items()}
        context["by_rule"] = [dict(row, name=labels.get(row["key"], row["key"]))
                              for row in _named_rows(run.results, 0, {})]
        context["by_district"] = _named_rows(run.results, 1, dict(
            District.objects.values_list("pk", "name")))
        enterprise_ids = {row[2] for key in ("replayed", "stored") for row in run.results[key]}
        context["by_enterprise"] = _named_rows(run.results, 2, dict(
            Enterprise.objects.filter(pk__in=enterprise_ids).values_list("pk", "name")))[:20]
    return render(request, "compliance/replay/detail.html", context)


@replay_view
def replay_status(request: HttpRequest, pk: int) -> JsonResponse:
    run = get_object_or_404(ReplayRun, pk=pk)
    return JsonResponse({"state": run.state, "progress": round(run.progress, 4),
                         "done_vehicles": run.done_vehicles,
                         "total_vehicles": run.total_vehicles, "fixes": run.fixes,
                         "error": run.error})
