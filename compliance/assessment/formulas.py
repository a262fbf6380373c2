"""The scoring formulas of RULES.md §4, as pure functions (no database, no settings).

Every KPI is a *value* (a rate, or a per-vehicle measure) and a *score* in points. The roll-up
(compliance.assessment.rollup) gathers one ``UnitFigures`` per unit in SQL and calls
``score_unit``; weights, floors and choices come from settings and are passed in.

Readings chosen where RULES.md's table is silent (each one a bureau can defend to a district or
an enterprise; where the choice is a policy, it is a setting):

- **Assessed vehicles** are the kinds in ``ASSESSMENT_KINDS`` (两客一危: coach, hazmat).
- **Vehicles that must connect** (入网率 denominator) = in-service vehicles of those kinds in the
  registry when the month is computed (suspended and scrapped vehicles need not report), plus any
  vehicle of those kinds that reported in the month (it was running, so it had to be connected).
  A vehicle belongs to the enterprise and registered district that its day-quality rows record for
  the days it reported (the registry's facts on those days), else to the registry's.
- **Connected** (入网): ``ASSESSMENT_CONNECTED_BY = "terminal"`` (default) — an active terminal is
  bound to the vehicle in the registry, or it reported in the month; ``"reported"`` — it reported
  at least once up to the month's end (a terminal on paper that never sent anything is not
  connected). The default follows 联网联控 practice, where 入网 means registered on the platform
  with a terminal and 上线 means actually reporting.
- **Online** (上线) = reported at least once in the month (has a day-quality row; RULES.md §4
  "vehicles that reported in the period"). Online ⊆ connected, so both rates stay ≤ 100 %.
- **Track completeness** and **data validity** are ratios of the month's sums (Σ complete km ÷
  Σ km, Σ valid fixes ÷ Σ fixes), as the data-quality page shows them: a vehicle counts in
  proportion to how much it ran, not one vote per vehicle.
- **Drift rate**: RULES.md §3 defines a drift vehicle per day, so the month's rate is by default
  drift vehicle-days ÷ online vehicle-days (the mean daily rate); ``ASSESSMENT_DRIFT_BASIS =
  "vehicles"`` counts vehicles with any drift day ÷ online vehicles instead. Score =
  weight × (1 − rate), zero when the rate is above the ceiling (5 %); exactly 5 % still scores.
- **Floors**: a rate *below* its floor scores zero; a rate equal to the floor scores
  weight × rate (90 % access → 4.5 of 5).
- **Overspeed / fatigue**: E = the unit's overspeed episodes (fatigue hours beyond the limit) per
  online vehicle; R = the same figure over the whole city's assessed online vehicles (Σ ÷ Σ, not
  the mean of units' figures), the same R for districts and enterprises. The table's formula
  gives 0–20 points (20 at E = 0), scaled by weight ÷ 20. **R = 0** (nobody in the city overspeed)
  means every unit's E is 0 too: full points, as E = 0 earns whenever R > 0 (the formula's 0 ÷ 0
  is not read as "average", which would give a spotless city half marks).
- **Check-post response** = check-posts sent to the unit in the month that were answered within
  ``answer_within_minutes`` of ``sent_at`` ÷ check-posts sent; a check-post still inside its answer
  window when the month is computed is left out of both (it cannot be judged yet); a late answer
  counts as not answered. None sent: full points by default (the bureau did not test the unit;
  ``ASSESSMENT_UNTESTED_CHECKPOST_FULL = False`` scores zero). Districts are not scored on it.
- **No data**: a unit with vehicles that must connect but whose rate is undefined (nothing
  connected, nothing online, no mileage, no fixes) scores zero on that KPI: absent data is not good
  data. A unit with no vehicle that must connect is not assessed at all: no score, no rank.
- **Rounding**: each score is rounded to two decimals and the total is the sum of the rounded
  scores, so the published table adds up; units with equal totals share a rank (1, 2, 2, 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

KPI_KEYS = ("access", "online", "completeness", "validity", "drift", "overspeed", "fatigue",
            "checkpost")
RELATIVE_FULL_POINTS = 20.0  # the table's overspeed/fatigue formula gives 0..20


@dataclass(frozen=True)
class UnitFigures:
    """One unit's month, as the roll-up sums it (all counts over assessed vehicles)."""

    required: int  # vehicles that must connect
    connected: int
    online: int  # vehicles that reported in the month
    online_days: int  # vehicle-days with a report
    drift_days: int  # vehicle-days with at least one drift fix
    drift_vehicles: int  # vehicles with at least one drift day
    mileage_km: float
    complete_km: float
    total_fixes: int
    valid_fixes: int
    overspeed: int  # overspeed episodes
    fatigue_seconds: float  # driving beyond the fatigue limit
    checkposts_sent: int = 0  # judged ones only (answered, or past their window)
    checkposts_answered: int = 0  # answered within their window


@dataclass(frozen=True)
class Region:
    """City-wide per-vehicle averages R (overspeed episodes, fatigue hours)."""

    overspeed: float | None
    fatigue_hours: float | None


@dataclass(frozen=True)
class Choices:
    drift_basis: str = "vehicle_days"
    untested_checkpost_full: bool = True
    drift_ceiling: float = 0.05


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def rate_score(rate: float | None, weight: float, floor: float | None = None) -> float:
    """weight × rate; zero below the floor and when the rate is undefined."""
    if rate is None or (floor is not None and rate < floor):
        return 0.0
    return weight * rate


def drift_score(rate: float | None, weight: float, ceiling: float) -> float:
    """weight × (1 − rate); zero above the ceiling and when undefined."""
    if rate is None or rate > ceiling:
        return 0.0
    return weight * (1.0 - rate)


def relative_score(unit: float | None, region: float | None, weight: float) -> float:
    """RULES.md §4 for a per-vehicle measure E against the regional average R:
    E ≤ R → 10 + (R−E)/R×10; R < E < 2R → (2R−E)/R×10; E ≥ 2R → 0; scaled to ``weight``."""
    if unit is None:
        return 0.0
    if not region:  # R = 0: every E is 0, a spotless record
        points = RELATIVE_FULL_POINTS if unit <= 0 else 0.0
    elif unit <= region:
        points = 10.0 + (region - unit) / region * 10.0
    elif unit < 2 * region:
        points = (2 * region - unit) / region * 10.0
    else:
        points = 0.0
    return points * weight / RELATIVE_FULL_POINTS


def checkpost_score(rate: float | None, weight: float, untested_full: bool) -> float:
    if rate is None:
        return float(weight) if untested_full else 0.0
    return weight * rate


@dataclass(frozen=True)
class Kpi:
    value: float | None
    score: float


def kpi_values(figures: UnitFigures) -> dict[str, float | None]:
    """The KPIs' values (rates as fractions, per-vehicle measures) of one unit."""
    return {
        "access": ratio(figures.connected, figures.required),
        "online": ratio(figures.online, figures.connected),
        "completeness": ratio(figures.complete_km, figures.mileage_km),
        "validity": ratio(figures.valid_fixes, figures.total_fixes),
        "drift": None,  # depends on the basis; see drift_rate
        "overspeed": ratio(figures.overspeed, figures.online),
        "fatigue": ratio(figures.fatigue_seconds / 3600.0, figures.online),
        "checkpost": ratio(figures.checkposts_answered, figures.checkposts_sent),
    }


def drift_rate(figures: UnitFigures, basis: str) -> float | None:
    if basis == "vehicles":
        return ratio(figures.drift_vehicles, figures.online)
    return ratio(figures.drift_days, figures.online_days)


def score_unit(figures: UnitFigures, *, weights: Mapping[str, float],
               floors: Mapping[str, float], region: Region,
               choices: Choices) -> dict[str, Kpi] | None:
    """The scored KPIs of one unit (only those ``weights`` names, in KPI_KEYS order), or None
    when the unit has no vehicle that must connect (not assessed)."""
    if figures.required <= 0:
        return None
    values = kpi_values(figures)
    values["drift"] = drift_rate(figures, choices.drift_basis)
    scorers = {
        "access": lambda v, w: rate_score(v, w, floors.get("access")),
        "online": lambda v, w: rate_score(v, w, floors.get("online")),
        "completeness": lambda v, w: rate_score(v, w, floors.get("completeness")),
        "validity": lambda v, w: rate_score(v, w, floors.get("validity")),
        "drift": lambda v, w: drift_score(v, w, choices.drift_ceiling),
        "overspeed": lambda v, w: relative_score(v, region.overspeed, w),
        "fatigue": lambda v, w: relative_score(v, region.fatigue_hours, w),
        "checkpost": lambda v, w: checkpost_score(v, w, choices.untested_checkpost_full),
    }
    return {key: Kpi(value=values[key], score=round(scorers[key](values[key], weights[key]), 2))
            for key in KPI_KEYS if key in weights}


def total(kpis: Mapping[str, Kpi]) -> float:
    return round(sum(kpi.score for kpi in kpis.values()), 2)


def risk_grade(*, violations_per_vehicle: float, fatigue_hours_per_vehicle: float,
               unresolved_cases: int, thresholds: Mapping[str, Mapping[str, float]]) -> str:
    """"high" / "medium" / "low": the worst grade any of the three measures reaches."""
    measures = {"violations_per_vehicle": violations_per_vehicle,
                "fatigue_hours_per_vehicle": fatigue_hours_per_vehicle,
                "unresolved_cases": unresolved_cases}
    for grade in ("high", "medium"):
        limits = thresholds[grade]
        if any(measures[name] >= limits[name] for name in measures):
            return grade
    return "low"


def handling_kpis(*, received: int, closed: int, on_time: int, submitted: int, returned: int,
                  floor: float) -> dict[str, float | bool | None]:
    """Case-handling rates of a district (RULES.md §4): closed ÷ received (flagged below the
    legal floor), on time ÷ closed, returned ÷ submitted."""
    handling = ratio(closed, received)
    return {"handling_rate": handling, "on_time_rate": ratio(on_time, closed),
            "return_rate": ratio(returned, submitted),
            "below_floor": handling is not None and handling < floor}
