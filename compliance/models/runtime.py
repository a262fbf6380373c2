"""What the live rule pipeline keeps besides violations: per-vehicle checkpoints of the rules'
state (so a worker taking over a shard resumes where the last one stopped) and the spoken
warnings it sent to drivers."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleCheckpoint(models.Model):
    vehicle = models.OneToOneField("fleet.Vehicle", primary_key=True, on_delete=models.CASCADE,
                                   related_name="+")
    # The last fix time the saved state has seen; fixes after it are replayed from the store.
    through = models.DateTimeField()
    state = models.BinaryField()
    saved_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("规则状态检查点")
        verbose_name_plural = _("规则状态检查点")

    def __str__(self) -> str:
        return f"{self.vehicle_id} @ {self.through:%Y-%m-%d %H:%M:%S}"


class WarningResult(models.TextChoices):
    SENT = "sent", _("已下发")
    ACKNOWLEDGED = "acknowledged", _("终端已应答")
    NOT_CONNECTED = "not_connected", _("终端不在线")
    FAILED = "failed", _("下发失败")


class TerminalWarning(models.Model):
    violation = models.ForeignKey("compliance.Violation", verbose_name=_("违规记录"),
                                  on_delete=models.CASCADE, related_name="warnings")
    text = models.CharField(_("提醒内容"), max_length=200)
    requested_at = models.DateTimeField(_("下发时间"), auto_now_add=True)
    result = models.CharField(_("结果"), max_length=20, choices=WarningResult.choices)
    detail = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("语音提醒")
        verbose_name_plural = _("语音提醒")

    def __str__(self) -> str:
        return f"{self.violation_id} {self.result}"
