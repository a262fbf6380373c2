"""What differs per sheet kind: the natural key, how to find the stored record, and how the
reference columns (所属企业, 所属区县, 身份证号码, 车牌号码 …) become foreign keys.

Each handler reports problems as ``(column key, message)`` pairs; ``rows.RowBuilder`` does the
generic part (parsing cells, assigning plain fields, full_clean, mapping errors to columns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db.models import F, Func, Model, Value
from django.utils.translation import gettext as _

from fleet import validators
from fleet.importing.references import NotFound, References, scoped
from fleet.models import Certificate, Driver, Enterprise, Terminal, Vehicle

if TYPE_CHECKING:
    from accounts.models import User

Parsed = dict[str, Any]
Problems = list[tuple[str, str]]


class Handler:
    model: ClassVar[type[Model]]
    # Columns this handler assigns itself (not plain model fields).
    managed: ClassVar[frozenset[str]] = frozenset()
    # Reference column → the model field it sets; errors on the field show against the first
    # column naming it. Plain columns are named after their field and need no entry.
    column_fields: ClassVar[dict[str, str]] = {}
    # Further fields a failed column leaves unset (derived from it), skipped in full_clean so
    # the row shows the cause, not its consequence.
    dependants: ClassVar[dict[str, tuple[str, ...]]] = {}
    # Fields full_clean skips because the handler has checked them itself: the foreign keys it
    # resolved from the actor's scope (a stricter test than Django's "exists" query, which
    # would cost two queries a row for nothing) or reported as not found.
    clean_exclude: ClassVar[tuple[str, ...]] = ()
    # Column blamed when a saved row would fall outside the importing user's scope.
    scope_column: ClassVar[str]

    def __init__(self, refs: References, actor: User | None) -> None:
        self.refs = refs
        self.actor = actor

    def natural_key(self, parsed: Parsed) -> tuple[Any, ...]:
        raise NotImplementedError

    def find(self, key: tuple[Any, ...]) -> Model | None:
        raise NotImplementedError

    def apply(self, instance: Any, parsed: Parsed, present: set[str]) -> Problems:
        """Set the reference fields (and anything else kind-specific) on ``instance``."""
        return []

    def _enterprise(self, parsed: Parsed, present: set[str]) -> tuple[Enterprise | None,
                                                                        Problems]:
        name, code = parsed.get("enterprise"), parsed.get("enterprise_code")
        if not name and not code:
            return None, []
        try:
            return self.refs.enterprise(name, code), []
        except NotFound as exc:
            column = "enterprise_code" if code and "enterprise_code" in present else "enterprise"
            return None, [(column, str(exc))]


class EnterpriseHandler(Handler):
    model = Enterprise
    managed = frozenset({"district"})
    column_fields = {"district": "district"}
    clean_exclude = ("district",)
    scope_column = "district"

    def natural_key(self, parsed: Parsed) -> tuple[Any, ...]:
        return (parsed["credit_code"],)

    def find(self, key: tuple[Any, ...]) -> Model | None:
        return scoped(Enterprise, self.actor).filter(credit_code=key[0]).first()

    def apply(self, instance: Any, parsed: Parsed, present: set[str]) -> Problems:
        if parsed.get("district"):
            try:
                instance.district = self.refs.district(parsed["district"])
            except NotFound as exc:
                return [("district", str(exc))]
        return []


class VehicleHandler(Handler):
    model = Vehicle
    managed = frozenset({"enterprise", "enterprise_code", "registered_district", "bus_line",
                         "coach_line"})
    column_fields = {"enterprise": "enterprise", "enterprise_code": "enterprise",
                     "bus_line": "bus_line", "coach_line": "coach_line"}
    dependants = {"enterprise": ("registered_district",),
                  "enterprise_code": ("registered_district",)}
    clean_exclude = ("enterprise", "registered_district", "bus_line", "coach_line")
    scope_column = "enterprise"

    def natural_key(self, parsed: Parsed) -> tuple[Any, ...]:
        return (parsed["plate"], parsed["plate_colour"])

    def find(self, key: tuple[Any, ...]) -> Model | None:
        return scoped(Vehicle, self.actor).filter(plate=key[0], plate_colour=key[1]).first()

    def apply(self, instance: Any, parsed: Parsed, present: set[str]) -> Problems:
        enterprise, problems = self._enterprise(parsed, present)
        if enterprise is not None:
            instance.enterprise = enterprise
        district = parsed.get("registered_district")
        if district:
            try:
                instance.registered_district = self.refs.district(district)
            except NotFound as exc:
                problems.append(("registered_district", str(exc)))
        elif enterprise is not None and (instance.pk is None
                                         or "registered_district" in present):
            # Blank or absent 登记区县: a vehicle is registered where its enterprise is.
            instance.registered_district = enterprise.district
        problems += self._lines(instance, parsed, present)
        return problems

    def _lines(self, instance: Any, parsed: Parsed, present: set[str]) -> Problems:
        """公交线路 / 客运班线 by line number; a blank cell clears the line, an absent column
        keeps the stored one. The kind check is Vehicle.clean()'s, reported on the column."""
        problems: Problems = []
        for key, find in (("bus_line", self.refs.bus_line),
                          ("coach_line", self.refs.coach_line)):
            if key not in present:
                continue
            number = parsed.get(key)
            if number is None:
                setattr(instance, key, None)
                continue
            try:
                setattr(instance, key, find(number))
            except NotFound as exc:
                problems.append((key, str(exc)))
        return problems


class DriverHandler(Handler):
    model = Driver
    managed = frozenset({"enterprise", "enterprise_code"})
    column_fields = {"enterprise": "enterprise", "enterprise_code": "enterprise"}
    clean_exclude = ("enterprise",)
    scope_column = "enterprise"

    def natural_key(self, parsed: Parsed) -> tuple[Any, ...]:
        return (parsed["id_number"],)

    def find(self, key: tuple[Any, ...]) -> Model | None:
        return scoped(Driver, self.actor).filter(id_number=key[0]).first()

    def apply(self, instance: Any, parsed: Parsed, present: set[str]) -> Problems:
        if not present & {"enterprise", "enterprise_code"}:
            return []  # the sheet does not say: keep the stored enterprise
        enterprise, problems = self._enterprise(parsed, present)
        if not problems:
            instance.enterprise = enterprise  # blank cell: a driver not (yet) employed
        return problems


class CertificateHandler(Handler):
    model = Certificate
    managed = frozenset({"driver", "driver_name"})
    column_fields = {"driver": "driver"}
    clean_exclude = ("driver",)
    scope_column = "driver"

    def natural_key(self, parsed: Parsed) -> tuple[Any, ...]:
        return (parsed["kind"], parsed["number"])

    def find(self, key: tuple[Any, ...]) -> Model | None:
        return scoped(Certificate, self.actor).filter(kind=key[0], number=key[1]).first()

    def apply(self, instance: Any, parsed: Parsed, present: set[str]) -> Problems:
        try:
            driver = self.refs.driver(parsed["driver"])
        except NotFound as exc:
            return [("driver", str(exc))]
        instance.driver = driver
        name = parsed.get("driver_name")
        if name and name != driver.name:
            return [("driver_name", _("姓名与身份证号码对应的驾驶员（%(name)s）不符")
                     % {"name": driver.name})]
        return []


def _canonical(queryset: Any) -> Any:
    # Gateways pad the SIM number with leading zeros to 12 or 20 digits; the registry key is the
    # number without them (validators.canonical_sim), so compare on that.
    return queryset.annotate(canonical_sim=Func(F("sim_number"), Value("0"), function="LTRIM"))


class TerminalHandler(Handler):
    model = Terminal
    managed = frozenset({"sim_number", "plate", "plate_colour", "active"})
    column_fields = {"plate": "vehicle", "plate_colour": "vehicle"}
    # Also keeps full_clean off the one-active-terminal constraint, which ``apply`` checks with
    # a message that names the problem (Django's names the constraint).
    clean_exclude = ("vehicle",)
    scope_column = "plate"

    def natural_key(self, parsed: Parsed) -> tuple[Any, ...]:
        return (validators.canonical_sim(parsed["sim_number"]),)

    def find(self, key: tuple[Any, ...]) -> Model | None:
        return _canonical(scoped(Terminal, self.actor)).filter(canonical_sim=key[0]).first()

    def apply(self, instance: Any, parsed: Parsed, present: set[str]) -> Problems:
        problems: Problems = []
        if instance.pk is None:
            instance.sim_number = parsed["sim_number"]
            taken = _canonical(Terminal.objects.all()).filter(
                canonical_sim=validators.canonical_sim(parsed["sim_number"]))
            if taken.exists():  # registered, but outside the actor's scope
                problems.append(("sim_number", _("该终端手机号已被登记")))
        if present & {"plate", "plate_colour"}:
            problems += self._bind(instance, parsed)
        if parsed.get("active") is not None:
            instance.active = parsed["active"]
        if instance.active and instance.vehicle_id is not None:
            other = Terminal.objects.filter(vehicle_id=instance.vehicle_id, active=True)
            if instance.pk is not None:
                other = other.exclude(pk=instance.pk)
            sim = other.values_list("sim_number", flat=True).first()
            if sim is not None:
                problems.append(("plate", _("该车辆已绑定在用终端 %(sim)s") % {"sim": sim}))
        return problems

    def _bind(self, instance: Any, parsed: Parsed) -> Problems:
        plate, colour = parsed.get("plate"), parsed.get("plate_colour")
        if plate is None and colour is None:
            instance.vehicle = None
            return []
        if plate is None:
            return [("plate", _("填写车牌颜色时须同时填写车牌号码"))]
        if colour is None:
            return [("plate_colour", _("填写车牌号码时须同时填写车牌颜色"))]
        try:
            instance.vehicle = self.refs.vehicle(plate, colour)
        except NotFound as exc:
            return [("plate", str(exc))]
        return []


HANDLERS: dict[str, type[Handler]] = {
    "enterprise": EnterpriseHandler,
    "vehicle": VehicleHandler,
    "driver": DriverHandler,
    "certificate": CertificateHandler,
    "terminal": TerminalHandler,
}
