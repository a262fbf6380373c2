"""Run the rules over stored history: what-if counts beside the stored violations, or (with
``rebuild``) rewrite the period's violations after a rule fix.

The same VehicleRules and ViolationWriter as live, fed from the store in the same order, so a
replay of data the pipeline processed gives the same episodes. Each vehicle starts
RULES_REPLAY_WARMUP_HOURS before the period so its clocks are warm; only episodes that start
inside the period count.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from compliance.catalogue import RULES
from compliance.models import ReviewStatus, Violation
from compliance.rule_settings import load_snapshot
from compliance.runtime.batch import places
from compliance.runtime.config import ConfigCache
from compliance.runtime.facts import load_facts
from compliance.runtime.history import load_inputs
from compliance.runtime.vehicle import Finding, VehicleRules
from compliance.runtime.writer import VehicleFindings, ViolationWriter
from fleet.geo.jurisdiction import DistrictResolver
from fleet.models import Vehicle

CHUNK = 50  # vehicles per history query
Progress = Callable[[int, int, int], None]  # (vehicles done, vehicles total, fixes so far)
CountKey = tuple[str, int, int]  # (rule, district id, enterprise id)


@dataclass
class ReplayResult:
    vehicles: int = 0
    fixes: int = 0
    replayed: Counter[CountKey] = field(default_factory=Counter)
    stored: Counter[CountKey] = field(default_factory=Counter)
    written: int = 0
    removed: int = 0

    def by_rule(self) -> dict[str, tuple[int, int]]:
        """rule → (replayed, stored)."""
        rules = {k[0] for k in self.replayed} | {k[0] for k in self.stored}
        return {rule: (sum(n for k, n in self.replayed.items() if k[0] == rule),
                       sum(n for k, n in self.stored.items() if k[0] == rule))
                for rule in sorted(rules)}

    def as_json(self) -> dict[str, Any]:
        def rows(counter: Counter[CountKey]) -> list[list[Any]]:
            return [[rule, district, enterprise, n]
                    for (rule, district, enterprise), n in sorted(counter.items())]

        return {"vehicles": self.vehicles, "fixes": self.fixes, "written": self.written,
                "removed": self.removed, "replayed": rows(self.replayed),
                "stored": rows(self.stored)}


def select_vehicles(selection: dict[str, Any]) -> list[int]:
    vehicles = Vehicle.objects.all()
    if selection.get("vehicle_ids"):
        vehicles = vehicles.filter(pk__in=selection["vehicle_ids"])
    if selection.get("kinds"):
        vehicles = vehicles.filter(kind__in=selection["kinds"])
    if selection.get("district_ids"):
        vehicles = vehicles.filter(registered_district__in=selection["district_ids"])
    if selection.get("enterprise_ids"):
        vehicles = vehicles.filter(enterprise__in=selection["enterprise_ids"])
    return list(vehicles.order_by("pk").values_list("pk", flat=True))


def _only(rules: Sequence[str] | None, overrides: dict[str, dict[str, Any]],
          ) -> dict[str, dict[str, Any]]:
    if not rules:
        return overrides
    merged = {code: dict(values) for code, values in overrides.items()}
    for code in RULES:
        if code not in rules:
            merged.setdefault(code, {})["enabled"] = False
    return merged


def replay(*, start: dt.datetime, end: dt.datetime, vehicle_ids: Sequence[int],
           overrides: dict[str, dict[str, Any]] | None = None, rules: Sequence[str] | None = None,
           rebuild: bool = False, progress: Progress | None = None) -> ReplayResult:
    if end <= start:
        raise ValueError("the period must end after it starts")
    if rebuild and overrides:
        raise ValueError("a rebuild uses the settings in force; what-if thresholds cannot be "
                         "written as violations")
    snapshot = load_snapshot(_only(rules, overrides or {}))
    facts = load_facts(snapshot, now=end)
    configs = ConfigCache(snapshot)
    writer = ViolationWriter(DistrictResolver.from_db())
    warm = start - dt.timedelta(hours=settings.RULES_REPLAY_WARMUP_HOURS)
    result = ReplayResult(vehicles=len(vehicle_ids))
    considered = set(rules or RULES)
    for offset in range(0, len(vehicle_ids), CHUNK):
        chunk = list(vehicle_ids[offset:offset + CHUNK])
        with transaction.atomic():
            inputs = load_inputs(connection.connection, chunk, warm, end)
            facts.geometry.warm(*places(inputs, facts))
            for vehicle_id in chunk:
                items = inputs.get(vehicle_id, [])
                result.fixes += sum(1 for i in items if i.time >= start)
                findings = _run_vehicle(vehicle_id, items, facts, configs, start, end)
                vehicle = facts.vehicles.get(vehicle_id)
                if vehicle is None:
                    continue
                config = configs.get(vehicle.district_id, vehicle.kind)
                if rebuild:
                    written = writer.write(connection.connection, vehicle_id, findings,
                                           config.effective, facts, end)
                    result.written += len(written)
                    result.removed += _remove_stale(vehicle_id, start, end, considered,
                                                    {w.id for w in written})
                    # Counted as written: the owner is the row's (located once, not twice).
                    owned = [(w.rule, w.district_id) for w in written]
                else:
                    owned = writer.owners(connection.connection, [VehicleFindings(
                        vehicle_id, findings, config.effective, end)], facts)
                for rule, district_id in owned:
                    result.replayed[(rule, district_id, vehicle.enterprise_id)] += 1
        if progress is not None:
            progress(min(offset + CHUNK, len(vehicle_ids)), len(vehicle_ids), result.fixes)
    stored = (Violation.objects.filter(vehicle__in=vehicle_ids, started_at__gte=start,
                                       started_at__lt=end, rule__in=considered)
              .values_list("rule", "district_id", "enterprise_id").annotate(n=Count("id")))
    for rule, district_id, enterprise_id, n in stored:
        result.stored[(rule, district_id, enterprise_id)] = n
    return result


def _run_vehicle(vehicle_id: int, items: list[Any], facts: Any, configs: ConfigCache,
                 start: dt.datetime, end: dt.datetime) -> list[Finding]:
    vehicle = facts.vehicles.get(vehicle_id)
    if vehicle is None:
        return []
    state = VehicleRules(vehicle_id)
    config = configs.get(vehicle.district_id, vehicle.kind)
    for item in items:
        state.feed(item, facts, config)
    return [f for f in state.dirty.values() if start <= f.episode.start < end]


def _remove_stale(vehicle_id: int, start: dt.datetime, end: dt.datetime, rules: set[str],
                  keep: set[int]) -> int:
    """Unscreened violations of the period the corrected rules no longer find. Screened ones
    (confirmed, dismissed) stay: people acted on them."""
    deleted, _ = (Violation.objects.filter(vehicle_id=vehicle_id, started_at__gte=start,
                                           started_at__lt=end, rule__in=rules,
                                           review_status__in=[ReviewStatus.PENDING,
                                                              ReviewStatus.RECORDED])
                  .exclude(pk__in=keep).delete())
    return deleted
