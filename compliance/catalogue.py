"""The rules of RULES.md §2 as data: who they apply to, their tunable parameters and defaults.

Everything the portal shows about a rule (name, units, limits) and everything the settings store
validates comes from here, so a new parameter is one line in one place. The defaults are the
values of RULES.md; the bureau overrides them per district and vehicle kind (compliance.models
.RuleSetting) without a deploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

ALL_KINDS = ("taxi", "ride_hailing", "bus", "coach", "hazmat", "heavy_truck")
ParamType = Literal["int", "float", "switch"]  # switch: 1 yes, 0 no (a checkbox in the portal)


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    unit: str
    default: float
    minimum: float
    maximum: float
    type: ParamType = "float"

    def coerce(self, raw: object) -> float | int:
        """The value as the rule uses it; ValueError with a readable message when out of range."""
        value = float(raw)  # type: ignore[arg-type]
        if self.type == "switch" and value not in (0, 1):
            raise ValueError(f"{self.name}: {value} is neither 0 (no) nor 1 (yes)")
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"{self.name}: {value} not in [{self.minimum}, {self.maximum}]")
        return value if self.type == "float" else int(value)


@dataclass(frozen=True)
class RuleSpec:
    code: str
    label: str
    kinds: tuple[str, ...]
    severity: Literal["low", "medium", "high"]
    params: tuple[Param, ...] = ()
    # False for data-quality records (gps_drift): never screened, never a case.
    screened: bool = True
    # The platform may speak a warning to the driver (0x8300) when one opens.
    warnable: bool = False

    def defaults(self) -> dict[str, float | int]:
        return {p.name: p.coerce(p.default) for p in self.params}

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


def _alarm_params() -> tuple[Param, ...]:
    return (Param("quiet_close_s", _("无结束报告时自动结束"), "s", 60, 5, 3600, "int"),
            Param("merge_gap_s", _("合并间隔"), "s", 60, 0, 3600, "int"))


_DSM_KINDS = ("taxi", "bus", "coach", "hazmat")

RULES: dict[str, RuleSpec] = {spec.code: spec for spec in (
    RuleSpec("overspeed", _("超速"), ALL_KINDS, "medium", (
        Param("min_duration_s", _("持续时间"), "s", 30, 0, 600, "int"),
        Param("merge_gap_s", _("合并间隔"), "s", 60, 0, 600, "int"),
        Param("hazmat_expressway_cap", _("危货车高速限速"), "km/h", 80, 20, 120),
        Param("hazmat_cap", _("危货车其他道路限速"), "km/h", 60, 20, 120),
        Param("coach_night_factor", _("客车夜间限速系数"), "", 0.8, 0.5, 1.0),
    ), warnable=True),
    RuleSpec("fatigue_continuous", _("连续驾驶超时"),
             ("coach", "hazmat", "heavy_truck", "bus", "taxi"), "high", (
        Param("day_limit_h", _("日间连续驾驶上限"), "h", 4, 0.5, 12),
        Param("night_limit_h", _("夜间连续驾驶上限"), "h", 2, 0.5, 12),
        Param("reset_stop_min", _("休息重置时长"), "min", 20, 1, 240, "int"),
    ), warnable=True),
    RuleSpec("fatigue_daily", _("日累计驾驶超时"), ("coach", "hazmat", "heavy_truck"), "high", (
        Param("day_limit_h", _("24小时累计上限"), "h", 8, 1, 24),
        Param("week_limit_h", _("客车7日累计上限"), "h", 44, 1, 168),
    ), warnable=True),
    RuleSpec("night_ban", _("夜间禁行(2-5时)"), ("coach",), "high", (
        Param("ban_start_h", _("禁行开始"), pgettext_lazy("unit", "时"), 2, 0, 23, "int"),
        Param("ban_end_h", _("禁行结束"), pgettext_lazy("unit", "时"), 5, 1, 24, "int"),
    )),
    RuleSpec("no_meter", _("重车未打表"), ("taxi",), "medium", (
        Param("min_duration_s", _("重车最短时长"), "s", 180, 0, 3600, "int"),
        Param("min_distance_m", _("重车最短里程"), "m", 500, 0, 20000),
        Param("min_coverage", _("计价覆盖比例下限"), "", 0.5, 0, 1),
        Param("grace_s", _("等待营运数据时长"), "s", 300, 0, 3600, "int"),
        # A silence longer than this inside a loaded interval ends it at its last loaded fix
        # (what happened unseen is not counted; a loaded fix after it starts a new interval).
        Param("max_gap_s", _("重车定位中断上限"), "s", 300, 30, 3600, "int"),
    )),
    RuleSpec("dsm_phone", _("接打手机"), _DSM_KINDS, "medium", _alarm_params()),
    RuleSpec("dsm_smoking", _("抽烟"), _DSM_KINDS, "low", _alarm_params()),
    RuleSpec("dsm_distraction", _("分神驾驶"), _DSM_KINDS, "medium", _alarm_params()),
    RuleSpec("dsm_fatigue", _("疲劳驾驶报警"), _DSM_KINDS, "high", _alarm_params()),
    RuleSpec("dsm_seatbelt", _("未系安全带"), _DSM_KINDS, "low", _alarm_params()),
    RuleSpec("camera_blocked", _("遮挡摄像头"), _DSM_KINDS, "medium", _alarm_params()),
    RuleSpec("zebra_not_yield", _("斑马线未礼让行人"), ("taxi", "bus"), "medium",
             _alarm_params()),
    RuleSpec("device_fault", _("终端故障"), ALL_KINDS, "low", (
        *_alarm_params(),
        Param("no_fix_min", _("点火无定位时长"), "min", 10, 1, 240, "int"),
    )),
    RuleSpec("offline_in_service", _("营运中离线"), ("coach", "hazmat", "heavy_truck"), "medium", (
        Param("offline_after_min", _("营运中离线时长"), "min", 10, 1, 240, "int"),
        Param("silence_h", _("任何车辆离线时长"), "h", 24, 1, 720),
        # 1: a report without a position (GNSS lost, the terminal still sending) is not a
        # silence — that terminal is online, in device_fault; 0: only positioned fixes count.
        Param("reports_keep_online", _("无定位汇报视为在线"), "", 1, 0, 1, "switch"),
    )),
    RuleSpec("gps_drift", _("定位漂移"), ALL_KINDS, "low", screened=False),
    RuleSpec("no_waybill", _("无电子运单运输"), ("hazmat",), "high", (
        Param("early_margin_min", _("运单计划起运前有效"), "min", 60, 0, 1440, "int"),
        Param("late_margin_min", _("运单计划到达后有效"), "min", 240, 0, 2880, "int"),
    )),
    RuleSpec("no_escort", _("无押运员"), ("hazmat",), "high"),
    RuleSpec("cert_invalid", _("从业资格证无效"), ("hazmat", "coach", "taxi", "ride_hailing"),
             "high", (
        Param("void_after_days", _("过期作废天数"), pgettext_lazy("unit", "天"), 180, 1, 3650,
              "int"),
    )),
    RuleSpec("restricted_zone", _("闯入限行区"), ("hazmat",), "high", (
        # 1: a truck at an approved place inside the zone (its depot, a hazmat parking lot) is
        # not passing through it (art. 49 restricts 通行); it counts once it drives out of the
        # place while the window is in force. 0: anywhere inside counts.
        Param("exempt_approved_places", _("场站内不计"), "", 1, 0, 1, "switch"),
    )),
    RuleSpec("route_deviation", _("偏离路线"), ("hazmat", "bus", "coach"), "medium", (
        Param("corridor_hazmat_m", _("危货车路线宽度"), "m", 200, 20, 5000),
        Param("corridor_coach_m", _("客车线路宽度"), "m", 200, 20, 5000),
        Param("corridor_bus_m", _("公交线路宽度"), "m", 100, 20, 5000),
        Param("deviation_after_s", _("偏离持续时间"), "s", 120, 0, 3600, "int"),
        Param("back_inside_s", _("回到线路持续时间"), "s", 60, 0, 3600, "int"),
    )),
    RuleSpec("long_stop_toxic", _("剧毒爆炸品违规停车"), ("hazmat",), "high", (
        Param("stop_limit_min", _("停车时长上限"), "min", 30, 1, 720, "int"),
    )),
    RuleSpec("bus_skip_stop", _("公交越站"), ("bus",), "low", (
        # A visit is judged only when seen whole: entered from a fix outside the geofence and
        # no gap longer than this between its fixes. Data that begins inside a stop (a terminal
        # powered on mid-route) or a silence there may hide a stop: not judged.
        Param("max_gap_s", _("判定所需定位间隔上限"), "s", 60, 10, 600, "int"),
    )),
    RuleSpec("bus_stop_outside", _("公交站外停车/开门"), ("bus",), "low", (
        Param("limit_s", _("站外停车时长"), "s", 30, 0, 600, "int"),
    )),
    RuleSpec("unlicensed_ride_hailing", _("网约车无证营运"), ("ride_hailing",), "high"),
)}


def applies(rule: str, kind: str) -> bool:
    return kind in RULES[rule].kinds


def validate_params(rule: str, raw: dict[str, object]) -> dict[str, float | int]:
    """Full parameter set for ``rule``: defaults overlaid with ``raw``; unknown names refused."""
    spec = RULES[rule]
    unknown = set(raw) - {p.name for p in spec.params}
    if unknown:
        raise ValueError(f"unknown parameters for {rule}: {', '.join(sorted(unknown))}")
    values = spec.defaults()
    for name, value in raw.items():
        values[name] = spec.param(name).coerce(value)
    return values
