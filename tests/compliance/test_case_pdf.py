"""The printed case file (卷宗): scoped like the case page, and it holds the case number, the
measured values, the whole timeline and the photos (read back with pypdf)."""

from __future__ import annotations

import io
import time

import pytest
from django.contrib.gis.geos import LineString
from django.urls import reverse
from pypdf import PdfReader

from accounts.models import AuditEvent
from compliance.documents import svg_map
from compliance.documents.pdf import render_pdf
from compliance.models import CaseEvent, CaseState
from compliance.services import cases as services
from tests import factories
from tests.compliance import test_case_evidence as evidence_tests
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    fast_passwords,
    make_cast,
    unit,
)
from tests.compliance.test_case_evidence import jpeg_upload

private_media = evidence_tests.private_media  # the fixture, shared
TRACK = LineString([(122.040, 41.118), (122.046, 41.120), (122.052, 41.121), (122.058, 41.124)],
                   srid=4326)


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


def full_case(cast: Cast, *, rounds: int = 12, photos: int = 3):  # type: ignore[no-untyped-def]
    """A violation case with about 30 events: accepted, supervised, returned ``rounds`` times,
    with ``photos`` photos."""
    violation = factories.make_violation(
        cast.world.vehicle_a, district=cast.world.district_a, review_status="confirmed",
        track=TRACK, measured={"max_speed_kmh": 92, "limit_kmh": 60, "duration_s": 75},
        thresholds={"min_duration_s": 30})
    case = services.open_case_for_violation(violation=violation, actor=cast.bureau)
    services.accept_assignment(assignment=unit(case), actor=cast.op_a)
    case.refresh_from_db()
    supervision = services.supervise_case(case=case, actor=cast.bureau, reason="重点督办：超速")
    services.reply_supervision(supervision=supervision, actor=cast.op_a, reply="正在办理")
    for n in range(photos):
        services.add_evidence(case=case, upload=jpeg_upload(f"现场照片{n + 1}.jpg",
                                                            size=(1600, 1200)),
                              actor=cast.op_a, note=f"第{n + 1}张")
    for n in range(rounds):
        case.refresh_from_db()
        services.report_result(assignment=unit(case), outcome="education",
                               note=f"第{n + 1}次约谈驾驶员", actor=cast.op_a)
        case.refresh_from_db()
        services.return_case(case=case, actor=cast.bureau, reason=f"第{n + 1}次退回：材料不全")
    case.refresh_from_db()
    return case


def pdf_text(content: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(content))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_case_file_pdf_holds_the_case(cast, client_for, private_media, capsys):
    case = full_case(cast)
    assert CaseEvent.objects.filter(case=case).count() >= 30
    client = client_for(cast.bureau)
    client.get(reverse("compliance:case_pdf", args=[case.pk]))  # warm: fonts, imports
    started = time.perf_counter()
    response = client.get(reverse("compliance:case_pdf", args=[case.pk]))
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\ncase file PDF, {CaseEvent.objects.filter(case=case).count()} events, "
              f"3 photos: {elapsed:.2f} s, {len(response.content) / 1024:.0f} KB")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{case.number}.pdf"'
    reader, text = pdf_text(response.content)
    for expected in (case.number, "双台子区", "辽L10001", "重点督办：超速", "正在办理",
                     "第1次约谈驾驶员", "第12次退回：材料不全", "现场照片3.jpg", "92 km/h",
                     "60 km/h", "内置默认值", "流转记录"):
        assert expected in text, expected
    assert f"1 / {len(reader.pages)}" in text  # page numbers in the footer
    images = sum(len(page.images) for page in reader.pages)
    assert images == 3  # the photos, embedded
    assert elapsed < 30
    assert AuditEvent.objects.filter(action="case_file_export", object_id=str(case.pk)).exists()


def test_case_file_pdf_is_scoped(cast, client, client_for, private_media):
    case = full_case(cast, rounds=1, photos=0)
    url = reverse("compliance:case_pdf", args=[case.pk])
    assert client_for(cast.op_b).get(url).status_code == 404
    assert client_for(cast.enterprise_a).get(url).status_code == 403
    assert client.get(url).status_code == 302
    response = client_for(cast.op_a).get(url)
    assert response.status_code == 200 and case.number in pdf_text(response.content)[1]


def test_maps_are_drawn_from_our_geometry(cast):
    district = cast.world.district_a
    detail = svg_map.detail_map(track=TRACK, point=TRACK[-1] and None, outlines=[
        district.boundary])
    assert detail is not None and detail.count("<path") >= 2  # the boundary and the track
    overview = svg_map.overview_map(point=None, outlines=[(district.name, district.boundary)],
                                    detail=svg_map.detail_frame(track=TRACK, point=None))
    assert overview is not None and district.name in overview
    assert svg_map.detail_map(track=None, point=None, outlines=[]) is None


def test_render_pdf_fetches_no_files_or_network(tmp_path, settings):
    """What people typed can name a file or a URL; the renderer must not fetch it."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(evidence_tests.image_bytes("PNG"))
    template = tmp_path / "t.html"
    template.write_text(f'{{% extends "compliance/documents/pdf_base.html" %}}'
                        f'{{% block content %}}<p>文本</p><img src="file://{secret}">'
                        f'<img src="http://127.0.0.1:9/x.png">{{% endblock %}}')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"],
                                                             tmp_path]}]
    reader, text = pdf_text(render_pdf("t.html", {}))
    assert "文本" in text and sum(len(page.images) for page in reader.pages) == 0


@pytest.mark.parametrize("state", [CaseState.NEW])
def test_case_page_links_the_pdf(cast, client_for, state):
    case = services.open_case(source="manual", actor=cast.bureau, title="现场检查",
                              vehicle=cast.world.vehicle_a, district=cast.world.district_a)
    assert case.state == state
    page = client_for(cast.bureau).get(reverse("compliance:case_detail", args=[case.pk]))
    assert reverse("compliance:case_pdf", args=[case.pk]) in page.content.decode()
