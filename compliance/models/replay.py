"""A run of the rules over stored history (what-if or rebuild), with its progress and results."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReplayState(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("运行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ReplayRun(models.Model):
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), null=True,
                                   blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("发起时间"), auto_now_add=True)
    period_start = models.DateTimeField(_("开始时间"))
    period_end = models.DateTimeField(_("结束时间"))
    # Which vehicles: {"vehicle_ids": [...], "kinds": [...], "district_ids": [...]}; empty = all.
    selection = models.JSONField(_("车辆范围"), default=dict, blank=True)
    # What-if thresholds: {"overspeed": {"min_duration_s": 60}, ...}; empty = settings in force.
    overrides = models.JSONField(_("参数调整"), default=dict, blank=True)
    rules = models.JSONField(_("规则"), default=list, blank=True)  # empty = all
    rebuild = models.BooleanField(_("重建违规记录"), default=False)
    state = models.CharField(_("状态"), max_length=10, choices=ReplayState.choices,
                             default=ReplayState.QUEUED)
    total_vehicles = models.PositiveIntegerField(_("车辆数"), default=0)
    done_vehicles = models.PositiveIntegerField(_("已完成车辆"), default=0)
    fixes = models.PositiveBigIntegerField(_("定位点"), default=0)
    results = models.JSONField(_("结果"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)
    started_at = models.DateTimeField(_("开始运行"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束运行"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("规则回放")
        verbose_name_plural = _("规则回放")

    def __str__(self) -> str:
        return f"replay #{self.pk} {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"

    @property
    def progress(self) -> float:
        if self.state == ReplayState.DONE:
            return 1.0
        return self.done_vehicles / self.total_vehicles if self.total_vehicles else 0.0
