"""Jurisdictions and the reference geography the rules use (roads, zones, bus and coach lines)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fleet.scoping import ScopedQuerySet


class DistrictQuerySet(ScopedQuerySet):
    district_lookup = "pk"
    enterprise_lookup = "enterprises"


class District(models.Model):
    code = models.CharField(_("行政区划代码"), max_length=6, unique=True,
                            help_text=_("GB/T 2260 六位代码"))
    name = models.CharField(_("名称"), max_length=50)
    parent = models.ForeignKey("self", verbose_name=_("上级"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    boundary = models.MultiPolygonField(_("边界"), srid=4326, null=True, blank=True)
    # What the importer changed when it had to repair the delivered geometry.
    boundary_repair_note = models.TextField(_("边界修复说明"), blank=True)

    objects = DistrictQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("区县")
        verbose_name_plural = _("区县")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not (len(self.code) == 6 and self.code.isdigit()):
            raise ValidationError({"code": _("行政区划代码应为6位数字")})


class RoadClass(models.TextChoices):
    EXPRESSWAY = "expressway", _("高速公路")
    NATIONAL = "national", _("国道")
    ARTERIAL = "arterial", _("城市主干路")
    SECONDARY = "secondary", _("城市次干路")
    LOCAL = "local", _("支路")


class RoadSegmentQuerySet(ScopedQuerySet):
    public_filter = Q(pk__isnull=False)  # the road network is reference data for everyone


class RoadSegment(models.Model):
    name = models.CharField(_("道路名称"), max_length=100)
    road_class = models.CharField(_("道路等级"), max_length=20, choices=RoadClass.choices)
    speed_limit_kmh = models.PositiveSmallIntegerField(_("限速(km/h)"))
    geometry = models.LineStringField(_("线形"), srid=4326)

    objects = RoadSegmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("路段")
        verbose_name_plural = _("路段")

    def __str__(self) -> str:
        return f"{self.name} ({self.speed_limit_kmh} km/h)"


class ZoneKind(models.TextChoices):
    HAZMAT_RESTRICTED = "hazmat_restricted", _("危险品车辆限行区")
    SPEED_LIMIT = "speed_limit", _("限速区")
    BUS_STOP = "bus_stop", _("公交站点")
    DEPOT = "depot", _("场站")
    TRANSPORT_HUB = "transport_hub", _("交通枢纽")
    SCHOOL = "school", _("学校区域")
    # Approved stops for hazardous-goods vehicles: long_stop_toxic does not apply inside.
    HAZMAT_PARKING = "hazmat_parking", _("危险品车辆停车场")


def validate_time_windows(windows: Any) -> None:
    """Weekly windows: ``[{"days": [1..7], "start": "HH:MM", "end": "HH:MM"}, ...]``.

    ISO weekdays (1 = Monday). A window whose end is not after its start runs over midnight
    (e.g. 22:00–06:00). An empty list means "always".
    """
    if not isinstance(windows, list):
        raise ValidationError(_("时段应为列表"), code="bad_windows")
    for window in windows:
        if not isinstance(window, dict) or set(window) != {"days", "start", "end"}:
            raise ValidationError(_("时段格式应为 {days, start, end}"), code="bad_windows")
        days = window["days"]
        if not isinstance(days, list) or not days or any(d not in range(1, 8) for d in days):
            raise ValidationError(_("星期应为1至7"), code="bad_windows")
        for key in ("start", "end"):
            try:
                dt.time.fromisoformat(window[key])
            except (TypeError, ValueError):
                raise ValidationError(_("时间应为 HH:MM"), code="bad_windows") from None


WeeklyWindow = tuple[frozenset[int], dt.time, dt.time]  # ISO weekdays, start, end


def parse_windows(windows: list[dict[str, Any]]) -> tuple[WeeklyWindow, ...]:
    """Stored windows (validated by validate_time_windows) as windows_contain reads them:
    parsed once, for a caller asking about many moments (the rules, per fix)."""
    return tuple((frozenset(window["days"]), dt.time.fromisoformat(window["start"]),
                  dt.time.fromisoformat(window["end"])) for window in windows)


def window_contains(windows: list[dict[str, Any]], moment: dt.datetime) -> bool:
    """Whether local ``moment`` falls in any weekly window (empty list = always)."""
    return windows_contain(parse_windows(windows), moment)


def windows_contain(windows: tuple[WeeklyWindow, ...], moment: dt.datetime) -> bool:
    """window_contains over parsed windows."""
    if not windows:
        return True
    clock = moment.time().replace(tzinfo=None)
    weekday = moment.isoweekday()
    for days, start, end in windows:
        if start < end:
            if weekday in days and start <= clock < end:
                return True
        else:  # runs over midnight: the part after midnight belongs to the previous day's window
            if weekday in days and clock >= start:
                return True
            previous_day = 7 if weekday == 1 else weekday - 1
            if previous_day in days and clock < end:
                return True
    return False


class ZoneQuerySet(ScopedQuerySet):
    district_lookup = "district"
    public_filter = Q(district__isnull=True)  # city-wide zones bind every district


class Zone(models.Model):
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=30, choices=ZoneKind.choices)
    geometry = models.GeometryField(_("范围"), srid=4326)
    district = models.ForeignKey(District, verbose_name=_("所属区县"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="zones",
                                 help_text=_("留空表示全市适用"))
    time_windows = models.JSONField(_("生效时段"), default=list, blank=True,
                                    validators=[validate_time_windows])
    speed_limit_kmh = models.PositiveSmallIntegerField(_("限速(km/h)"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    objects = ZoneQuerySet.as_manager()

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        indexes = [models.Index(fields=["kind"])]

    def __str__(self) -> str:
        return self.name

    def is_in_force_at(self, local_moment: dt.datetime) -> bool:
        return self.active and window_contains(self.time_windows, local_moment)


class BusLineQuerySet(ScopedQuerySet):
    district_lookup = "district"
    enterprise_lookup = "enterprise"


class BusLine(models.Model):
    number = models.CharField(_("线路编号"), max_length=20, unique=True)
    name = models.CharField(_("线路名称"), max_length=100)
    enterprise = models.ForeignKey("fleet.Enterprise", verbose_name=_("运营企业"),
                                   on_delete=models.PROTECT, related_name="bus_lines")
    district = models.ForeignKey(District, verbose_name=_("主管区县"), on_delete=models.PROTECT,
                                 related_name="bus_lines")
    route = models.LineStringField(_("线路走向"), srid=4326)

    objects = BusLineQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        verbose_name = _("公交线路")
        verbose_name_plural = _("公交线路")

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class BusStopQuerySet(ScopedQuerySet):
    district_lookup = "line__district"
    enterprise_lookup = "line__enterprise"


class BusStop(models.Model):
    line = models.ForeignKey(BusLine, verbose_name=_("线路"), on_delete=models.CASCADE,
                             related_name="stops")
    sequence = models.PositiveSmallIntegerField(_("站序"))
    name = models.CharField(_("站名"), max_length=100)
    location = models.PointField(_("位置"), srid=4326)
    radius_m = models.PositiveSmallIntegerField(_("站点半径(米)"), default=30)

    objects = BusStopQuerySet.as_manager()

    class Meta:
        ordering = ["line", "sequence"]
        verbose_name = _("公交站点")
        verbose_name_plural = _("公交站点")
        constraints = [
            models.UniqueConstraint(fields=["line", "sequence"], name="bus_stop_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.line.number}-{self.sequence} {self.name}"


class CoachServiceType(models.TextChoices):
    REGULAR = "regular", _("班线客运")
    CHARTER = "charter", _("包车")
    TOURISM = "tourism", _("旅游")
    RELAY = "relay", _("接驳运输")
    AIRPORT_SHUTTLE = "airport_shuttle", _("机场专线")
    RAIL_SHUTTLE = "rail_shuttle", _("高铁专线")


# RULES.md §2 night_ban: relay (接驳) lines and airport/rail shuttles may be exempted whatever
# their length; any other line only when its one-way distance is at most 200 km.
NIGHT_BAN_EXEMPTIBLE_SERVICES = frozenset({
    CoachServiceType.RELAY, CoachServiceType.AIRPORT_SHUTTLE, CoachServiceType.RAIL_SHUTTLE})
NIGHT_BAN_EXEMPTIBLE_MAX_KM = Decimal(200)


def may_be_night_ban_exempt(service_type: str, one_way_km: Decimal | None) -> bool:
    """Whether a line may be marked exempt from the 02:00–05:00 ban (the bureau still decides:
    a qualifying line is exempt only when its flag is set)."""
    if service_type in NIGHT_BAN_EXEMPTIBLE_SERVICES:
        return True
    return one_way_km is not None and one_way_km <= NIGHT_BAN_EXEMPTIBLE_MAX_KM


class CoachLineQuerySet(ScopedQuerySet):
    district_lookup = "district"
    enterprise_lookup = "enterprise"


class CoachLine(models.Model):
    """An approved coach line (客运班线): the route a scheduled coach must keep to, and whether
    the bureau exempts it from the night ban."""

    number = models.CharField(_("班线编号"), max_length=20, unique=True)
    name = models.CharField(_("班线名称"), max_length=100)
    enterprise = models.ForeignKey("fleet.Enterprise", verbose_name=_("运营企业"),
                                   on_delete=models.PROTECT, related_name="coach_lines")
    district = models.ForeignKey(District, verbose_name=_("主管区县"), on_delete=models.PROTECT,
                                 related_name="coach_lines")
    # Within the city the route is what the monitoring platform checks; the line may go on
    # beyond the boundary, so ``one_way_km`` is the whole line's length, not the route's.
    route = models.LineStringField(_("线路走向"), srid=4326)
    one_way_km = models.DecimalField(_("单程里程(km)"), max_digits=6, decimal_places=1,
                                     validators=[MinValueValidator(Decimal("0.1"))])
    service_type = models.CharField(_("经营类型"), max_length=20,
                                    choices=CoachServiceType.choices,
                                    default=CoachServiceType.REGULAR)
    night_ban_exempt = models.BooleanField(
        _("豁免夜间禁行"), default=False,
        help_text=_("经核定可在02:00至05:00运行（接驳运输、机场专线、高铁专线或单程不超过200公里）"))
    exemption_note = models.TextField(_("豁免说明"), blank=True,
                                      help_text=_("核定依据、批准文号等"))

    objects = CoachLineQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        verbose_name = _("客运班线")
        verbose_name_plural = _("客运班线")

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def qualifies_for_night_ban_exemption(self) -> bool:
        return may_be_night_ban_exempt(self.service_type, self.one_way_km)

    def clean(self) -> None:
        if not self.night_ban_exempt or self.qualifies_for_night_ban_exemption:
            return
        if self.one_way_km is None:
            return  # the missing distance is reported on its own field
        raise ValidationError({"night_ban_exempt": _(
            "只有接驳运输、机场专线、高铁专线或单程不超过200公里的班线可以豁免夜间禁行"
            "（本班线为%(service)s，单程%(km)s公里）")
            % {"service": self.get_service_type_display(), "km": self.one_way_km}})
