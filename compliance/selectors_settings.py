"""Reads of the rule settings for the portal, scoped by the user's districts.

Effective values come from compliance.rule_settings.load_snapshot() and Snapshot.resolve — the
very code the pipeline runs — so the page cannot show one threshold while vehicles are judged by
another. RuleSetting has no scoped manager (a city-wide row belongs to no district), so the
gate here is ``District.objects.visible_to(user)``: a district user sees the city-wide rows and
those of their own districts, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.models import AuditEvent
from compliance.catalogue import RULES, Param, RuleSpec, validate_params
from compliance.models import RuleSetting
from compliance.rule_settings import Effective, Snapshot, built_in, load_snapshot
from compliance.services.rule_settings import OBJECT_TYPE, RETIRE_ACTION, SAVE_ACTION
from fleet.models import District
from fleet.models.registry import VehicleKind

if TYPE_CHECKING:
    from accounts.models import User

Key = tuple[str, int | None, str]

# The families of the rules page, in reading order. A rule missing here still shows (last
# family), so a new catalogue entry can never silently vanish from the page.
FAMILIES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("speed_fatigue", _("超速与疲劳驾驶"),
     ("overspeed", "fatigue_continuous", "fatigue_daily", "night_ban")),
    ("taxi_meter", _("出租车计价"), ("no_meter",)),
    ("active_safety", _("主动安全（DSM/ADAS）"),
     ("dsm_phone", "dsm_smoking", "dsm_distraction", "dsm_fatigue", "dsm_seatbelt",
      "camera_blocked", "zebra_not_yield")),
    ("hazmat", _("危险货物运输与从业资格"),
     ("no_waybill", "no_escort", "restricted_zone", "long_stop_toxic", "cert_invalid")),
    ("routes", _("公交与客运线路"), ("route_deviation", "bus_skip_stop", "bus_stop_outside")),
    ("quality_platform", _("数据质量与平台"),
     ("device_fault", "offline_in_service", "gps_drift", "unlicensed_ride_hailing")),
]

# Column headers must stay narrow; the registry's full names go into tooltips.
KIND_SHORT: dict[str, Any] = {
    "taxi": _("出租车"), "ride_hailing": _("网约车"), "bus": _("公交车"), "coach": _("客运车"),
    "hazmat": _("危货车"), "heavy_truck": _("重货车"),
}
ALL_KINDS_LABEL = _("全部车型")
CITY_LABEL = _("全市")

SOURCE_LABELS: dict[str, Any] = {
    "built_in": _("内置默认值"),
    "city": _("全市通用"),
    "city_kind": _("全市·车型"),
    "district": _("区县"),
    "district_kind": _("区县·车型"),
}


def fmt(value: float | int, unit: str = "") -> str:
    text = f"{value:g}"
    return f"{text} {unit}" if unit else text


def show(param: Param, value: float | int) -> str:
    """A parameter's value as the portal shows it: a switch as 是 / 否, a number with its
    unit."""
    if param.type == "switch":
        return str(_("是")) if value else str(_("否"))
    return fmt(value, param.unit)


def _on_off(value: bool) -> str:
    return str(_("开")) if value else str(_("关"))


def _enabled_text(value: bool) -> str:
    return str(_("启用")) if value else str(_("停用"))


@dataclass(frozen=True)
class Scope:
    district: District | None
    kind: str = ""  # "" = every kind the rule applies to

    @property
    def district_id(self) -> int | None:
        return self.district.pk if self.district is not None else None

    def key(self, rule: str) -> Key:
        return (rule, self.district_id, self.kind)

    @property
    def is_city_wide(self) -> bool:
        return self.district is None and not self.kind

    @property
    def label(self) -> str:
        where = self.district.name if self.district is not None else str(CITY_LABEL)
        what = str(KIND_SHORT[self.kind]) if self.kind else str(ALL_KINDS_LABEL)
        return f"{where} · {what}"

    @property
    def query(self) -> str:
        return f"district={self.district_id or ''}&kind={self.kind}"


def source_of(key: Key | None) -> str:
    if key is None:
        return "built_in"
    _rule, district_id, kind = key
    if district_id is None:
        return "city_kind" if kind else "city"
    return "district_kind" if kind else "district"


@dataclass(frozen=True)
class Resolved:
    """An effective setting and the row (scope) it comes from."""

    effective: Effective
    key: Key | None

    @property
    def source(self) -> str:
        return source_of(self.key)

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS[self.source])


class Settings:
    """One snapshot of the rows in force, read once per page."""

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self.snapshot = snapshot or load_snapshot()
        self._keys = {eff.setting_id: key for key, eff in self.snapshot.rows.items()}

    def resolve(self, rule: str, scope: Scope) -> Resolved:
        effective = self.snapshot.resolve(rule, scope.district_id, scope.kind)
        return Resolved(effective, self._keys.get(effective.setting_id))

    def inherited(self, rule: str, scope: Scope) -> Resolved:
        """What the scope would be judged by without a row of its own."""
        own = scope.key(rule)
        if own not in self.snapshot.rows:
            return self.resolve(rule, scope)
        rest = Snapshot(rows={k: v for k, v in self.snapshot.rows.items() if k != own})
        return Settings(rest).resolve(rule, scope)

    def rows_of(self, rule: str) -> dict[Key, Effective]:
        return {key: eff for key, eff in self.snapshot.rows.items() if key[0] == rule}


# --- scope ----------------------------------------------------------------------------------


def districts_for(user: User) -> list[District]:
    """Leaf districts the user may see, in code order (the parent city is the city-wide row)."""
    return list(District.objects.visible_to(user).filter(children__isnull=True).order_by("code"))


def default_scope(user: User) -> Scope:
    if user.scope.everything:
        return Scope(None)
    own = districts_for(user)
    return Scope(own[0] if own else None)


def parse_scope(user: User, spec: RuleSpec | None, district: str | None,
                kind: str | None) -> Scope:
    """Scope from query parameters; an unknown or out-of-scope district or kind is a 404."""
    if district is None and kind is None:
        return default_scope(user)
    chosen = None
    if district:
        if not district.isdigit():
            raise Http404
        chosen = next((d for d in districts_for(user) if d.pk == int(district)), None)
        if chosen is None:
            raise Http404
    kind = kind or ""
    if kind and (kind not in KIND_SHORT or (spec is not None and kind not in spec.kinds)):
        raise Http404
    return Scope(chosen, kind)


def current_rows(user: User) -> QuerySet[RuleSetting]:
    """The rows in force the user may read: city-wide ones and those of their districts."""
    visible = District.objects.visible_to(user).values("pk")
    return (RuleSetting.objects.filter(current=True)
            .filter(Q(district__isnull=True) | Q(district__in=visible))
            .select_related("district", "created_by")
            .order_by("rule", F("district__code").asc(nulls_first=True), "vehicle_kind"))


def rule_or_404(rule: str) -> RuleSpec:
    try:
        return RULES[rule]
    except KeyError:
        raise Http404 from None


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamShown:
    param: Param
    value: float | int
    inherited: float | int
    default: float | int

    @property
    def text(self) -> str:
        return show(self.param, self.value)

    @property
    def inherited_text(self) -> str:
        return show(self.param, self.inherited)

    @property
    def default_text(self) -> str:
        return show(self.param, self.default)

    @property
    def range_text(self) -> str:
        if self.param.type == "switch":
            return ""
        return f"{fmt(self.param.minimum)}–{fmt(self.param.maximum, self.param.unit)}"

    @property
    def differs_from_inherited(self) -> bool:
        return self.value != self.inherited

    @property
    def differs_from_default(self) -> bool:
        return self.value != self.default


def params_shown(spec: RuleSpec, effective: Effective,
                 inherited: Effective | None = None) -> list[ParamShown]:
    defaults = spec.defaults()
    base = inherited.params if inherited is not None else defaults
    return [ParamShown(p, effective.params[p.name], base[p.name], defaults[p.name])
            for p in spec.params]


@dataclass(frozen=True)
class Change:
    name: str  # parameter name, or enabled / auto_confirm / tts_warning
    label: str
    before: str
    after: str


def changes(spec: RuleSpec, before: Effective, after: Effective) -> list[Change]:
    """What ``after`` changes relative to ``before``, readable, in catalogue order."""
    found = []
    if before.enabled != after.enabled:
        found.append(Change("enabled", str(_("启用")), _enabled_text(before.enabled),
                            _enabled_text(after.enabled)))
    for p in spec.params:
        old, new = before.params.get(p.name), after.params.get(p.name)
        if old != new:
            found.append(Change(p.name, str(p.label), "—" if old is None else show(p, old),
                                show(p, new) if new is not None else "—"))
    if before.auto_confirm != after.auto_confirm:
        found.append(Change("auto_confirm", str(_("自动确认")), _on_off(before.auto_confirm),
                            _on_off(after.auto_confirm)))
    if before.tts_warning != after.tts_warning:
        found.append(Change("tts_warning", str(_("语音提醒")), _on_off(before.tts_warning),
                            _on_off(after.tts_warning)))
    return found


# --- the rules page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OverrideTag:
    scope: Scope
    enabled: bool

    @property
    def label(self) -> str:
        where = self.scope.district.name if self.scope.district else str(CITY_LABEL)
        return f"{where}·{KIND_SHORT[self.scope.kind]}" if self.scope.kind else where


@dataclass
class RuleRow:
    spec: RuleSpec
    resolved: Resolved
    params: list[ParamShown]
    overrides: list[OverrideTag]

    @property
    def kinds(self) -> list[tuple[str, str, str]]:
        return [(k, str(KIND_SHORT[k]), str(VehicleKind(k).label)) for k in KIND_SHORT
                if k in self.spec.kinds]

    @property
    def all_kinds(self) -> bool:
        return set(self.spec.kinds) == set(KIND_SHORT)


@dataclass
class Family:
    code: str
    label: Any
    rules: list[RuleRow] = field(default_factory=list)


def _overrides(settings: Settings, rule: str, districts: dict[int, District],
               scope: Scope) -> list[OverrideTag]:
    tags = []
    for (_rule, district_id, kind), eff in settings.rows_of(rule).items():
        if district_id is None and not kind:
            continue  # the city-wide row is the reference, not an override
        if district_id is not None and district_id not in districts:
            continue  # another district's business
        if scope.district is not None and district_id not in (None, scope.district_id):
            continue  # viewing one district: the rows that can reach its vehicles
        district = districts[district_id] if district_id is not None else None
        tags.append(OverrideTag(Scope(district, kind), eff.enabled))
    return sorted(tags, key=lambda t: (t.scope.district.code if t.scope.district else "",
                                       t.scope.kind))


def overview(user: User, scope: Scope) -> list[Family]:
    """Every rule grouped by family, with the values in force for ``scope`` (district, all
    kinds) compared with the city-wide ones, and the overrides the user may see."""
    settings = Settings()
    districts = {d.pk: d for d in districts_for(user)}
    city = Scope(None)
    families = [Family(code, label) for code, label, _rules in FAMILIES]
    placed = {rule: i for i, (_c, _l, rules) in enumerate(FAMILIES) for rule in rules}
    for code, spec in RULES.items():
        resolved = settings.resolve(code, scope)
        reference = settings.resolve(code, city).effective
        row = RuleRow(spec, resolved, params_shown(spec, resolved.effective, reference),
                      _overrides(settings, code, districts, scope))
        families[placed.get(code, len(families) - 1)].rules.append(row)
    return [family for family in families if family.rules]


@dataclass(frozen=True)
class Deviation:
    district: District | None  # None: city-wide rows for one vehicle kind
    count: int

    @property
    def label(self) -> str:
        return self.district.name if self.district else f"{CITY_LABEL}·{_('车型')}"


def deviations(user: User, families: list[Family]) -> list[Deviation]:
    """How many rules each visible district tunes on its own (zero included, so a uniform
    district shows as such), then the city's per-kind rows — the supervisor's first question."""
    counts: dict[int | None, int] = {}
    for family in families:
        for row in family.rules:
            for district_id in {tag.scope.district_id for tag in row.overrides}:
                counts[district_id] = counts.get(district_id, 0) + 1
    found = [Deviation(d, counts.get(d.pk, 0)) for d in districts_for(user)]
    if counts.get(None):
        found.append(Deviation(None, counts[None]))
    return found


# --- one rule ---------------------------------------------------------------------------------


@dataclass
class MatrixCell:
    scope: Scope
    resolved: Resolved
    own: bool
    changes: list[Change]
    summary: str  # every value in force here, for the tooltip

    @property
    def enabled(self) -> bool:
        return self.resolved.effective.enabled


def summary(spec: RuleSpec, resolved: Resolved) -> str:
    eff = resolved.effective
    parts = [_enabled_text(eff.enabled)]
    parts += [f"{p.label} {show(p, eff.params[p.name])}" for p in spec.params]
    source = resolved.source_label
    if resolved.key is not None:
        source += f" v{eff.version}"
    return "；".join(parts) + f"（{_('来源')}：{source}）"


@dataclass
class MatrixRow:
    district: District | None
    cells: list[MatrixCell]

    @property
    def label(self) -> str:
        return self.district.name if self.district else str(CITY_LABEL)

    @property
    def deviates(self) -> bool:
        return any(cell.own for cell in self.cells)


@dataclass
class Matrix:
    columns: list[tuple[str, str, str]]  # (kind, short label, full label)
    rows: list[MatrixRow]

    @property
    def override_count(self) -> int:
        return sum(cell.own for row in self.rows for cell in row.cells
                   if not cell.scope.is_city_wide)


def matrix(user: User, spec: RuleSpec, settings: Settings | None = None) -> Matrix:
    """City and each visible district × every kind: which cells have their own row and what
    that row changes relative to what the cell would otherwise inherit."""
    settings = settings or Settings()
    columns = [("", str(ALL_KINDS_LABEL), str(ALL_KINDS_LABEL))]
    columns += [(k, str(KIND_SHORT[k]), str(VehicleKind(k).label)) for k in KIND_SHORT
                if k in spec.kinds]
    rows = []
    for district in [None, *districts_for(user)]:
        cells = []
        for kind, _short, _full in columns:
            scope = Scope(district, kind)
            resolved = settings.resolve(spec.code, scope)
            own = resolved.key == scope.key(spec.code)
            found = (changes(spec, settings.inherited(spec.code, scope).effective,
                             resolved.effective) if own else [])
            cells.append(MatrixCell(scope, resolved, own, found, summary(spec, resolved)))
        rows.append(MatrixRow(district, cells))
    return Matrix(columns, rows)


@dataclass(frozen=True)
class SwitchShown:
    """enabled / auto_confirm / tts_warning, shown like a parameter."""

    name: str
    label: Any
    value: bool
    inherited: bool
    default: bool

    def _text(self, value: bool) -> str:
        return _enabled_text(value) if self.name == "enabled" else _on_off(value)

    @property
    def text(self) -> str:
        return self._text(self.value)

    @property
    def inherited_text(self) -> str:
        return self._text(self.inherited)

    @property
    def default_text(self) -> str:
        return self._text(self.default)

    @property
    def differs_from_inherited(self) -> bool:
        return self.value != self.inherited

    @property
    def differs_from_default(self) -> bool:
        return self.value != self.default


@dataclass
class ScopeState:
    """The scope being viewed or edited: its own row, what is in force, what it inherits."""

    scope: Scope
    own: RuleSetting | None
    resolved: Resolved
    inherited: Resolved
    params: list[ParamShown]

    @property
    def switches(self) -> list[SwitchShown]:
        spec = RULES[self.resolved.effective.rule]
        now, base = self.resolved.effective, self.inherited.effective
        found = [SwitchShown("enabled", _("启用"), now.enabled, base.enabled, True)]
        if spec.screened:
            found.append(SwitchShown("auto_confirm", _("自动确认"), now.auto_confirm,
                                     base.auto_confirm, False))
        if spec.warnable:
            found.append(SwitchShown("tts_warning", _("语音提醒驾驶员"), now.tts_warning,
                                     base.tts_warning, False))
        return found


def scope_state(spec: RuleSpec, scope: Scope, settings: Settings | None = None) -> ScopeState:
    settings = settings or Settings()
    own = (RuleSetting.objects.filter(rule=spec.code, district=scope.district,
                                      vehicle_kind=scope.kind, current=True)
           .select_related("created_by").first())
    resolved = settings.resolve(spec.code, scope)
    inherited = settings.inherited(spec.code, scope)
    return ScopeState(scope, own, resolved, inherited,
                      params_shown(spec, resolved.effective, inherited.effective))


# --- history ----------------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    at: datetime
    scope: Scope
    action: str  # "save" | "retire"
    version: int
    author: Any
    note: str
    current: bool = False
    first: bool = False  # no earlier version of this scope: changes are against the defaults
    changes: list[Change] = field(default_factory=list)


def _effective(row: RuleSetting) -> Effective:
    return Effective(row.rule, row.enabled, validate_params(row.rule, row.params),
                     row.auto_confirm, row.tts_warning, row.pk, row.version)


def _inherited_at_creation(spec: RuleSpec) -> dict[int, Effective]:
    """For each first version of a scope, what that scope was judged by just before (kept in
    the audit row by the save service)."""
    found = {}
    events = AuditEvent.objects.filter(object_type=OBJECT_TYPE, action=SAVE_ACTION,
                                       detail__rule=spec.code, detail__before=None)
    for object_id, detail in events.values_list("object_id", "detail"):
        was = detail.get("inherited")
        if was and object_id.isdigit():
            found[int(object_id)] = Effective(
                spec.code, was["enabled"], validate_params(spec.code, was["params"]),
                was["auto_confirm"], was["tts_warning"], was["setting_id"], was["version"])
    return found


def history(user: User, spec: RuleSpec, *, limit: int = 50) -> list[HistoryEntry]:
    """Every version of the rule in the user's scopes and every removal, newest first; each
    version with what it changed against the previous version of the same scope."""
    districts = {d.pk: d for d in districts_for(user)}
    visible = [None, *districts]
    rows = (RuleSetting.objects.filter(rule=spec.code).select_related("created_by")
            .order_by("district_id", "vehicle_kind", "version"))
    entries = []
    inherited = _inherited_at_creation(spec)
    previous: dict[tuple[int | None, str], RuleSetting] = {}
    for row in rows:
        if row.district_id not in visible:
            continue
        scope = Scope(districts.get(row.district_id) if row.district_id else None,
                      row.vehicle_kind)
        before = previous.get((row.district_id, row.vehicle_kind))
        # A row saved where no row was current (a first override, or one after a removal) is
        # compared with what the scope inherited then; a later version with its predecessor.
        was = inherited.get(row.pk)
        baseline = was or (_effective(before) if before is not None else built_in(spec.code))
        entries.append(HistoryEntry(
            row.created_at, scope, "save", row.version, row.created_by, row.note, row.current,
            first=was is not None or before is None,
            changes=changes(spec, baseline, _effective(row))))
        previous[(row.district_id, row.vehicle_kind)] = row
    retirements = (AuditEvent.objects.filter(object_type=OBJECT_TYPE, action=RETIRE_ACTION,
                                             detail__rule=spec.code).select_related("actor"))
    for event in retirements:
        district_id = event.detail.get("district_id")
        if district_id not in visible:
            continue
        scope = Scope(districts.get(district_id) if district_id else None,
                      event.detail.get("vehicle_kind", ""))
        entries.append(HistoryEntry(event.at, scope, "retire", event.detail.get("version", 0),
                                    event.actor, event.detail.get("note", "")))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
