"""Hazardous-goods electronic waybills (电子运单)."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from fleet.models.registry import Driver, Vehicle
from fleet.scoping import ScopedQuerySet, VehicleOwnedQuerySet


class WaybillState(models.TextChoices):
    ISSUED = "issued", _("已开具")
    IN_TRANSIT = "in_transit", _("运输中")
    COMPLETED = "completed", _("已完成")
    CANCELLED = "cancelled", _("已作废")


class Waybill(models.Model):
    number = models.CharField(_("运单号"), max_length=40, unique=True)
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("牵引车/车辆"), on_delete=models.PROTECT,
                                related_name="waybills")
    trailer_plate = models.CharField(_("挂车号牌"), max_length=10, blank=True)
    driver = models.ForeignKey(Driver, verbose_name=_("驾驶员"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="waybills_driven")
    escort = models.ForeignKey(Driver, verbose_name=_("押运员"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="waybills_escorted")
    shipper = models.CharField(_("托运人"), max_length=100)
    consignee = models.CharField(_("收货人"), max_length=100)
    origin_name = models.CharField(_("起运地"), max_length=100)
    origin = models.PointField(_("起运地位置"), srid=4326, null=True, blank=True)
    destination_name = models.CharField(_("目的地"), max_length=100)
    destination = models.PointField(_("目的地位置"), srid=4326, null=True, blank=True)
    planned_route = models.LineStringField(_("计划路线"), srid=4326, null=True, blank=True)
    planned_start = models.DateTimeField(_("计划起运时间"))
    planned_end = models.DateTimeField(_("计划到达时间"))
    state = models.CharField(_("状态"), max_length=20, choices=WaybillState.choices,
                             default=WaybillState.ISSUED)

    objects = VehicleOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-planned_start"]
        verbose_name = _("电子运单")
        verbose_name_plural = _("电子运单")
        indexes = [models.Index(fields=["vehicle", "state"])]

    def __str__(self) -> str:
        return self.number

    def clean(self) -> None:
        if self.planned_start and self.planned_end and self.planned_end <= self.planned_start:
            raise ValidationError({"planned_end": _("计划到达时间须晚于起运时间")})
        if self.escort_id and self.escort_id == self.driver_id:
            raise ValidationError({"escort": _("押运员不能与驾驶员为同一人")})


class WaybillGoodsQuerySet(ScopedQuerySet):
    district_lookup = "waybill__vehicle__registered_district"
    enterprise_lookup = "waybill__vehicle__enterprise"


class WaybillGoods(models.Model):
    waybill = models.ForeignKey(Waybill, verbose_name=_("运单"), on_delete=models.CASCADE,
                                related_name="goods")
    un_number = models.CharField(_("UN编号"), max_length=6)
    name = models.CharField(_("品名"), max_length=100)
    hazard_class = models.CharField(_("类别"), max_length=5)
    packing_group = models.CharField(_("包装类别"), max_length=3, blank=True,
                                     choices=[("I", "I"), ("II", "II"), ("III", "III")])
    quantity = models.DecimalField(_("数量"), max_digits=10, decimal_places=3)
    unit = models.CharField(_("单位"), max_length=10, default="t")

    objects = WaybillGoodsQuerySet.as_manager()

    class Meta:
        verbose_name = _("运输货物")
        verbose_name_plural = _("运输货物")

    def __str__(self) -> str:
        return f"UN{self.un_number} {self.name}"
