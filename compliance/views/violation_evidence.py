"""How a violation's evidence reads on its page: the measured values against their thresholds
with readable names and units (durations as h:mm:ss), and the pipeline's evidence JSON read
defensively (any part may be missing or malformed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compliance.catalogue import RULES
from compliance.models import Violation
from fleet.models.registry import CertificateKind, CertificateState

# Readable names of the values the rule engine records (compliance/engine); a rule parameter's
# name is looked up in the catalogue when it is not here. Units follow the key's suffix.
MEASURE_LABELS: dict[str, Any] = {
    "duration_s": gettext_lazy("持续时间"),
    "max_speed_kmh": gettext_lazy("最高车速"),
    "limit_kmh": gettext_lazy("限速"),
    "fixes": gettext_lazy("定位点数"),
    "fatigue_duration_s": gettext_lazy("超时驾驶时长"),
    "continuous_driving_s": gettext_lazy("连续驾驶时长"),
    "max_driving_h": gettext_lazy("窗口内最长累计驾驶"),
    "window": gettext_lazy("统计窗口"),
    "covered_fraction": gettext_lazy("计价器覆盖比例"),
    "distance_m": gettext_lazy("重车行驶里程"),
    "silence_after_s": gettext_lazy("重车期间定位中断"),
    "max_distance_m": gettext_lazy("最大偏离距离"),
    "state": gettext_lazy("资格证状态"),
    "source": gettext_lazy("证件信息来源"),
    "certificate": gettext_lazy("卡内资格证号"),
    "waybill": gettext_lazy("电子运单"),
    "zone_id": gettext_lazy("限行区"),
    "silence_s": gettext_lazy("离线时长"),
    "reports": gettext_lazy("报警次数"),
    "fault": gettext_lazy("故障"),
    "order": gettext_lazy("订单号"),
    "problems": gettext_lazy("问题"),
    "reason": gettext_lazy("原因"),
    "implied_kmh": gettext_lazy("推算车速"),
    "doors_open": gettext_lazy("站外开门"),
    "stop_id": gettext_lazy("站点编号"),
    "min_speed_kmh": gettext_lazy("站内最低车速"),
}
THRESHOLD_LABELS: dict[str, Any] = {
    "min_duration_s": gettext_lazy("最短持续时间"),
    "window": gettext_lazy("禁行时段"),
    "night": gettext_lazy("夜间时段"),
    "window_h": gettext_lazy("统计窗口"),
    "limit_h": gettext_lazy("累计驾驶上限"),
    "required": gettext_lazy("所需资格类别"),
    "offline_after_s": gettext_lazy("营运中离线上限"),
    "max_kmh": gettext_lazy("合理车速上限"),
    "limit_s": gettext_lazy("时长上限"),
    "corridor_m": gettext_lazy("路线宽度"),
}
# A measured value and the threshold it was held against, shown on one row. A threshold may
# itself be measured (the speed limit in force at the worst fix).
PAIRS = {"duration_s": "min_duration_s", "max_speed_kmh": "limit_kmh",
         "covered_fraction": "min_coverage", "distance_m": "min_distance_m",
         "max_distance_m": "corridor_m", "max_driving_h": "limit_h",
         "silence_s": "offline_after_s", "implied_kmh": "max_kmh",
         "silence_after_s": "max_gap_s"}
FRACTIONS = {"covered_fraction", "min_coverage"}
VALUE_LABELS: dict[str, Any] = {
    **{value: label for value, label in CertificateState.choices},
    "missing": gettext_lazy("缺失"),
    "registry": gettext_lazy("登记库资格证"),
    "card": gettext_lazy("IC卡记录"),
    "no_fix": gettext_lazy("点火无定位"),
    "24h": gettext_lazy("24小时"),
    "7d": gettext_lazy("7日"),
    "yes": gettext_lazy("是"),
    "vehicle_permit": gettext_lazy("车辆无有效网约车运输证"),
    "driver_permit": gettext_lazy("驾驶员无有效网约车驾驶员证"),
    "binding_mismatch": gettext_lazy("驾驶员与平台登记不符"),
    **{value: label for value, label in CertificateKind.choices},
}
RESOLUTION_LABELS: dict[str, Any] = {
    "inside": gettext_lazy("位于该区县范围内"),
    "shared": gettext_lazy("位于区县共有边界上"),
    "snapped": gettext_lazy("位于区县间空隙，归最近区县"),
    "registered": gettext_lazy("不在任何区县内，按车辆登记区县"),
}


def hms(seconds: float | None) -> str:
    """Seconds as h:mm:ss (hours not wrapped at 24)."""
    if seconds is None:
        return "—"
    total = round(float(seconds))
    sign = "-" if total < 0 else ""
    hours, rest = divmod(abs(total), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def display_value(key: str, value: Any, *, zone_name: str | None = None) -> str:
    """One recorded value, readable: durations as h:mm:ss, units from the key's suffix."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        if key == "zone_id" and zone_name:
            return zone_name
        parts = [str(VALUE_LABELS.get(part, part)) for part in str(value).split(",")]
        return "、".join(parts)
    if key in FRACTIONS:
        return f"{value * 100:.1f}%"
    if key == "zone_id":
        return zone_name or f"#{value}"
    for suffix, seconds in (("_s", 1), ("_min", 60), ("_h", 3600)):
        if key.endswith(suffix):
            return hms(value * seconds)
    if key.endswith("kmh") or key.endswith("_cap"):
        return f"{_number(value)} km/h"
    if key.endswith("_m"):
        return f"{_number(value)} m"
    if key.endswith("_days"):
        return _("%(n)s 天") % {"n": _number(value)}
    if key.endswith("_factor"):
        return f"× {_number(value)}"
    return _number(value)


def _label(key: str, rule: str, own: dict[str, Any]) -> str:
    if key in own:
        return str(own[key])
    if key in MEASURE_LABELS:
        return str(MEASURE_LABELS[key])
    spec = RULES.get(rule)
    param = next((p for p in spec.params if p.name == key), None) if spec else None
    return str(param.label) if param else key


def _ordered(keys: Any, known: list[str]) -> list[str]:
    """JSONB keeps keys in its own order; show them in the order the labels are listed."""
    rank = {key: n for n, key in enumerate(known)}
    return sorted(keys, key=lambda key: (rank.get(key, len(rank)), key))


def measurement_rows(violation: Violation, zone_name: str | None = None) -> list[dict[str, str]]:
    """Rows of (measured label, value, threshold label, value); unpaired values get a row
    of their own, so nothing the engine recorded is left out."""
    measured = violation.measured if isinstance(violation.measured, dict) else {}
    thresholds = violation.thresholds if isinstance(violation.thresholds, dict) else {}
    spec = RULES.get(violation.rule)
    params = [p.name for p in spec.params] if spec else []
    # A measured value that is another's threshold (the limit in force) shares that row.
    paired = {PAIRS[key] for key in measured if PAIRS.get(key) in measured}
    rows: list[dict[str, str]] = []
    shown_thresholds: set[str] = set()
    for key in _ordered(set(measured) - paired, list(MEASURE_LABELS)):
        row = {"label": _label(key, violation.rule, {}),
               "value": display_value(key, measured[key], zone_name=zone_name),
               "threshold_label": "", "threshold": ""}
        pair = PAIRS.get(key)
        if pair in thresholds or pair in measured:
            own = THRESHOLD_LABELS if pair in thresholds else {}
            row["threshold_label"] = _label(pair, violation.rule, own)
            row["threshold"] = display_value(pair, thresholds.get(pair, measured.get(pair)))
            shown_thresholds.add(pair)
        rows.append(row)
    for key in _ordered(set(thresholds) - shown_thresholds, [*params, *THRESHOLD_LABELS]):
        rows.append({"label": "", "value": "",
                     "threshold_label": _label(key, violation.rule, THRESHOLD_LABELS),
                     "threshold": display_value(key, thresholds[key])})
    return rows


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _coordinate(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def read_evidence(evidence: Any) -> dict[str, Any]:
    """The pipeline's evidence JSON, tolerating missing or malformed parts."""
    evidence = evidence if isinstance(evidence, dict) else {}
    events = [{"time": _moment(e.get("time")), "kind": str(e.get("kind") or ""),
               "code": str(e.get("code") or ""), "lon": _coordinate(e.get("lon")),
               "lat": _coordinate(e.get("lat"))}
              for e in evidence.get("events") or [] if isinstance(e, dict)]
    trips = [{"boarded_at": _moment(t.get("boarded_at")),
              "alighted_at": _moment(t.get("alighted_at")),
              "trip_number": str(t.get("trip_number") or "")}
             for t in evidence.get("meter_trips") or [] if isinstance(t, dict)]
    raw = evidence.get("resolution")
    resolution = None
    if isinstance(raw, dict) and raw.get("how"):
        how = str(raw["how"])
        distance = _coordinate(raw.get("distance_m"))
        resolution = {"how": how, "label": str(RESOLUTION_LABELS.get(how, how)),
                      "distance": display_value("distance_m", round(distance, 1))
                      if distance else ""}
    return {"events": events, "meter_trips": trips, "resolution": resolution}
