"""List filters shared by the portal pages and the API (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from fleet.models import Certificate, Driver, Enterprise, Terminal, Vehicle, Waybill
from fleet.models.registry import CertificateState


def _scoped(model):  # type: ignore[no-untyped-def]
    """Choices for a foreign-key filter limited to what the requesting user may see."""

    def queryset(request) -> QuerySet:  # type: ignore[no-untyped-def]
        user = getattr(request, "user", None)
        return model.objects.visible_to(user)

    return queryset


def _search(queryset: QuerySet, fields: tuple[str, ...], value: str) -> QuerySet:
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": value.strip()})
    return queryset.filter(condition)


class VehicleFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("车牌/VIN"), method="search")
    kind = django_filters.ChoiceFilter(label=_("车辆类型"),
                                       choices=Vehicle._meta.get_field("kind").choices)
    district = django_filters.ModelChoiceFilter(
        label=_("登记区县"), field_name="registered_district",
        queryset=_scoped(Vehicle._meta.get_field("registered_district").related_model))
    enterprise = django_filters.ModelChoiceFilter(label=_("所属企业"),
                                                  queryset=_scoped(Enterprise))
    status = django_filters.ChoiceFilter(label=_("状态"),
                                         choices=Vehicle._meta.get_field("status").choices)

    class Meta:
        model = Vehicle
        fields = ["q", "kind", "district", "enterprise", "status"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _search(queryset, ("plate", "vin"), value)


class EnterpriseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("名称/信用代码"), method="search")
    kind = django_filters.ChoiceFilter(label=_("企业类型"),
                                       choices=Enterprise._meta.get_field("kind").choices)
    district = django_filters.ModelChoiceFilter(
        label=_("所属区县"), queryset=_scoped(Enterprise._meta.get_field("district").related_model))

    class Meta:
        model = Enterprise
        fields = ["q", "kind", "district"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _search(queryset, ("name", "credit_code"), value)


class DriverFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("姓名/证号"), method="search")
    district = django_filters.ModelChoiceFilter(
        label=_("所属区县"), field_name="enterprise__district",
        queryset=_scoped(Enterprise._meta.get_field("district").related_model))
    enterprise = django_filters.ModelChoiceFilter(label=_("所属企业"),
                                                  queryset=_scoped(Enterprise))
    certificate_state = django_filters.ChoiceFilter(label=_("资格证状态"),
                                                    choices=CertificateState.choices,
                                                    method="by_certificate_state")

    class Meta:
        model = Driver
        fields = ["q", "district", "enterprise", "certificate_state"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # The certificate number is searchable; the ID number only as an exact match.
        return queryset.filter(Q(name__icontains=value.strip()) | Q(id_number=value.strip())
                               | Q(certificates__number=value.strip())).distinct()

    def by_certificate_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        matching = Certificate.objects.with_state().filter(state=value).values("driver_id")
        return queryset.filter(pk__in=matching)


class TerminalFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("终端手机号/车牌"), method="search")
    district = django_filters.ModelChoiceFilter(
        label=_("登记区县"), field_name="vehicle__registered_district",
        queryset=_scoped(Enterprise._meta.get_field("district").related_model))
    protocol_edition = django_filters.ChoiceFilter(
        label=_("协议版本"), choices=Terminal._meta.get_field("protocol_edition").choices)

    class Meta:
        model = Terminal
        fields = ["q", "district", "protocol_edition"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _search(queryset, ("sim_number", "vehicle__plate", "device_id"), value)


class WaybillFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("运单号/车牌"), method="search")
    state = django_filters.ChoiceFilter(label=_("状态"),
                                        choices=Waybill._meta.get_field("state").choices)
    district = django_filters.ModelChoiceFilter(
        label=_("登记区县"), field_name="vehicle__registered_district",
        queryset=_scoped(Enterprise._meta.get_field("district").related_model))

    class Meta:
        model = Waybill
        fields = ["q", "state", "district"]

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _search(queryset, ("number", "vehicle__plate"), value)
