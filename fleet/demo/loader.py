"""Load the demo city: import the districts, generate, bulk-insert, validate — one transaction."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models, transaction

from fleet.demo.build import DemoCity, build_city
from fleet.demo.spec import CITY_CODE, CITY_NAME, DISTRICT_CODES, DemoSpec
from fleet.demo.writer import existing_data, insert, wipe
from fleet.geo.boundaries import (
    RepairReport,
    default_geojson_path,
    import_districts,
    load_geojson,
    read_features,
)
from fleet.models import District

# Rows per model validated with full_clean() after insertion (spread evenly, always the first).
SAMPLE_PER_MODEL = 200


@dataclass
class LoadReport:
    spec: DemoSpec
    loaded: bool
    message: str
    boundaries: list[RepairReport] = field(default_factory=list)
    inserted: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    validated: int = 0
    seconds: float = 0.0


def _sample(rows: list[models.Model], size: int | None) -> list[models.Model]:
    if size is None or len(rows) <= size:
        return rows
    if size <= 0:
        return []
    step = len(rows) / size
    return [rows[int(i * step)] for i in range(size)]


def validate(city: DemoCity, *, per_model: int | None = SAMPLE_PER_MODEL) -> int:
    """full_clean() a deterministic sample of every model (all rows when ``per_model`` is None).

    Raises ValidationError naming the model and row, which rolls the whole load back.
    """
    checked = 0
    for model, rows in city.batches():
        for row in _sample(rows, per_model):
            try:
                row.full_clean()
            except ValidationError as exc:
                raise ValidationError(f"demo {model._meta.label} {row}: {exc}") from exc
            checked += 1
    return checked


def load_demo_city(spec: DemoSpec, *, replace: bool = False,
                   geojson: str | os.PathLike[str] | None = None,
                   validate_per_model: int | None = SAMPLE_PER_MODEL) -> LoadReport:
    """Load the demo city described by ``spec``; a no-op when the registry already has data
    and ``replace`` is false (see ``fleet.demo.writer``)."""
    started = time.perf_counter()
    report = LoadReport(spec=spec, loaded=False, message="")
    path = Path(geojson) if geojson else default_geojson_path()
    features = read_features(load_geojson(path))  # before any write: a bad file stops here
    missing = set(DISTRICT_CODES) - {f.code for f in features}
    if missing:
        raise ValueError(f"{path} lacks the demo districts {sorted(missing)}")
    with transaction.atomic():
        if not replace:
            reason = existing_data()
            if reason:
                report.message = reason
                report.seconds = time.perf_counter() - started
                return report
        else:
            report.deleted = wipe()
        imported = import_districts(features, parent_code=CITY_CODE, parent_name=CITY_NAME)
        report.boundaries = [f.report for f in imported.features]
        districts = {d.code: d for d in District.objects.filter(code__in=DISTRICT_CODES)}
        boundaries = {f.code: f.geometry for f in features if f.code in DISTRICT_CODES}
        city = build_city(spec, boundaries, districts)
        report.inserted = insert(city.batches())
        report.validated = validate(city, per_model=validate_per_model)
    report.loaded = True
    report.seconds = time.perf_counter() - started
    report.message = (f"demo city loaded: scale {spec.scale:g}, seed {spec.seed}, "
                      f"as of {spec.as_of.isoformat()}, {sum(report.inserted.values()):,} rows "
                      f"in {report.seconds:.1f} s")
    return report
