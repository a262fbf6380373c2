"""Per vehicle and day data-quality figures, the inputs of the KPIs (RULES.md §3–4)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from fleet.scoping import ScopedQuerySet


class DayQualityQuerySet(ScopedQuerySet):
    district_lookup = "district"
    enterprise_lookup = "enterprise"


class VehicleDayQuality(models.Model):
    vehicle = models.ForeignKey("fleet.Vehicle", verbose_name=_("车辆"), on_delete=models.CASCADE,
                                related_name="day_quality")
    day = models.DateField(_("日期"))
    # Registry facts on the day, so monthly roll-ups do not depend on later re-registrations.
    vehicle_kind = models.CharField(_("车辆类型"), max_length=20)
    district = models.ForeignKey("fleet.District", verbose_name=_("登记区县"),
                                 on_delete=models.PROTECT, related_name="+")
    enterprise = models.ForeignKey("fleet.Enterprise", verbose_name=_("所属企业"),
                                   on_delete=models.PROTECT, related_name="+")
    mileage_km = models.FloatField(_("里程(km)"), default=0)
    complete_mileage_km = models.FloatField(_("完整轨迹里程(km)"), default=0)
    total_fixes = models.PositiveIntegerField(_("定位点总数"), default=0)
    valid_fixes = models.PositiveIntegerField(_("合格定位点"), default=0)
    drift_fixes = models.PositiveIntegerField(_("漂移点"), default=0)
    online_seconds = models.PositiveIntegerField(_("在线时长(秒)"), default=0)
    overspeed_count = models.PositiveIntegerField(_("超速次数"), default=0)
    fatigue_seconds = models.PositiveIntegerField(_("疲劳驾驶时长(秒)"), default=0)
    computed_at = models.DateTimeField(_("计算时间"), auto_now=True)

    objects = DayQualityQuerySet.as_manager()

    class Meta:
        ordering = ["-day", "vehicle"]
        verbose_name = _("车辆日数据质量")
        verbose_name_plural = _("车辆日数据质量")
        constraints = [models.UniqueConstraint(fields=["vehicle", "day"],
                                               name="vehicle_day_quality_unique")]
        indexes = [models.Index(fields=["day", "district"]),
                   models.Index(fields=["day", "enterprise"])]

    def __str__(self) -> str:
        return f"{self.vehicle_id} {self.day}"

    @property
    def drift(self) -> bool:
        return self.drift_fixes > 0

    @property
    def completeness(self) -> float | None:
        return self.complete_mileage_km / self.mileage_km if self.mileage_km else None

    @property
    def validity(self) -> float | None:
        return self.valid_fixes / self.total_fixes if self.total_fixes else None
