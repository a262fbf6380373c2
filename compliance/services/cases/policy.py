"""Where a case goes and what it is called: dispatch policy per source, the territorial
principle, the units of a double dispatch, and readable case numbers.

Dispatch defaults (``SourcePolicy`` rows override them per source):

- violation → automatic: the violation was already screened (by a supervisor, or by a rule
  setting that auto-confirms); a second look by the city adds a day and nothing else.
- complaint → screened: the 12328 desk's 分类转办, a person decides whether and where it goes.
- illegal_operation → automatic, to two units (双重派送, Panjin's mechanism): the district where
  it happened and the one the vehicle (else enterprise, else driver's enterprise) is registered
  in. When both are the same district it is both units: one assignment.
- manual → screened: a field inspection entered by hand; the city checks it before a district
  is asked to act.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import IntegerField, Max
from django.db.models.functions import Cast, Substr

from compliance.deadlines import TZ
from compliance.models import Case, CaseSource, SourcePolicy
from fleet.geo.jurisdiction import default_resolver
from fleet.models import District

if TYPE_CHECKING:
    from django.contrib.gis.geos import Point

    from fleet.models import Driver, Enterprise, Vehicle

AUTO_DISPATCH_DEFAULTS: dict[str, bool] = {
    CaseSource.VIOLATION: True,
    CaseSource.COMPLAINT: False,
    CaseSource.ILLEGAL_OPERATION: True,
    CaseSource.MANUAL: False,
}
NUMBER_PREFIX: dict[str, str] = {
    CaseSource.VIOLATION: "WG",  # 违规
    CaseSource.COMPLAINT: "TS",  # 投诉
    CaseSource.ILLEGAL_OPERATION: "FF",  # 非法营运
    CaseSource.MANUAL: "XC",  # 现场检查
}
# Only illegal-operation cases go to two units at once.
MAX_UNITS: dict[str, int] = {CaseSource.ILLEGAL_OPERATION: 2}
# Namespace of the advisory locks that serialise number allocation ("CASE").
_LOCK_NAMESPACE = 0x43415345


def auto_dispatch(source: str) -> bool:
    row = SourcePolicy.objects.filter(source=source).values_list("auto_dispatch", flat=True)
    for value in row:
        return bool(value)
    return AUTO_DISPATCH_DEFAULTS[source]


def max_units(source: str) -> int:
    return MAX_UNITS.get(source, 1)


def territorial_district(*, location: Point | None, vehicle: Vehicle | None,
                         driver: Driver | None = None,
                         enterprise: Enterprise | None = None) -> District | None:
    """The district whose polygon holds the location (fleet.geo.jurisdiction), else where the
    vehicle is registered, else the enterprise's (or the driver's enterprise's) district."""
    if location is not None:
        code = default_resolver().district_code_at(location.x, location.y)
        if code is not None:
            found = District.objects.filter(code=code).first()
            if found is not None:
                return found
    return home_district(vehicle=vehicle, driver=driver, enterprise=enterprise)


def home_district(*, vehicle: Vehicle | None, driver: Driver | None = None,
                  enterprise: Enterprise | None = None) -> District | None:
    """Where the operator is registered: vehicle, else enterprise, else driver's enterprise."""
    if vehicle is not None:
        return vehicle.registered_district
    if enterprise is not None:
        return enterprise.district
    if driver is not None and driver.enterprise_id is not None:
        return driver.enterprise.district
    return None


def auto_units(case: Case) -> list[District]:
    """Units of an automatic dispatch: the owning district; for illegal operation also the home
    district when it is another one (same district: it is both units, one assignment)."""
    units = [case.district]
    if max_units(case.source) > 1:
        home = home_district(vehicle=case.vehicle, driver=case.driver,
                             enterprise=case.enterprise)
        if home is not None and home.pk != case.district_id:
            units.append(home)
    return units


def next_number(source: str, when: dt.datetime) -> str:
    """``WG`` + yyyymmdd (Asia/Shanghai) + a daily sequence of at least 4 digits. Call inside the
    creating transaction: a transaction-scoped advisory lock per (source, day) makes concurrent
    creators queue, and the maximum read after it sees every committed number."""
    stem = f"{NUMBER_PREFIX[source]}{when.astimezone(TZ):%Y%m%d}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_NAMESPACE, stem])
    last = (Case.objects.filter(number__startswith=stem)
            .aggregate(last=Max(Cast(Substr("number", len(stem) + 1), IntegerField())))["last"])
    return f"{stem}{(last or 0) + 1:04d}"
