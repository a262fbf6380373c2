"""What the pipeline stores besides positions: latest state, terminal events, meter trips.

Positions themselves live in a partitioned table written by COPY (fleet/telemetry/schema.py).
"""

from __future__ import annotations

from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from fleet.models.registry import Driver, Vehicle
from fleet.scoping import ScopedQuerySet, VehicleOwnedQuerySet


class LoadState(models.TextChoices):
    EMPTY = "empty", _("空车")
    HALF = "half", _("半载")
    FULL = "full", _("重车")


class VehicleState(models.Model):
    """The latest known state of one vehicle (one row per vehicle, upserted by the pipeline)."""

    vehicle = models.OneToOneField(Vehicle, verbose_name=_("车辆"), primary_key=True,
                                   on_delete=models.CASCADE, related_name="state")
    fix_time = models.DateTimeField(_("定位时间"))
    received_at = models.DateTimeField(_("接收时间"))
    # No index on the columns every fix rewrites (location, received_at): without them PostgreSQL
    # can update the row in place (HOT), which is most of the cost of a busy latest-state table.
    location = models.PointField(_("位置"), srid=4326, null=True, blank=True,
                                 spatial_index=False)
    speed_kmh = models.FloatField(_("速度(km/h)"), default=0)
    heading = models.PositiveSmallIntegerField(_("方向"), default=0)
    status = models.BigIntegerField(_("状态位"), default=0)
    alarm = models.BigIntegerField(_("报警位"), default=0)
    acc_on = models.BooleanField(_("ACC"), default=False)
    load_state = models.CharField(_("载客状态"), max_length=10, choices=LoadState.choices,
                                  default=LoadState.EMPTY)
    driver = models.ForeignKey(Driver, verbose_name=_("当班驾驶员"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    online = models.BooleanField(_("在线"), default=True)
    last_event = models.CharField(_("最近事件"), max_length=40, blank=True)
    last_event_at = models.DateTimeField(_("最近事件时间"), null=True, blank=True)

    objects = VehicleOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("车辆实时状态")
        verbose_name_plural = _("车辆实时状态")

    def __str__(self) -> str:
        return f"{self.vehicle_id} @ {self.fix_time:%Y-%m-%d %H:%M:%S}"


class TerminalEventLog(models.Model):
    """A terminal-reported event kept with its raw values (alarms, DSM/ADAS items, card in/out,
    logins). Unique per (vehicle, time, kind, code, alarm id) so re-delivery changes nothing."""

    vehicle = models.ForeignKey(Vehicle, verbose_name=_("车辆"), on_delete=models.CASCADE,
                                related_name="terminal_events")
    time = models.DateTimeField(_("时间"))
    received_at = models.DateTimeField(_("接收时间"))
    kind = models.CharField(_("类型"), max_length=30)
    code = models.CharField(_("代码"), max_length=40, blank=True)
    event_key = models.CharField(max_length=40, blank=True,
                                 help_text="distinguishes events of one kind at one instant")
    detail = models.JSONField(_("原始数据"), default=dict, blank=True)

    objects = VehicleOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-time"]
        verbose_name = _("终端事件")
        verbose_name_plural = _("终端事件")
        constraints = [
            models.UniqueConstraint(fields=["vehicle", "time", "kind", "code", "event_key"],
                                    name="terminal_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.code} {self.time:%Y-%m-%d %H:%M:%S}"


class MeterTrip(models.Model):
    """A taxi meter (计价器) trip record (JT/T 905 operation data or the ingest API)."""

    vehicle = models.ForeignKey(Vehicle, verbose_name=_("车辆"), on_delete=models.CASCADE,
                                related_name="meter_trips")
    source = models.CharField(_("来源"), max_length=40)
    trip_number = models.CharField(_("营运序号"), max_length=40, blank=True)
    boarded_at = models.DateTimeField(_("上车时间"))
    alighted_at = models.DateTimeField(_("下车时间"))
    board_location = models.PointField(_("上车位置"), srid=4326, null=True, blank=True)
    alight_location = models.PointField(_("下车位置"), srid=4326, null=True, blank=True)
    distance_km = models.DecimalField(_("里程(km)"), max_digits=7, decimal_places=2)
    fare_yuan = models.DecimalField(_("金额(元)"), max_digits=8, decimal_places=2)
    received_at = models.DateTimeField(_("接收时间"))

    objects = VehicleOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-boarded_at"]
        verbose_name = _("计价器营运记录")
        verbose_name_plural = _("计价器营运记录")
        constraints = [
            models.UniqueConstraint(fields=["source", "vehicle", "boarded_at"],
                                    name="meter_trip_once"),
            models.CheckConstraint(condition=models.Q(alighted_at__gte=models.F("boarded_at")),
                                   name="meter_trip_order"),
        ]

    def __str__(self) -> str:
        return f"{self.vehicle_id} {self.boarded_at:%Y-%m-%d %H:%M}"


class IngestSourceQuerySet(ScopedQuerySet):
    enterprise_lookup = "enterprise"  # districts do not manage data sources; the bureau does


class IngestSource(models.Model):
    """A system that pushes data over HTTP (ride-hailing platform, another bureau system, a
    protocol converter). Authenticated by an API key stored only as its SHA-256."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    enterprise = models.ForeignKey("fleet.Enterprise", verbose_name=_("限定企业"), null=True,
                                   blank=True, on_delete=models.PROTECT,
                                   related_name="ingest_sources",
                                   help_text=_("设置后只接受该企业车辆的数据"))
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = IngestSourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("数据接入方")
        verbose_name_plural = _("数据接入方")

    def __str__(self) -> str:
        return self.name

    @property
    def is_authenticated(self) -> bool:  # lets DRF treat the source as the request's user
        return True


class OrderStatus(models.TextChoices):
    ACCEPTED = "accepted", _("已接单")
    STARTED = "started", _("行程开始")
    FINISHED = "finished", _("行程结束")
    CANCELLED = "cancelled", _("已取消")


class RideHailingOrder(models.Model):
    """A ride-hailing platform's order event as pushed through the ingest API. One row per
    (source, order, status): the platform reports each status change of an order once."""

    vehicle = models.ForeignKey(Vehicle, verbose_name=_("车辆"), on_delete=models.CASCADE,
                                related_name="ride_hailing_orders")
    source = models.CharField(_("来源"), max_length=40)
    order_id = models.CharField(_("订单号"), max_length=64)
    status = models.CharField(_("状态"), max_length=20, choices=OrderStatus.choices)
    time = models.DateTimeField(_("时间"))
    driver_id_number = models.CharField(_("驾驶员身份证号"), max_length=18, blank=True)
    driver = models.ForeignKey(Driver, verbose_name=_("驾驶员"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    location = models.PointField(_("位置"), srid=4326, null=True, blank=True)
    fare_yuan = models.DecimalField(_("金额(元)"), max_digits=8, decimal_places=2, null=True,
                                    blank=True)
    received_at = models.DateTimeField(_("接收时间"))

    objects = VehicleOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-time"]
        verbose_name = _("网约车订单")
        verbose_name_plural = _("网约车订单")
        constraints = [
            models.UniqueConstraint(fields=["source", "order_id", "status"],
                                    name="ride_hailing_order_once"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.status}"
