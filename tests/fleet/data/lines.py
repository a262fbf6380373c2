"""Bus and coach lines for the registry tests (the shared factories have no lines)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from django.contrib.gis.geos import LineString

from fleet.models import BusLine, CoachLine, District, Enterprise

_numbers = itertools.count(1)


def route(lon: float = 122.05, lat: float = 41.15) -> LineString:
    return LineString((lon, lat), (lon + 0.02, lat + 0.01), srid=4326)


def make_bus_line(enterprise: Enterprise, district: District | None = None, *,
                  number: str | None = None) -> BusLine:
    number = number or f"{next(_numbers)}"
    return BusLine.objects.create(number=number, name=f"{number}路", enterprise=enterprise,
                                  district=district or enterprise.district, route=route())


def make_coach_line(enterprise: Enterprise, district: District | None = None, *,
                    number: str | None = None, service_type: str = "regular",
                    one_way_km: str = "170", exempt: bool = False) -> CoachLine:
    number = number or f"KY{next(_numbers):03d}"
    return CoachLine.objects.create(
        number=number, name=f"盘锦—沈阳{number}", enterprise=enterprise,
        district=district or enterprise.district, route=route(),
        one_way_km=Decimal(one_way_km), service_type=service_type, night_ban_exempt=exempt,
        exemption_note="核定" if exempt else "")
