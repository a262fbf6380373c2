"""Versioned rule settings: RULES.md's defaults, overridden per district and per vehicle kind.

Rows are never edited: a change writes a new row with the next version and retires the current
one, so the history is the table itself and a violation can name the exact row it was judged by.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from compliance.catalogue import ALL_KINDS, RULES


class RuleSetting(models.Model):
    rule = models.CharField(_("规则"), max_length=40,
                            choices=[(code, spec.label) for code, spec in RULES.items()])
    # NULL district = city-wide; blank kind = every kind the rule applies to.
    district = models.ForeignKey("fleet.District", verbose_name=_("区县"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="rule_settings")
    vehicle_kind = models.CharField(_("车辆类型"), max_length=20, blank=True,
                                    choices=[(k, k) for k in ALL_KINDS])
    version = models.PositiveIntegerField(_("版本"))
    enabled = models.BooleanField(_("启用"), default=True)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    auto_confirm = models.BooleanField(_("自动确认"), default=False)
    tts_warning = models.BooleanField(_("语音提醒驾驶员"), default=False)
    note = models.CharField(_("修改说明"), max_length=200, blank=True)
    current = models.BooleanField(_("现行"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("修改人"), null=True,
                                   blank=True, on_delete=models.PROTECT,
                                   related_name="rule_settings")

    class Meta:
        ordering = ["rule", "district", "vehicle_kind", "-version"]
        verbose_name = _("规则参数")
        verbose_name_plural = _("规则参数")
        constraints = [
            models.UniqueConstraint(fields=["rule", "district", "vehicle_kind", "version"],
                                    name="rule_setting_version_unique",
                                    nulls_distinct=False),
            models.UniqueConstraint(fields=["rule", "district", "vehicle_kind"],
                                    condition=Q(current=True), name="rule_setting_one_current",
                                    nulls_distinct=False),
        ]

    def __str__(self) -> str:
        return f"{self.rule}@{self.scope_label} v{self.version}"

    @property
    def scope_label(self) -> str:
        district = self.district.code if self.district_id else "city"
        return f"{district}/{self.vehicle_kind or '*'}"
