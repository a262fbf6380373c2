"""offline_in_service, server-clock part: any vehicle silent for more than 24 h (RULES.md §2a —
the one rule judged against the server clock, since a silent terminal sends no data time).

The job opens the episode at the vehicle's last report, keyed like the one the pipeline writes
when the vehicle is heard again (compliance.runtime.vehicle), so that later write closes this
row instead of adding a second.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from compliance.catalogue import RULES
from compliance.models import Violation
from compliance.rule_settings import load_snapshot
from fleet.geo.jurisdiction import DistrictResolver
from fleet.models import District, VehicleState

RULE = "offline_in_service"


def open_silences(*, now: dt.datetime | None = None) -> list[int]:
    """Open an episode for every vehicle silent longer than its setting; returns their ids."""
    now = now or timezone.now()
    snapshot = load_snapshot()
    # Candidates by the shortest silence any scope sets; each is then judged by its own.
    shortest = min([float(RULES[RULE].defaults()["silence_h"])]
                   + [float(e.params["silence_h"]) for e in snapshot.rows.values()
                      if e.rule == RULE])
    candidates = (VehicleState.objects.filter(fix_time__lt=now - dt.timedelta(hours=shortest))
                  .exclude(vehicle__violations__rule=RULE,
                           vehicle__violations__episode_key="silence",
                           vehicle__violations__ended_at__isnull=True)
                  .select_related("vehicle"))
    resolver: DistrictResolver | None = None
    districts: dict[str, int] = {}
    opened: list[int] = []
    for state in candidates:
        vehicle = state.vehicle
        effective = snapshot.resolve(RULE, vehicle.registered_district_id, vehicle.kind)
        silence = dt.timedelta(hours=float(effective.params["silence_h"]))
        if not effective.enabled or now - state.fix_time <= silence:
            continue
        district_id = vehicle.registered_district_id
        if state.location is not None:
            if resolver is None:
                resolver = DistrictResolver.from_db()
                districts = dict(District.objects.values_list("code", "pk"))
            code = resolver.resolve(state.location.x, state.location.y).code
            district_id = districts.get(code or "", district_id)
        try:
            with transaction.atomic():
                violation, created = Violation.objects.get_or_create(
                    vehicle=vehicle, rule=RULE, started_at=state.fix_time, episode_key="silence",
                    defaults={"vehicle_kind": vehicle.kind, "enterprise_id": vehicle.enterprise_id,
                              "district_id": district_id, "location": state.location,
                              "severity": RULES[RULE].severity, "setting_id": effective.setting_id,
                              "measured": {"kind": "silence",
                                           "silence_s": (now - state.fix_time).total_seconds()},
                              "thresholds": effective.thresholds(),
                              "evidence": {"resolution": {"how": "server_clock"}}})
        except IntegrityError:
            continue  # the pipeline wrote it at the same moment
        if created:
            opened.append(violation.pk)
    return opened


def silence_job() -> None:
    opened = open_silences()
    if opened:
        from compliance.live import publish_new_violations

        publish_new_violations(opened)
