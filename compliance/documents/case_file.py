"""What the printed case file (卷宗) of one case holds, read through the same scoped selectors
as the case page: the facts, the violation's measured values against their thresholds and the
rule setting's version, the maps, every unit's result, the full timeline, the supervision
notices and the evidence list with photo thumbnails embedded as data URIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from accounts.models import User
from compliance import selectors_cases as selectors
from compliance.documents import svg_map
from compliance.documents.images import data_uri, thumbnail_jpeg
from compliance.models import AssignmentState, Case, CaseEvidence, CaseState, Violation
from compliance.services.cases.evidence import IMAGE_TYPES
from compliance.views.violation_evidence import measurement_rows, read_evidence
from fleet.models import District, Zone
from fleet.models.registry import VehicleKind

STATE_LABELS = dict(CaseState.choices)
KIND_LABELS = dict(VehicleKind.choices)
THUMB_PX = 300


@dataclass(frozen=True)
class EvidenceItem:
    evidence: CaseEvidence
    thumbnail: str  # data URI, photos only

    @property
    def size_label(self) -> str:
        size = self.evidence.size
        return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(size / 1024, 0.1):.1f} KB"


def _violation_part(violation: Violation | None) -> dict[str, Any]:
    if violation is None:
        return {}
    zone_id = violation.measured.get("zone_id") if isinstance(violation.measured, dict) else None
    zone = (Zone.objects.filter(pk=zone_id).only("name").first()
            if isinstance(zone_id, int) else None)
    setting = violation.setting
    return {
        "measurements": measurement_rows(violation, zone.name if zone else None),
        "resolution": read_evidence(violation.evidence)["resolution"],
        "setting": setting,
        "setting_district": setting.district.name if setting and setting.district_id else "",
        "setting_kind": KIND_LABELS.get(setting.vehicle_kind, "") if setting else "",
    }


def _maps(case: Case, district_ids: list[int]) -> dict[str, Any]:
    violation = case.violation
    track = violation.track if violation is not None else None
    point = (violation.location if violation is not None and violation.location is not None
             else case.location)
    outlines = [(d.name, d.boundary) for d in District.objects.filter(
        pk__in=district_ids, boundary__isnull=False).order_by("code")]
    detail = svg_map.detail_map(track=track, point=point, outlines=[g for _n, g in outlines])
    overview = svg_map.overview_map(
        point=point, outlines=outlines, detail=svg_map.detail_frame(track=track, point=point))
    return {"detail_map": detail, "overview_map": overview, "has_track": track is not None}


def _evidence(items: list[CaseEvidence]) -> list[EvidenceItem]:
    rows = []
    for evidence in items:
        thumbnail = ""
        if evidence.content_type in IMAGE_TYPES:
            jpeg = thumbnail_jpeg(evidence.file.name, size=THUMB_PX)
            thumbnail = data_uri(jpeg) if jpeg else ""
        rows.append(EvidenceItem(evidence=evidence, thumbnail=thumbnail))
    return rows


def case_file_context(user: User, case: Case) -> dict[str, Any]:
    """``case`` as ``selectors.case_detail(user, pk)`` returns it (scoped, prefetched)."""
    timeline = selectors.case_timeline(user, case)
    assignments = list(case.assignments.all())
    units = [a.district_id for a in assignments if a.state != AssignmentState.WITHDRAWN]
    district_ids = list(dict.fromkeys([case.district_id, *units]))
    unit_names = [a.district.name for a in assignments if a.state != AssignmentState.WITHDRAWN]
    return {
        "case": case,
        "violation": case.violation,
        "unit_names": list(dict.fromkeys(unit_names)),
        "assignments": assignments,
        "timeline": [{"entry": e, "from_label": str(STATE_LABELS.get(e.from_state, "")),
                      "to_label": str(STATE_LABELS.get(e.to_state, "")),
                      "changed": bool(e.to_state) and e.from_state != e.to_state}
                     for e in timeline.entries],
        "supervisions": timeline.supervisions,
        "evidence": _evidence(timeline.evidence),
        "generated_at": timezone.localtime(),
        "generated_by": user,
        **_violation_part(case.violation),
        **_maps(case, district_ids),
    }
