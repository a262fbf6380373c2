"""Monthly assessments (考评): one frozen row per month and unit (district or enterprise).

compliance.assessment.rollup writes these rows (one transaction replaces a month); pages, the
API and bulletins read them through compliance.assessment.selectors. A row keeps the figures it
was scored from, so a published month reads the same whatever the registry or the settings
become later.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fleet.scoping import ScopedQuerySet


class UnitType(models.TextChoices):
    DISTRICT = "district", _("区县分平台")
    ENTERPRISE = "enterprise", _("运输企业")


class RiskGrade(models.TextChoices):
    HIGH = "high", _("高风险")
    MEDIUM = "medium", _("中风险")
    LOW = "low", _("低风险")


class AssessmentQuerySet(ScopedQuerySet):
    # A district sees its own row and its enterprises' rows; an enterprise only its own.
    district_lookup = "district"
    enterprise_lookup = "enterprise"


class MonthlyAssessment(models.Model):
    month = models.DateField(_("考评月份"), help_text=_("该月第一天"))
    unit_type = models.CharField(_("考评对象类型"), max_length=20, choices=UnitType.choices)
    # District rows: the district. Enterprise rows: the enterprise's district when computed.
    district = models.ForeignKey("fleet.District", verbose_name=_("区县"),
                                 on_delete=models.PROTECT, related_name="assessments")
    enterprise = models.ForeignKey("fleet.Enterprise", verbose_name=_("企业"), null=True,
                                   blank=True, on_delete=models.PROTECT,
                                   related_name="assessments")
    # {kpi key: {"value": rate or measure or null, "score": points}}
    kpis = models.JSONField(_("考评指标"), default=dict)
    # The counts the KPIs came from (vehicles, fixes, mileage, check-posts, regional averages…),
    # and for districts the case-handling figures.
    figures = models.JSONField(_("统计数据"), default=dict)
    # NULL: nothing to assess (no 两客一危 vehicle in the unit); such rows are not ranked.
    total = models.FloatField(_("总分"), null=True, blank=True)
    rank = models.PositiveIntegerField(_("排名"), null=True, blank=True)
    risk_grade = models.CharField(_("风险等级"), max_length=10, choices=RiskGrade.choices,
                                  blank=True)
    computed_at = models.DateTimeField(_("计算时间"))

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-month", "unit_type", "rank"]
        verbose_name = _("月度考评")
        verbose_name_plural = _("月度考评")
        constraints = [
            models.UniqueConstraint(fields=["month", "district"],
                                    condition=Q(unit_type="district"),
                                    name="assessment_one_per_district_month"),
            models.UniqueConstraint(fields=["month", "enterprise"],
                                    condition=Q(unit_type="enterprise"),
                                    name="assessment_one_per_enterprise_month"),
            models.CheckConstraint(
                condition=(Q(unit_type="district", enterprise__isnull=True)
                           | Q(unit_type="enterprise", enterprise__isnull=False)),
                name="assessment_unit_matches_type"),
        ]
        indexes = [models.Index(fields=["month", "unit_type", "rank"])]

    def __str__(self) -> str:
        unit = self.enterprise_id if self.unit_type == UnitType.ENTERPRISE else self.district_id
        return f"{self.month:%Y-%m} {self.unit_type} {unit}"
