"""Channel-layer group names. A vehicle update goes to the groups of its district, its
enterprise and the city; a websocket joins exactly the groups its user's scope allows."""

from __future__ import annotations

from collections.abc import Callable

from accounts.models import Scope

CITY = "live.city"


def district_group(district_id: int) -> str:
    return f"live.district.{district_id}"


def enterprise_group(enterprise_id: int) -> str:
    return f"live.enterprise.{enterprise_id}"


def scoped_groups(scope: Scope, *, city: str, district: Callable[[int], str],
                  enterprise: Callable[[int], str]) -> list[str]:
    """The groups a user of this scope may join, in any family of groups (vehicle updates
    here, alerts in compliance.live): the city's, else their districts' and enterprise's."""
    if scope.everything:
        return [city]
    groups = [district(pk) for pk in scope.district_ids]
    if scope.enterprise_id is not None:
        groups.append(enterprise(scope.enterprise_id))
    return groups


def groups_for_scope(scope: Scope) -> list[str]:
    return scoped_groups(scope, city=CITY, district=district_group, enterprise=enterprise_group)


def groups_for_vehicle(district_id: int, enterprise_id: int) -> list[str]:
    return [CITY, district_group(district_id), enterprise_group(enterprise_id)]
