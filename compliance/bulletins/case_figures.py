"""Case handling per district for a bulletin period (RULES.md §4 case KPIs), in three queries.

Readings (the bulletin prints them under the table):

- The unit of count is the **assignment** (承办): a case dispatched to two districts (双重派送) is
  work for both, and a case re-dispatched away from a district (withdrawn) is no longer its work.
- **received** (受理): units dispatched in the period.
- **closed** (办结): those whose district's result stands — reported (and approved where the
  district requires it) and not returned since, whether or not the city has verified it yet: the
  district has done its part, the city's verification time is not held against it.
- **on time** (按期办结): closed units reported no later than their handling deadline (after a
  return, the new deadline).
- **overdue** (逾期): units that missed their deadline — still open past it, or reported after it.
- **returns** (退回): returns by the city's verification in the period naming the district.
- **supervisions** (督办): supervision notices raised in the period for the district.

Counts of units received in the period are as they stand at ``moment`` (the generation time): a
bulletin states the moment it counts to, and the frozen copy keeps them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import Count, F, Q

from compliance.bulletins.data import CaseLine
from compliance.bulletins.periods import Period
from compliance.models import AssignmentState, CaseAssignment, CaseEvent

UNIT_KEYS = ("received", "closed", "on_time", "overdue", "returns", "supervisions")


def _unit_counts(period: Period, moment: dt.datetime) -> dict[int, dict[str, int]]:
    handled = Q(state=AssignmentState.HANDLED)
    late = Q(handled_at__gt=F("deadline"))
    rows = (CaseAssignment.objects.exclude(state=AssignmentState.WITHDRAWN)
            .filter(dispatched_at__gte=period.starts_at, dispatched_at__lt=period.ends_at)
            .order_by().values("district_id")
            .annotate(received=Count("pk"),
                      closed=Count("pk", filter=handled),
                      on_time=Count("pk", filter=handled & ~late),
                      overdue=Count("pk", filter=Q(deadline__lt=moment) & (~handled | late))))
    return {row.pop("district_id"): row for row in rows}


def _event_counts(period: Period) -> tuple[Counter[int], Counter[int]]:
    events = (CaseEvent.objects.filter(action__in=("return", "supervise"),
                                       at__gte=period.starts_at, at__lt=period.ends_at)
              .values_list("action", "district_id", "detail"))
    returns: Counter[int] = Counter()
    supervisions: Counter[int] = Counter()
    for action, district_id, detail in events:
        if action == "return":
            # One return can send a double-dispatch case back to both of its units.
            returns.update(set(detail.get("districts") or [district_id]))
        elif district_id is not None:
            supervisions[district_id] += 1
    return returns, supervisions


def case_lines(period: Period, districts: dict[int, str], moment: dt.datetime
               ) -> tuple[list[CaseLine], CaseLine]:
    """One line per district (every district, in the order given) and the city's total."""
    units = _unit_counts(period, moment)
    returns, supervisions = _event_counts(period)
    lines = []
    for district_id, name in districts.items():
        counts = units.get(district_id, {})
        lines.append(CaseLine(
            district_id=district_id, name=name, received=counts.get("received", 0),
            closed=counts.get("closed", 0), on_time=counts.get("on_time", 0),
            overdue=counts.get("overdue", 0), returns=returns[district_id],
            supervisions=supervisions[district_id]))
    total = CaseLine(district_id=None, name="", **{
        key: sum(getattr(line, key) for line in lines) for key in UNIT_KEYS})
    return lines, total
