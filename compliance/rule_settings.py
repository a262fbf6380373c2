"""The settings in force: which RuleSetting row judges a vehicle, and noticing a change.

Resolution, most specific first: (district, kind), (district, all kinds), (city, kind),
(city, all kinds), then RULES.md's built-in defaults. The district is the vehicle's registered
district: a vehicle's clocks (fatigue, daily driving) must run on one set of thresholds however
many districts it crosses, and the district that supervises the operator is the one that tunes
them (see the note on issue 5; the alternative — the district where the fix is — is not built).

A running pipeline picks up a change without a restart: every write bumps a generation counter
in Redis, and a snapshot older than the counter reloads (checked at most once a second).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from compliance.catalogue import RULES, validate_params

GENERATION_KEY = "compliance:rule-settings:generation"
CHECK_EVERY_S = 1.0


@dataclass(frozen=True)
class Effective:
    """The setting one vehicle is judged by for one rule."""

    rule: str
    enabled: bool
    params: dict[str, float | int]
    auto_confirm: bool = False
    tts_warning: bool = False
    setting_id: int | None = None  # None: built-in defaults
    version: int = 0

    def thresholds(self) -> dict[str, float | int]:
        return dict(self.params)


def built_in(rule: str) -> Effective:
    return Effective(rule, True, RULES[rule].defaults())


@dataclass
class Snapshot:
    rows: dict[tuple[str, int | None, str], Effective] = field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # what-if runs
    _cache: dict[tuple[str, int | None, str], Effective] = field(default_factory=dict)

    def resolve(self, rule: str, district_id: int | None, kind: str) -> Effective:
        key = (rule, district_id, kind)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(rule, district_id, kind)
            self._cache[key] = found
        return found

    def _resolve(self, rule: str, district_id: int | None, kind: str) -> Effective:
        found = None
        for candidate in ((rule, district_id, kind), (rule, district_id, ""), (rule, None, kind),
                          (rule, None, "")):
            found = self.rows.get(candidate)
            if found is not None:
                break
        found = found or built_in(rule)
        extra = self.overrides.get(rule)
        if extra:
            enabled = bool(extra.get("enabled", found.enabled))
            params = validate_params(rule, {**found.params,
                                            **{k: v for k, v in extra.items() if k != "enabled"}})
            found = Effective(rule, enabled, params, found.auto_confirm, found.tts_warning,
                              found.setting_id, found.version)
        return found


def load_snapshot(overrides: dict[str, dict[str, Any]] | None = None) -> Snapshot:
    from compliance.models import RuleSetting

    snapshot = Snapshot(overrides=overrides or {})
    for row in RuleSetting.objects.filter(current=True):
        snapshot.rows[(row.rule, row.district_id, row.vehicle_kind)] = Effective(
            row.rule, row.enabled, validate_params(row.rule, row.params), row.auto_confirm,
            row.tts_warning, row.pk, row.version)
    return snapshot


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def bump_generation() -> None:
    """Call on commit of every settings change."""
    _redis().incr(GENERATION_KEY)


class LiveSettings:
    """The snapshot a pipeline worker uses, reloaded when the generation moves."""

    def __init__(self, redis_client: Any | None = None) -> None:
        self._redis = redis_client or _redis()
        self._generation: int | None = None
        self._checked = 0.0
        self.snapshot = Snapshot()
        self.refresh(force=True)

    def _current_generation(self) -> int:
        return int(self._redis.get(GENERATION_KEY) or 0)

    def refresh(self, *, force: bool = False) -> Snapshot:
        now = time.monotonic()
        if not force and now - self._checked < CHECK_EVERY_S:
            return self.snapshot
        self._checked = now
        generation = self._current_generation()
        if force or generation != self._generation:
            self.snapshot = load_snapshot()
            self._generation = generation
        return self.snapshot
