"""Find the objects a row refers to (enterprise, district, driver, vehicle, bus or coach line) in
the actor's scope.

Lookups go through ``visible_to(actor)``: an object outside the actor's scope is reported exactly
like one that does not exist, so an import can neither attach to it nor reveal it. ``actor=None``
is the system (a management command run without --user) and sees everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

from fleet import validators
from fleet.models import BusLine, CoachLine, District, Driver, Enterprise, Vehicle

if TYPE_CHECKING:
    from accounts.models import User


class NotFound(LookupError):
    """The reference cannot be resolved; the message is shown against the cell."""


def scoped(model: type[Model], actor: User | None) -> QuerySet:
    manager: Any = model.objects  # every registry model's manager is a ScopedQuerySet
    return manager.all() if actor is None else manager.visible_to(actor)


class References:
    """Per-import lookup cache; the referenced tables do not change while one sheet imports."""

    def __init__(self, actor: User | None) -> None:
        self.actor = actor
        # A found object, or the message of a failed lookup (kept as text: re-raising one
        # exception object row after row would grow its traceback without bound).
        self._cache: dict[tuple[str, Any], Model | str] = {}

    def _cached(self, key: tuple[str, Any], find: Any) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = find()
            except NotFound as exc:
                self._cache[key] = str(exc)
        found = self._cache[key]
        if isinstance(found, str):
            raise NotFound(found)
        return found

    def enterprise(self, name_or_code: str | None, code: str | None) -> Enterprise:
        """By credit code when one is given (either column), else by exact name."""
        by_code = code or _as_credit_code(name_or_code)
        if by_code:
            enterprise = self._cached(("enterprise_code", by_code),
                                      lambda: self._enterprise_by_code(by_code))
            if name_or_code and name_or_code not in {enterprise.name, by_code}:
                raise NotFound(_("企业名称“%(name)s”与统一社会信用代码 %(code)s 不符")
                               % {"name": name_or_code, "code": by_code})
            return enterprise
        assert name_or_code  # callers check the required column first
        return self._cached(("enterprise_name", name_or_code),
                            lambda: self._enterprise_by_name(name_or_code))

    def _enterprise_by_code(self, code: str) -> Enterprise:
        found = scoped(Enterprise, self.actor).filter(credit_code=code).first()
        if found is None:
            raise NotFound(_("未找到企业：%(value)s") % {"value": code})
        return found

    def _enterprise_by_name(self, name: str) -> Enterprise:
        found = list(scoped(Enterprise, self.actor).filter(name=name)[:2])
        if not found:
            raise NotFound(_("未找到企业：%(value)s") % {"value": name})
        if len(found) > 1:
            raise NotFound(_("有多家企业名为“%(value)s”，请填写统一社会信用代码")
                           % {"value": name})
        return found[0]

    def district(self, value: str) -> District:
        return self._cached(("district", value), lambda: self._district(value))

    def _district(self, value: str) -> District:
        districts = scoped(District, self.actor)
        if len(value) == 6 and value.isdigit():
            found = list(districts.filter(code=value)[:2])
        else:
            found = list(districts.filter(name=value)[:2])
        if len(found) == 1:
            return found[0]
        if found:
            raise NotFound(_("有多个区县名为“%(value)s”，请填写6位行政区划代码")
                           % {"value": value})
        raise NotFound(_("未找到区县：%(value)s") % {"value": value})

    def driver(self, id_number: str) -> Driver:
        return self._cached(("driver", id_number), lambda: self._driver(id_number))

    def _driver(self, id_number: str) -> Driver:
        found = scoped(Driver, self.actor).filter(id_number=id_number).first()
        if found is None:
            raise NotFound(_("未找到身份证号码为 %(value)s 的驾驶员")
                           % {"value": validators.mask_id_number(id_number)})
        return found

    def vehicle(self, plate: str, colour: int) -> Vehicle:
        return self._cached(("vehicle", (plate, colour)), lambda: self._vehicle(plate, colour))

    def _vehicle(self, plate: str, colour: int) -> Vehicle:
        found = scoped(Vehicle, self.actor).filter(plate=plate, plate_colour=colour).first()
        if found is None:
            raise NotFound(_("未找到车辆：%(plate)s") % {"plate": plate})
        return found

    def bus_line(self, number: str) -> BusLine:
        return self._cached(("bus_line", number), lambda: self._line(
            BusLine, number, _("未找到公交线路：%(value)s")))

    def coach_line(self, number: str) -> CoachLine:
        return self._cached(("coach_line", number), lambda: self._line(
            CoachLine, number, _("未找到客运班线：%(value)s")))

    def _line(self, model: type[BusLine | CoachLine], number: str, missing: str) -> Any:
        found = scoped(model, self.actor).filter(number=number).first()
        if found is None:
            raise NotFound(missing % {"value": number})
        return found


def _as_credit_code(value: str | None) -> str | None:
    """A 所属企业 cell may hold the credit code instead of the name."""
    if value and len(value) == 18 and value.upper().isalnum() and value.isascii():
        return value.upper()
    return None
