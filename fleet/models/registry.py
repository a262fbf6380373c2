"""Enterprises, vehicles, drivers, certificates, terminals and who drives what."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db.models import Case, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fleet import validators
from fleet.models.geography import BusLine, CoachLine, District
from fleet.scoping import ScopedQuerySet, VehicleOwnedQuerySet


class EnterpriseKind(models.TextChoices):
    TAXI = "taxi_company", _("出租汽车企业")
    BUS = "bus_company", _("公交企业")
    PASSENGER = "passenger_transport", _("客运企业")
    HAZMAT = "hazmat_carrier", _("危险货物运输企业")
    FREIGHT = "freight", _("普通货运企业")
    RIDE_HAILING = "ride_hailing_platform", _("网约车平台")


class EnterpriseQuerySet(ScopedQuerySet):
    district_lookup = "district"
    enterprise_lookup = "pk"


class Enterprise(models.Model):
    name = models.CharField(_("企业名称"), max_length=100)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True,
                                   validators=[validators.validate_credit_code])
    kind = models.CharField(_("企业类型"), max_length=30, choices=EnterpriseKind.choices)
    district = models.ForeignKey(District, verbose_name=_("所属区县"), on_delete=models.PROTECT,
                                 related_name="enterprises")
    permit_number = models.CharField(_("经营许可证号"), max_length=40, blank=True)
    permit_valid_from = models.DateField(_("许可证有效期起"), null=True, blank=True)
    permit_valid_to = models.DateField(_("许可证有效期止"), null=True, blank=True)
    safety_contact = models.CharField(_("安全负责人"), max_length=50, blank=True)
    safety_contact_phone = models.CharField(_("安全负责人电话"), max_length=20, blank=True,
                                            validators=[validators.validate_phone])
    address = models.CharField(_("地址"), max_length=200, blank=True)

    objects = EnterpriseQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("企业")
        verbose_name_plural = _("企业")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.permit_valid_from and self.permit_valid_to
                and self.permit_valid_to < self.permit_valid_from):
            raise ValidationError({"permit_valid_to": _("有效期止不能早于有效期起")})


class VehicleKind(models.TextChoices):
    TAXI = "taxi", _("巡游出租汽车")
    RIDE_HAILING = "ride_hailing", _("网约车")
    BUS = "bus", _("城市公交")
    COACH = "coach", _("客运班线/包车")
    HAZMAT = "hazmat", _("危险货物运输车辆")
    HEAVY_TRUCK = "heavy_truck", _("重型载货汽车")


PASSENGER_KINDS = frozenset({"taxi", "ride_hailing", "bus", "coach"})


class PlateColour(models.IntegerChoices):
    BLUE = 1, _("蓝色")
    YELLOW = 2, _("黄色")
    BLACK = 3, _("黑色")
    WHITE = 4, _("白色")
    GREEN = 5, _("渐变绿色")
    YELLOW_GREEN = 6, _("黄绿双拼色")
    OTHER = 9, _("其他")


class VehicleStatus(models.TextChoices):
    IN_SERVICE = "in_service", _("营运")
    SUSPENDED = "suspended", _("停运")
    SCRAPPED = "scrapped", _("报废")


class VehicleQuerySet(ScopedQuerySet):
    district_lookup = "registered_district"
    enterprise_lookup = "enterprise"


class Vehicle(models.Model):
    plate = models.CharField(_("车牌号码"), max_length=10, validators=[validators.validate_plate])
    plate_colour = models.PositiveSmallIntegerField(_("车牌颜色"), choices=PlateColour.choices)
    kind = models.CharField(_("车辆类型"), max_length=20, choices=VehicleKind.choices)
    enterprise = models.ForeignKey(Enterprise, verbose_name=_("所属企业"),
                                   on_delete=models.PROTECT, related_name="vehicles")
    registered_district = models.ForeignKey(District, verbose_name=_("登记区县"),
                                            on_delete=models.PROTECT, related_name="vehicles")
    vin = models.CharField(_("车辆识别代号"), max_length=17, blank=True,
                           validators=[validators.validate_vin])
    seats = models.PositiveSmallIntegerField(_("核定座位"), null=True, blank=True)
    rated_load_kg = models.PositiveIntegerField(_("核定载质量(kg)"), null=True, blank=True)
    transport_cert_number = models.CharField(_("道路运输证号"), max_length=30, blank=True)
    transport_cert_valid_to = models.DateField(_("道路运输证有效期止"), null=True, blank=True)
    hazmat_goods_classes = ArrayField(
        models.CharField(max_length=5), verbose_name=_("许可危险货物类别"), default=list,
        blank=True, help_text=_("如 2.1、3、6.1、8"))
    tank_capacity_m3 = models.DecimalField(_("罐体容积(m³)"), max_digits=6, decimal_places=2,
                                           null=True, blank=True)
    ride_hailing_permit_number = models.CharField(_("网约车运输证号"), max_length=30, blank=True)
    ride_hailing_permit_valid_to = models.DateField(_("网约车运输证有效期止"), null=True,
                                                    blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=VehicleStatus.choices,
                              default=VehicleStatus.IN_SERVICE)
    # The line a bus runs / the approved line a coach keeps to: route_deviation and the stop
    # rules follow it, and a coach's night-ban exemption is its line's (none: not exempt).
    bus_line = models.ForeignKey(BusLine, verbose_name=_("公交线路"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="vehicles")
    coach_line = models.ForeignKey(CoachLine, verbose_name=_("客运班线"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="vehicles",
                                   help_text=_("包车、旅游客车可不填"))

    objects = VehicleQuerySet.as_manager()

    class Meta:
        ordering = ["plate"]
        verbose_name = _("车辆")
        verbose_name_plural = _("车辆")
        constraints = [
            models.UniqueConstraint(fields=["plate", "plate_colour"], name="vehicle_plate_unique"),
        ]
        indexes = [models.Index(fields=["kind", "registered_district"])]

    def __str__(self) -> str:
        return f"{self.plate}（{self.get_plate_colour_display()}）"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.plate:
            self.plate = validators.normalise_plate(self.plate)
            if self.plate_colour:
                try:
                    validators.validate_plate_matches_colour(self.plate, self.plate_colour)
                except ValidationError as exc:
                    errors["plate_colour"] = exc.messages[0]
        if self.kind in PASSENGER_KINDS and not self.seats:
            errors["seats"] = _("客运车辆须填写核定座位")
        if self.kind in {VehicleKind.HAZMAT, VehicleKind.HEAVY_TRUCK} and not self.rated_load_kg:
            errors["rated_load_kg"] = _("货运车辆须填写核定载质量")
        if self.kind == VehicleKind.HAZMAT and not self.hazmat_goods_classes:
            errors["hazmat_goods_classes"] = _("危险货物运输车辆须填写许可类别")
        if self.kind != VehicleKind.HAZMAT and (self.hazmat_goods_classes
                                                 or self.tank_capacity_m3):
            errors["hazmat_goods_classes"] = _("仅危险货物运输车辆可填写危险货物类别和罐体容积")
        if self.kind == VehicleKind.RIDE_HAILING and not self.ride_hailing_permit_number:
            errors["ride_hailing_permit_number"] = _("网约车须填写网约车运输证号")
        if self.bus_line_id is not None and self.kind != VehicleKind.BUS:
            errors["bus_line"] = _("仅城市公交车辆可填写公交线路")
        if self.coach_line_id is not None and self.kind != VehicleKind.COACH:
            errors["coach_line"] = _("仅客运班线/包车车辆可填写客运班线")
        if errors:
            raise ValidationError(errors)


class DriverQuerySet(ScopedQuerySet):
    district_lookup = "enterprise__district"
    enterprise_lookup = "enterprise"


class Driver(models.Model):
    name = models.CharField(_("姓名"), max_length=50)
    id_number = models.CharField(_("身份证号码"), max_length=18, unique=True,
                                 validators=[validators.validate_id_number])
    phone = models.CharField(_("联系电话"), max_length=20, blank=True,
                             validators=[validators.validate_phone])
    enterprise = models.ForeignKey(Enterprise, verbose_name=_("所属企业"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="drivers")

    objects = DriverQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("驾驶员")
        verbose_name_plural = _("驾驶员")

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id_number(self) -> str:
        return validators.mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return validators.mask_phone(self.phone) if self.phone else ""


class CertificateKind(models.TextChoices):
    PASSENGER_DRIVER = "passenger_driver", _("道路旅客运输驾驶员")
    CARGO_DRIVER = "cargo_driver", _("道路货物运输驾驶员")
    HAZMAT_DRIVER = "hazmat_driver", _("危险货物道路运输驾驶员")
    HAZMAT_ESCORT = "hazmat_escort", _("危险货物道路运输押运人员")
    TAXI_DRIVER = "taxi_driver", _("巡游出租汽车驾驶员")
    RIDE_HAILING_DRIVER = "ride_hailing_driver", _("网络预约出租汽车驾驶员")


# The certificate a driver needs to drive each vehicle kind (RULES.md §2, cert_invalid).
REQUIRED_CERTIFICATE = {
    "taxi": CertificateKind.TAXI_DRIVER,
    "ride_hailing": CertificateKind.RIDE_HAILING_DRIVER,
    "bus": CertificateKind.PASSENGER_DRIVER,
    "coach": CertificateKind.PASSENGER_DRIVER,
    "hazmat": CertificateKind.HAZMAT_DRIVER,
    "heavy_truck": CertificateKind.CARGO_DRIVER,
}


class CertificateState(models.TextChoices):
    VALID = "valid", _("有效")
    EXPIRED = "expired", _("已过期")
    VOID = "void", _("已失效")
    NOT_YET_VALID = "not_yet_valid", _("未生效")


def certificate_state(valid_from: dt.date | None, valid_to: dt.date, on: dt.date) -> str:
    """Valid while ``on`` ≤ valid-to; expired up to N days after; void beyond (RULES.md §2a)."""
    if valid_from is not None and on < valid_from:
        return CertificateState.NOT_YET_VALID
    if on <= valid_to:
        return CertificateState.VALID
    if (on - valid_to).days <= settings.CERTIFICATE_VOID_AFTER_DAYS:
        return CertificateState.EXPIRED
    return CertificateState.VOID


class CertificateQuerySet(ScopedQuerySet):
    district_lookup = "driver__enterprise__district"
    enterprise_lookup = "driver__enterprise"

    def with_state(self, on: dt.date | None = None) -> CertificateQuerySet:
        """Annotate ``state`` as of ``on`` (today in the bureau's time zone by default)."""
        on = on or timezone.localdate()
        void_before = on - dt.timedelta(days=settings.CERTIFICATE_VOID_AFTER_DAYS)
        return self.annotate(state=Case(
            When(valid_from__gt=on, then=Value(CertificateState.NOT_YET_VALID.value)),
            When(valid_to__gte=on, then=Value(CertificateState.VALID.value)),
            When(valid_to__gte=void_before, then=Value(CertificateState.EXPIRED.value)),
            default=Value(CertificateState.VOID.value),
            output_field=models.CharField(),
        ))


class Certificate(models.Model):
    driver = models.ForeignKey(Driver, verbose_name=_("驾驶员"), on_delete=models.CASCADE,
                               related_name="certificates")
    kind = models.CharField(_("资格类别"), max_length=30, choices=CertificateKind.choices)
    number = models.CharField(_("从业资格证号"), max_length=30)
    issuer = models.CharField(_("发证机关"), max_length=100, blank=True)
    valid_from = models.DateField(_("有效期起"), null=True, blank=True)
    valid_to = models.DateField(_("有效期止"))

    objects = CertificateQuerySet.as_manager()

    class Meta:
        ordering = ["driver", "kind"]
        verbose_name = _("从业资格证")
        verbose_name_plural = _("从业资格证")
        constraints = [
            models.UniqueConstraint(fields=["kind", "number"], name="certificate_number_unique"),
        ]
        indexes = [models.Index(fields=["number"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def clean(self) -> None:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("有效期止不能早于有效期起")})

    def state_on(self, on: dt.date | None = None) -> str:
        # Querysets from ``with_state()`` carry the same value as the ``state`` attribute.
        return certificate_state(self.valid_from, self.valid_to, on or timezone.localdate())


class ProtocolEdition(models.TextChoices):
    V2011 = "2011", "JT/T 808-2011"
    V2013 = "2013", "JT/T 808-2013"
    V2019 = "2019", "JT/T 808-2019"


class AlarmStandard(models.TextChoices):
    """Which provincial active-safety extension the terminal speaks (0x64/0x65 code tables)."""
    SU = "su", _("苏标")
    YUE = "yue", _("粤标")


class Terminal(models.Model):
    sim_number = models.CharField(_("终端手机号"), max_length=20, unique=True,
                                  validators=[validators.validate_sim_number],
                                  help_text=_("JT/T 808 消息头中的终端手机号（SIM卡号）"))
    auth_code = models.CharField(_("鉴权码"), max_length=50)
    maker = models.CharField(_("制造商ID"), max_length=11, blank=True)
    model = models.CharField(_("终端型号"), max_length=30, blank=True)
    device_id = models.CharField(_("终端ID"), max_length=30, blank=True)
    protocol_edition = models.CharField(_("协议版本"), max_length=4,
                                        choices=ProtocolEdition.choices,
                                        default=ProtocolEdition.V2013)
    alarm_standard = models.CharField(_("主动安全标准"), max_length=10,
                                      choices=AlarmStandard.choices, default=AlarmStandard.SU)
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("车辆"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="terminals")
    active = models.BooleanField(_("在用"), default=True)

    objects = VehicleOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["sim_number"]
        verbose_name = _("车载终端")
        verbose_name_plural = _("车载终端")
        constraints = [
            models.UniqueConstraint(fields=["vehicle"], condition=Q(active=True),
                                    name="one_active_terminal_per_vehicle"),
        ]

    def __str__(self) -> str:
        return self.sim_number


class BindingSource(models.TextChoices):
    ROSTER = "roster", _("排班")
    CARD = "card", _("插卡签到")
    PLATFORM = "platform", _("平台绑定")


class BindingQuerySet(VehicleOwnedQuerySet):
    def current(self, at: dt.datetime | None = None) -> BindingQuerySet:
        at = at or timezone.now()
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at), valid_from__lte=at)


class DriverVehicleBinding(models.Model):
    driver = models.ForeignKey(Driver, verbose_name=_("驾驶员"), on_delete=models.CASCADE,
                               related_name="bindings")
    vehicle = models.ForeignKey(Vehicle, verbose_name=_("车辆"), on_delete=models.CASCADE,
                                related_name="bindings")
    valid_from = models.DateTimeField(_("开始"))
    valid_to = models.DateTimeField(_("结束"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=20, choices=BindingSource.choices)
    # Certificate number read from the IC card at sign-in, kept for the certificate rule.
    card_certificate_number = models.CharField(_("卡内从业资格证号"), max_length=30, blank=True)

    objects = BindingQuerySet.as_manager()

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("人车绑定")
        verbose_name_plural = _("人车绑定")
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__isnull=True)
                                   | Q(valid_to__gt=models.F("valid_from")),
                                   name="binding_period_positive"),
        ]
        indexes = [models.Index(fields=["vehicle", "valid_from"])]

    def __str__(self) -> str:
        return f"{self.driver} → {self.vehicle}"
