"""Evidence files (compliance.services.cases.evidence): what is accepted, what is refused with
which code, who may add when — and that a refusal or a failed transaction leaves neither a row
nor a file in the private storage.

The file makers and the ``private_media`` fixture are shared with the other evidence tests."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

# WeasyPrint relaxes Pillow's truncated-image check when imported: the refusals below must hold
# in a process that also prints PDFs.
import weasyprint  # noqa: F401
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import AuditEvent
from compliance.models import CaseEvent, CaseEvidence, CaseState
from compliance.services import cases as services
from compliance.services.cases import CaseError
from compliance.services.cases.evidence import clean_name
from tests.compliance.case_support import (  # noqa: F401 (fixture)
    Cast,
    drive,
    fast_passwords,
    make_cast,
    new_case,
    unit,
)


@pytest.fixture
def private_media(settings, tmp_path) -> Path:  # type: ignore[no-untyped-def]
    """The default storage in a folder of this test (Django resets the storage on change)."""
    root = tmp_path / "private"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": root}}}
    return root


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):  # type: ignore[no-untyped-def]
    return SimpleUploadedFile(name, content, content_type=content_type)


def jpeg_upload(name: str = "现场照片.jpg", **kwargs: object):  # type: ignore[no-untyped-def]
    return upload(name, image_bytes("JPEG", **kwargs), "image/jpeg")  # type: ignore[arg-type]


@pytest.fixture
def cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user) -> Cast:
    return make_cast(world, bureau_user, district_a_user, district_b_user, enterprise_a_user)


@pytest.mark.parametrize(("name", "content", "content_type"), [
    ("现场照片.jpg", image_bytes("JPEG"), "image/jpeg"),
    ("photo.JPEG", image_bytes("JPEG"), "image/jpeg"),
    ("截图.png", image_bytes("PNG"), "image/png"),
    ("处罚决定书.pdf", PDF, "application/pdf"),
    ("行车记录仪.mp4", MP4, "video/mp4"),
])
def test_district_adds_evidence_while_handling(cast, private_media, name, content, content_type):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    evidence = services.add_evidence(case=case, assignment=unit(case),
                                     upload=upload(name, content, "text/plain"),
                                     actor=cast.op_a, note="现场取证")
    evidence.refresh_from_db()
    # The type is the sniffed one, not what the browser claimed.
    assert evidence.content_type == content_type
    assert evidence.original_name == name and evidence.size == len(content)
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.assignment == unit(case) and evidence.uploaded_by == cast.op_a
    # Stored under a random name in the private storage, not under the person's file name.
    assert evidence.file.name.startswith(f"cases/{case.pk}/") and name not in evidence.file.name
    assert (private_media / evidence.file.name).read_bytes() == content
    event = CaseEvent.objects.get(case=case, action="evidence_added")
    assert (event.from_state, event.to_state) == (CaseState.ACCEPTED, CaseState.ACCEPTED)
    assert event.note == "现场取证" and event.district == cast.world.district_a
    assert event.detail["evidence"] == evidence.pk and event.detail["sha256"] == evidence.sha256
    assert AuditEvent.objects.filter(action="case_evidence_added",
                                     object_id=str(case.pk)).count() == 1
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED  # evidence does not move the case


def _truncated_jpeg() -> bytes:
    whole = image_bytes("JPEG", size=(400, 300))
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(("name", "content", "code"), [
    ("empty.jpg", b"", CaseError.EVIDENCE_EMPTY),
    ("notes.txt", "只是文字".encode(), CaseError.EVIDENCE_TYPE),
    ("notes.jpg", b"GIF89a" + b"\x00" * 40, CaseError.EVIDENCE_TYPE),
    ("photo.png", image_bytes("JPEG"), CaseError.EVIDENCE_EXTENSION),
    ("photo.jpg", PDF, CaseError.EVIDENCE_EXTENSION),  # a "JPEG" holding a PDF
    ("photo", image_bytes("JPEG"), CaseError.EVIDENCE_EXTENSION),  # no extension at all
    ("clip.mp4", image_bytes("PNG"), CaseError.EVIDENCE_EXTENSION),
    ("photo.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100, CaseError.EVIDENCE_DAMAGED),
    ("photo.jpg", _truncated_jpeg(), CaseError.EVIDENCE_DAMAGED),
    ("letter.pdf", b"%PDF-1.4\nno end marker", CaseError.EVIDENCE_DAMAGED),
])
def test_refused_files_leave_nothing(cast, private_media, name, content, code):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    events = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(CaseError) as refused:
        services.add_evidence(case=case, assignment=unit(case), upload=upload(name, content),
                              actor=cast.op_a)
    assert refused.value.code == code
    assert name in refused.value.message or code == CaseError.EVIDENCE_EMPTY
    assert not CaseEvidence.objects.exists()
    assert stored_files(private_media) == []
    assert CaseEvent.objects.filter(case=case).count() == events


def test_too_large_is_refused(cast, private_media, settings):
    settings.CASE_EVIDENCE_MAX_BYTES = 1000
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    with pytest.raises(CaseError) as refused:
        services.add_evidence(case=case, assignment=unit(case),
                              upload=jpeg_upload(size=(400, 400)), actor=cast.op_a)
    assert refused.value.code == CaseError.EVIDENCE_TOO_LARGE
    assert not CaseEvidence.objects.exists() and stored_files(private_media) == []


def test_decompression_bomb_is_refused(cast, private_media):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, "PNG")  # 81 megapixels in a few kilobytes
    with pytest.raises(CaseError) as refused:
        services.add_evidence(case=case, assignment=unit(case),
                              upload=upload("bomb.png", out.getvalue()), actor=cast.op_a)
    assert refused.value.code == CaseError.EVIDENCE_DAMAGED


@pytest.mark.parametrize(("state", "who", "code"), [
    (CaseState.DISPATCHED, "op_a", CaseError.INVALID_TRANSITION),  # not signed for yet
    (CaseState.HANDLED, "op_a", CaseError.INVALID_TRANSITION),  # already reported
    (CaseState.ACCEPTED, "op_b", CaseError.NOT_FOUND),  # another district's case
    (CaseState.ACCEPTED, "analyst", CaseError.FORBIDDEN),  # read-only bureau role
    (CaseState.ACCEPTED, "leader_a", CaseError.FORBIDDEN),  # leaders approve, not handle
    (CaseState.ARCHIVED, "bureau", CaseError.INVALID_TRANSITION),  # closed and read-only
])
def test_who_may_add_when(cast, private_media, state, who, code):
    case = drive(cast, new_case(cast), state)
    with pytest.raises(CaseError) as refused:
        services.add_evidence(case=case, assignment=unit(case) if who != "bureau" else None,
                              upload=jpeg_upload(), actor=getattr(cast, who))
    assert refused.value.code == code
    assert not CaseEvidence.objects.exists() and stored_files(private_media) == []


@pytest.mark.parametrize("state", [CaseState.NEW, CaseState.HANDLED, CaseState.VERIFIED,
                                   CaseState.RETURNED])
def test_the_city_adds_to_any_case_not_archived(cast, private_media, state):
    case = drive(cast, new_case(cast), state)
    evidence = services.add_evidence(case=case, upload=jpeg_upload(), actor=cast.bureau)
    assert evidence.assignment is None
    assert CaseEvent.objects.get(case=case, action="evidence_added").to_state == state


def test_returned_unit_may_add_again_and_the_unit_is_found(cast, private_media):
    case = drive(cast, new_case(cast), CaseState.RETURNED)
    # No assignment named: the district's only unit on the case.
    evidence = services.add_evidence(case=case, upload=jpeg_upload(), actor=cast.op_a)
    assert evidence.assignment == unit(case)


def test_a_failed_transaction_deletes_the_stored_files(cast, private_media):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    with pytest.raises(CaseError), services.evidence_transaction():
        services.add_evidence(case=case, assignment=unit(case), upload=jpeg_upload("a.jpg"),
                              actor=cast.op_a)
        assert len(stored_files(private_media)) == 1  # written before its row
        services.add_evidence(case=case, assignment=unit(case),
                              upload=upload("b.jpg", b"not an image"), actor=cast.op_a)
    assert not CaseEvidence.objects.exists() and stored_files(private_media) == []
    assert not CaseEvent.objects.filter(action="evidence_added").exists()


def test_a_failure_after_the_files_rolls_them_back(cast, private_media):
    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    with pytest.raises(CaseError), services.evidence_transaction():
        services.add_evidence(case=case, assignment=unit(case), upload=jpeg_upload(),
                              actor=cast.op_a)
        services.report_result(assignment=unit(case), outcome="fine", actor=cast.op_a)
    assert not CaseEvidence.objects.exists() and stored_files(private_media) == []


def test_timeline_shows_one_entry_per_upload(cast, private_media):
    from compliance import selectors_cases as selectors

    case = drive(cast, new_case(cast), CaseState.ACCEPTED)
    services.add_evidence(case=case, assignment=unit(case), upload=jpeg_upload("车头.jpg"),
                          actor=cast.op_a, note="车头照片")
    entries = selectors.case_timeline(cast.op_a, case).entries
    uploads = [e for e in entries if e.kind == "evidence"]
    assert len(uploads) == 1 and uploads[0].note == "车头.jpg\n车头照片"
    assert not any(e.action == "evidence_added" for e in entries)


@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd.jpg", "passwd.jpg"),
    ("C:\\Users\\张三\\现场 照片.JPG", "现场 照片.JPG"),
    ("evil\u202egpj.exe.jpg", "evilgpj.exe.jpg"),  # no right-to-left override
    ("a<b>:c|d?.png", "a_b__c_d_.png"),
    ("  ..hidden.pdf  ", "hidden.pdf"),
    ("line\nbreak.jpg", "linebreak.jpg"),
    ("长" * 300 + ".jpeg", "长" * 195 + ".jpeg"),
])
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean
