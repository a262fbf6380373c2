"""Evidence through the case page and the API: upload (several files, all or none), the report
with its files in one submit, and the scoped download (another district: 404; anonymous: the
login page)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from compliance.models import CaseEvent, CaseEvidence, CaseState
from compliance.services import cases as services
from tests.compliance import test_case_evidence as evidence_tests
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    drive,
    fast_passwords,
    make_cast,
    new_case,
    unit,
)
from tests.compliance.test_case_evidence import (
    PDF,
    image_bytes,
    jpeg_upload,
    stored_files,
    upload,
)

private_media = evidence_tests.private_media  # the fixture, shared

API = "/api/v1/cases/"


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


def page_messages(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(m) for m in response.context["messages"])


def upload_url(case) -> str:  # type: ignore[no-untyped-def]
    return reverse("compliance:case_evidence_upload", args=[case.pk])


def file_url(evidence: CaseEvidence) -> str:
    return reverse("compliance:case_evidence", args=[evidence.case_id, evidence.pk])


def test_district_uploads_several_files_and_downloads_them(cast, client_for, private_media):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    client = client_for(cast.op_a)
    page = client.get(reverse("compliance:case_detail", args=[case.pk])).content.decode()
    assert 'data-testid="evidence-form"' in page and "导出卷宗 PDF" in page
    response = client.post(upload_url(case), {
        "assignment": unit(case).pk, "note": "现场",
        "files": [jpeg_upload("车头.jpg"), upload("询问笔录.pdf", PDF)]}, follow=True)
    assert "已上传 2 个证据文件" in page_messages(response)
    photo, letter = CaseEvidence.objects.order_by("pk")
    assert (photo.content_type, letter.content_type) == ("image/jpeg", "application/pdf")
    html = response.content.decode()
    assert "车头.jpg" in html and f'{file_url(photo)}?thumb=1' in html

    download = client.get(file_url(letter))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E8%AF%A2" in download["Content-Disposition"]
    assert b"".join(download.streaming_content) == PDF
    inline = client.get(file_url(photo), {"inline": "1"})
    assert inline["Content-Disposition"].startswith("inline;")
    thumb = client.get(file_url(photo), {"thumb": "1"})
    assert thumb["Content-Type"] == "image/jpeg" and thumb.content[:3] == b"\xff\xd8\xff"


def test_download_is_scoped(cast, client, client_for, private_media):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    evidence = services.add_evidence(case=case, upload=jpeg_upload(), actor=cast.op_a)
    assert client_for(cast.op_b).get(file_url(evidence)).status_code == 404
    assert client_for(cast.op_b).get(f"{API}{case.pk}/evidence/{evidence.pk}/").status_code == 404
    assert client_for(cast.enterprise_a).get(file_url(evidence)).status_code == 403
    anonymous = client.get(file_url(evidence))
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    # Another case's id with this file's id: not found either.
    other = drive(cast, new_case(cast), CaseState.ACCEPTED)
    url = reverse("compliance:case_evidence", args=[other.pk, evidence.pk])
    assert client_for(cast.op_a).get(url).status_code == 404
    assert client_for(cast.bureau).get(file_url(evidence)).status_code == 200


def test_one_bad_file_uploads_none(cast, client_for, private_media):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    response = client_for(cast.op_a).post(upload_url(case), {
        "files": [jpeg_upload("好的.jpg"), upload("假的.jpg", PDF)]}, follow=True)
    text = page_messages(response)
    assert "假的.jpg" in text and "本次未上传任何文件" in text
    assert not CaseEvidence.objects.exists() and stored_files(private_media) == []


def test_upload_refused_out_of_scope_and_out_of_turn(cast, client_for, private_media):
    case = drive(cast, new_case(cast), CaseState.HANDLED)
    assert client_for(cast.op_b).post(upload_url(case), {"files": [jpeg_upload()]}) \
        .status_code == 404
    assert client_for(cast.analyst).post(upload_url(case), {"files": [jpeg_upload()]}) \
        .status_code == 403
    response = client_for(cast.op_a).post(upload_url(case), {"files": [jpeg_upload()]},
                                          follow=True)
    assert "不能上传证据" in page_messages(response)
    page = client_for(cast.op_a).get(reverse("compliance:case_detail", args=[case.pk]))
    assert 'data-testid="evidence-form"' not in page.content.decode()
    assert not CaseEvidence.objects.exists()


def test_report_with_files_in_one_submit(cast, client_for, private_media):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    client = client_for(cast.op_a)
    page = client.get(reverse("compliance:case_detail", args=[case.pk])).content.decode()
    assert 'enctype="multipart/form-data" data-testid="report-form"' in page
    url = reverse("compliance:case_action", args=[case.pk, "report"])
    form = {"seen": "accepted", "assignment": unit(case).pk, "outcome": "fine",
            "fine_yuan": "200"}

    # A refused file: no report, nothing stored.
    response = client.post(url, {**form, "files": [jpeg_upload(), upload("x.png", PDF)]},
                           follow=True)
    assert "x.png" in page_messages(response)
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED
    assert not CaseEvidence.objects.exists() and stored_files(private_media) == []

    # A refused report: the good files are not kept either.
    response = client.post(url, {**form, "fine_yuan": "", "files": [jpeg_upload()]},
                           follow=True)
    assert "罚款须填写" in page_messages(response)
    assert not CaseEvidence.objects.exists() and stored_files(private_media) == []

    response = client.post(url, {**form, "files": [jpeg_upload("a.jpg"), jpeg_upload("b.jpg")]},
                           follow=True)
    assert "附证据 2 件" in page_messages(response)
    case.refresh_from_db()
    assert case.state == CaseState.HANDLED
    assert CaseEvidence.objects.filter(assignment=unit(case)).count() == 2
    assert len(stored_files(private_media)) == 2
    actions = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert actions[-3:] == ["evidence_added", "evidence_added", "report"]


def test_stale_report_with_files_is_a_conflict(cast, client_for, private_media):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    url = reverse("compliance:case_action", args=[case.pk, "report"])
    response = client_for(cast.op_a).post(url, {
        "seen": "dispatched", "assignment": unit(case).pk, "outcome": "education",
        "files": [jpeg_upload()]}, follow=True)
    assert "他人已先行操作" in page_messages(response)
    assert not CaseEvidence.objects.exists()


def test_case_page_with_evidence_stays_cheap(cast, client_for, private_media,
                                             django_assert_max_num_queries):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    for n in range(6):
        services.add_evidence(case=case, upload=jpeg_upload(f"{n}.jpg"), actor=cast.op_a)
    client = client_for(cast.op_a)
    with django_assert_max_num_queries(25):
        response = client.get(reverse("compliance:case_detail", args=[case.pk]))
    assert response.content.decode().count("?thumb=1") == 6


def test_api_upload_list_download(cast, client_for, private_media):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    client = client_for(cast.op_a)
    url = f"{API}{case.pk}/evidence/"
    response = client.post(url, {"files": [jpeg_upload("车尾.jpg"), upload("l.pdf", PDF)],
                                 "note": "补充"})
    assert response.status_code == 201, response.content
    rows = response.json()
    assert [r["content_type"] for r in rows] == ["image/jpeg", "application/pdf"]
    assert rows[0]["district"] == cast.world.district_a.pk
    listed = client.get(url).json()
    assert [r["original_name"] for r in listed] == ["车尾.jpg", "l.pdf"]
    download = client.get(listed[1]["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert client_for(cast.op_b).get(url).status_code == 404
    assert client_for(cast.op_b).post(url, {"files": [jpeg_upload()]}).status_code == 404


@pytest.mark.parametrize(("files", "status", "code"), [
    (lambda: [upload("big.jpg", image_bytes(size=(600, 600)))], 413, "evidence_too_large"),
    (lambda: [upload("a.jpg", b"hello")], 415, "evidence_type"),
    (lambda: [upload("a.png", PDF)], 400, "evidence_extension"),
    (lambda: [upload("a.jpg", b"")], 400, "evidence_empty"),
])
def test_api_refusals_are_typed(cast, client_for, private_media, settings, files, status, code):
    settings.CASE_EVIDENCE_MAX_BYTES = 4000
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    response = client_for(cast.op_a).post(f"{API}{case.pk}/evidence/", {"files": files()})
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not CaseEvidence.objects.exists() and stored_files(private_media) == []


def test_each_opening_of_a_file_is_audited(cast, client_for, private_media):
    """Portal and API downloads write an audit row (who, which file, inline or not); the case
    page's thumbnails and refused requests do not."""
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    photo = services.add_evidence(case=case, upload=jpeg_upload("车头.jpg"), actor=cast.op_a)
    before = AuditEvent.objects.filter(action="evidence_download").count()
    client_for(cast.op_a).get(file_url(photo), {"thumb": "1"})
    assert client_for(cast.op_b).get(file_url(photo)).status_code == 404
    assert client_for(cast.op_a).get(file_url(photo), {"inline": "1"}).status_code == 200
    assert client_for(cast.bureau).get(f"{API}{case.pk}/evidence/{photo.pk}/").status_code == 200
    rows = AuditEvent.objects.filter(action="evidence_download").order_by("pk")[before:]
    assert [(r.actor, r.object_id, r.detail["evidence"], r.detail["inline"], r.detail["channel"])
            for r in rows] == [(cast.op_a, str(case.pk), photo.pk, True, "portal"),
                               (cast.bureau, str(case.pk), photo.pk, False, "api")]
