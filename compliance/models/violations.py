"""One row per violation episode, with the evidence a district needs to act on it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from compliance.catalogue import RULES
from fleet.scoping import ScopedQuerySet


class Severity(models.TextChoices):
    LOW = "low", _("一般")
    MEDIUM = "medium", _("较重")
    HIGH = "high", _("严重")


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("待甄别")
    CONFIRMED = "confirmed", _("已确认")
    DISMISSED = "dismissed", _("已排除")
    # Data-quality records (gps_drift): counted in KPIs, never screened or made a case.
    RECORDED = "recorded", _("仅记录")


class ViolationQuerySet(ScopedQuerySet):
    # The owning district by the territorial principle; enterprises see their vehicles' findings.
    district_lookup = "district"
    enterprise_lookup = "enterprise"

    def screenable(self) -> ViolationQuerySet:
        return self.filter(review_status=ReviewStatus.PENDING)


class Violation(models.Model):
    rule = models.CharField(_("违规类型"), max_length=40,
                            choices=[(code, spec.label) for code, spec in RULES.items()])
    vehicle = models.ForeignKey("fleet.Vehicle", verbose_name=_("车辆"), on_delete=models.PROTECT,
                                related_name="violations")
    # Episode identity besides (vehicle, rule, start): the zone, the 24 h / 7 d window, the stop.
    episode_key = models.CharField(_("事件标识"), max_length=40, blank=True)
    vehicle_kind = models.CharField(_("车辆类型"), max_length=20)
    driver = models.ForeignKey("fleet.Driver", verbose_name=_("当班驾驶员"), null=True,
                               blank=True, on_delete=models.PROTECT, related_name="violations")
    enterprise = models.ForeignKey("fleet.Enterprise", verbose_name=_("所属企业"),
                                   on_delete=models.PROTECT, related_name="violations")
    district = models.ForeignKey("fleet.District", verbose_name=_("属地区县"),
                                 on_delete=models.PROTECT, related_name="violations")
    started_at = models.DateTimeField(_("开始时间"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    location = models.PointField(_("位置"), srid=4326, null=True, blank=True)
    severity = models.CharField(_("严重程度"), max_length=10, choices=Severity.choices)
    measured = models.JSONField(_("测量值"), default=dict, blank=True)
    thresholds = models.JSONField(_("判定阈值"), default=dict, blank=True)
    # NULL: judged by RULES.md's built-in defaults (no setting row existed).
    setting = models.ForeignKey("compliance.RuleSetting", verbose_name=_("规则参数版本"),
                                null=True, blank=True, on_delete=models.PROTECT,
                                related_name="violations")
    track = models.LineStringField(_("轨迹片段"), srid=4326, null=True, blank=True)
    evidence = models.JSONField(_("证据"), default=dict, blank=True)
    review_status = models.CharField(_("甄别状态"), max_length=20, choices=ReviewStatus.choices,
                                     default=ReviewStatus.PENDING)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("甄别人"),
                                    null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reviewed_violations")
    reviewed_at = models.DateTimeField(_("甄别时间"), null=True, blank=True)
    review_note = models.CharField(_("甄别说明"), max_length=200, blank=True)
    auto_confirmed = models.BooleanField(_("自动确认"), default=False)
    detected_at = models.DateTimeField(_("发现时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = ViolationQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("违规记录")
        verbose_name_plural = _("违规记录")
        constraints = [
            # Re-delivered or replayed data never creates a second row for one episode.
            models.UniqueConstraint(fields=["vehicle", "rule", "started_at", "episode_key"],
                                    name="violation_one_per_episode"),
        ]
        indexes = [
            models.Index(fields=["district", "-started_at"]),
            models.Index(fields=["review_status", "rule", "-started_at"]),
            models.Index(fields=["vehicle", "-started_at"]),
            models.Index(fields=["enterprise", "-started_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def ongoing(self) -> bool:
        return self.ended_at is None

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()
