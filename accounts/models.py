from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.roles import ROLE_CAPABILITIES, ROLE_LEVELS, Level, Role


@dataclass(frozen=True)
class Scope:
    """What a user may see: everything, some districts, or one enterprise."""

    everything: bool
    district_ids: tuple[int, ...] = ()
    enterprise_id: int | None = None


class User(AbstractUser):
    level = models.CharField(_("所属层级"), max_length=20, choices=Level.choices,
                             default=Level.BUREAU)
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices,
                            default=Role.BUREAU_ANALYST)
    districts = models.ManyToManyField("fleet.District", verbose_name=_("所属区县"), blank=True,
                                       related_name="users")
    # SET_NULL fails closed: an enterprise user whose enterprise is gone sees nothing.
    enterprise = models.ForeignKey("fleet.Enterprise", verbose_name=_("所属企业"), null=True,
                                   blank=True, on_delete=models.SET_NULL, related_name="users")
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username

    def clean(self) -> None:
        super().clean()
        if self.level not in ROLE_LEVELS.get(self.role, frozenset()):
            raise ValidationError({"role": _("该角色不属于所选层级")})
        if self.level == Level.ENTERPRISE and self.enterprise_id is None:
            raise ValidationError({"enterprise": _("企业用户须指定所属企业")})
        if self.level != Level.ENTERPRISE and self.enterprise_id is not None:
            raise ValidationError({"enterprise": _("只有企业用户可以指定所属企业")})

    @cached_property
    def scope(self) -> Scope:
        if self.is_superuser or self.level == Level.BUREAU:
            return Scope(everything=True)
        if self.level == Level.ENTERPRISE:
            return Scope(everything=False, enterprise_id=self.enterprise_id)
        return Scope(everything=False,
                     district_ids=tuple(self.districts.values_list("pk", flat=True)))

    def can(self, capability: str) -> bool:
        if not self.is_active:
            return False
        return self.is_superuser or capability in ROLE_CAPABILITIES.get(self.role, frozenset())


class AuditEvent(models.Model):
    """Append-only record of every write made through a service function."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, verbose_name=_("操作人"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="audit_events")
    action = models.CharField(_("操作"), max_length=50)
    object_type = models.CharField(_("对象类型"), max_length=50)
    object_id = models.CharField(_("对象ID"), max_length=50, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("操作日志")
        verbose_name_plural = _("操作日志")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"
