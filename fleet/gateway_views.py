"""Bureau-only portal page for the JT/T 808 gateway: live counters of every gateway process
(from their Redis snapshots) and a form to send a TTS text to a connected terminal by plate."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from fleet import validators
from fleet.gateway import control
from fleet.gateway.stats import load_snapshots
from fleet.models import Terminal

STATUS_LABELS = {
    "queued": gettext_lazy("排队中"),
    "sent": gettext_lazy("已下发，等待终端应答"),
    "answered": gettext_lazy("终端已应答"),
    "timeout": gettext_lazy("终端未应答（超时）"),
    "offline": gettext_lazy("终端不在线"),
    "busy": gettext_lazy("终端待应答指令过多"),
    "error": gettext_lazy("指令有误"),
    "expired": gettext_lazy("指令已过期"),
    "unknown": gettext_lazy("无此指令记录"),
}
RESULT_LABELS = {
    0: gettext_lazy("成功/确认"),
    1: gettext_lazy("失败"),
    2: gettext_lazy("消息有误"),
    3: gettext_lazy("不支持"),
}
# How long the web request waits for the terminal before showing "sent, waiting".
WAIT_S = 5.0


def bureau_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Gateway internals are city-level: anyone else gets a 404, as for out-of-scope objects."""

    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.scope.everything:
            raise Http404
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


class SendTextForm(forms.Form):
    plate = forms.CharField(label=gettext_lazy("车牌号码"), max_length=10)
    text = forms.CharField(label=gettext_lazy("下发内容（语音播报）"), max_length=200,
                           widget=forms.TextInput(attrs={"size": 40}))
    urgent = forms.BooleanField(label=gettext_lazy("紧急"), required=False)

    def clean_plate(self) -> str:
        return validators.normalise_plate(self.cleaned_data["plate"])


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True,
                                socket_connect_timeout=2, socket_timeout=WAIT_S + 2)


def _prefix() -> str:
    return getattr(settings, "GATEWAY_REDIS_PREFIX", "gateway:")


def _totals(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    rates: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    frames: Counter[str] = Counter()
    for snap in snapshots:
        rates.update(snap.get("frames_per_s", {}))
        errors.update(snap.get("errors", {}))
        frames.update(snap.get("frames", {}))
    return {
        "connections": sum(s.get("connections", 0) for s in snapshots),
        "authenticated": sum(s.get("authenticated", 0) for s in snapshots),
        "frames_per_s": round(sum(rates.values()), 1),
        "by_msg": [(m, round(rates.get(m, 0.0), 1), frames[m]) for m in sorted(frames)],
        "errors": sorted(errors.items(), key=lambda kv: -kv[1]),
        "backpressure_waits": sum(s.get("backpressure_waits", 0) for s in snapshots),
    }


@bureau_only
@require_GET
def gateway_stats(request: HttpRequest) -> HttpResponse:
    """Counters of every live gateway process; `?request=<id>` shows a command's outcome."""
    client = _redis()
    redis_error = False
    snapshots: list[dict[str, Any]] = []
    status = None
    try:
        snapshots = load_snapshots(client, _prefix())
        request_id = request.GET.get("request", "")
        if request_id.isalnum() and len(request_id) <= 40:
            status = control.downlink_status(request_id, client=client, prefix=_prefix())
    except Exception:
        redis_error = True
    finally:
        client.close()
    return render(request, "fleet/gateway_stats.html", {
        "snapshots": snapshots,
        "totals": _totals(snapshots),
        "form": SendTextForm(),
        "command": status,
        "command_label": STATUS_LABELS.get(status.status, status.status) if status else "",
        "result_label": RESULT_LABELS.get(status.result, "") if status else "",
        "redis_error": redis_error,
    })


@bureau_only
@require_POST
def send_text(request: HttpRequest) -> HttpResponse:
    """Send a TTS/display text (0x8300) to the vehicle's terminal and wait briefly for the
    answer; the outcome is shown on the stats page."""
    form = SendTextForm(request.POST)
    target = reverse("fleet:gateway_stats")
    if not form.is_valid():
        messages.error(request, _("请填写车牌号码和下发内容"))
        return redirect(target)
    terminal = (
        Terminal.objects.visible_to(request.user)
        .filter(active=True, vehicle__plate=form.cleaned_data["plate"])
        .only("sim_number")
        .first()
    )
    if terminal is None:
        messages.error(request, _("该车辆没有在用的车载终端"))
        return redirect(target)
    client = _redis()
    try:
        request_id = control.submit_downlink(
            sim=terminal.sim_number, kind="text",
            data={"text": form.cleaned_data["text"], "urgent": form.cleaned_data["urgent"]},
            timeout=10.0, client=client, prefix=_prefix())
        control.wait_downlink(request_id, timeout=WAIT_S, client=client, prefix=_prefix())
    except ValueError:
        messages.error(request, _("下发内容无法编码"))
        return redirect(target)
    except Exception:
        messages.error(request, _("指令通道不可用"))
        return redirect(target)
    finally:
        client.close()
    return redirect(f"{target}?request={request_id}")
