"""Evidence files of a case (现场照片, 执法文书, 行车记录仪视频): added, never changed or removed.

Evidence is immutable once added, like the case's events: a wrong file is answered by adding the
right one with a note, not by deleting — the case file must show everything a unit relied on
when it reported. There is deliberately no ``remove_evidence``.

Who may add (``add_evidence``):
- the district unit handling the assignment (handle_cases), while its part is accepted or
  returned — after signing for it and before its report;
- the city (verify_cases or supervise_cases), on any case not yet archived.

Accepted kinds, told by the content (magic bytes), never by the name or the browser's type:
- JPEG and PNG photos — also decoded in full with Pillow, so a file that only starts like an
  image is refused;
- PDF documents (scanned 处罚决定书, 询问笔录) — header and end-of-file marker;
- MP4 video (ISO base media brands) — the dashcam clip is often the best evidence of overspeed or
  illegal operation; a minute of 720p fits the size limit. It is stored and served as a
  download only: nothing on the server decodes it.
The name's extension must name the same kind (``photo.jpg`` holding a PDF is refused), the size
is capped by ``settings.CASE_EVIDENCE_MAX_BYTES``, and the name is kept, sanitised, for display
only: the stored file gets a random name (``cases/<case>/<uuid>.<ext>``) in the private default
storage (``PRIVATE_MEDIA_ROOT``).

Atomicity: the file is written before its row. ``evidence_transaction`` deletes the files it
saw written when the transaction does not commit, so a refusal or a failure leaves neither a row
nor a file. Callers that combine evidence with another step (a report and its photos) wrap both
in one ``evidence_transaction``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageFile

from accounts import audit
from accounts.models import User
from accounts.roles import Capability
from compliance.models import AssignmentState, Case, CaseAssignment, CaseEvidence, CaseState
from compliance.services.cases.core import (
    DISTRICT_STAGES,
    active_assignments,
    clean_text,
    lock_case,
    not_found,
    record,
)
from compliance.services.cases.errors import CaseError


@dataclass(frozen=True)
class Kind:
    content_type: str
    extensions: tuple[str, ...]
    pillow_format: str = ""  # images: the format Pillow must recognise


JPEG = Kind("image/jpeg", ("jpg", "jpeg"), "JPEG")
PNG = Kind("image/png", ("png",), "PNG")
PDF = Kind("application/pdf", ("pdf",))
MP4 = Kind("video/mp4", ("mp4",))
KINDS = (JPEG, PNG, PDF, MP4)
IMAGE_TYPES = frozenset(k.content_type for k in KINDS if k.pillow_format)
# ISO base media brands of MP4 files (dashcams write isom/mp41/mp42/avc1); QuickTime ("qt  ")
# and 3GP are other containers and not accepted.
MP4_BRANDS = frozenset({b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1",
                        b"M4V ", b"mmp4", b"dash"})
# A photo of 60 megapixels is already large; more is a decompression bomb, not evidence.
MAX_PIXELS = 60_000_000
NAME_MAX = CaseEvidence._meta.get_field("original_name").max_length
UNSAFE_IN_NAME = re.compile(r'[<>:"/\\|?*]')
HEAD_BYTES = 16
TAIL_BYTES = 1024  # PDF: "%%EOF" must be near the end

# Names of the files written inside the current evidence_transaction (outermost first).
_written: ContextVar[list[str] | None] = ContextVar("evidence_written", default=None)


def sniff(head: bytes) -> Kind | None:
    """The kind of a file from its first bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"%PDF-"):
        return PDF
    if head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return MP4
    return None


def clean_name(raw: str) -> str:
    """The person's file name, safe to show and to put in a Content-Disposition header: the last
    path part only, no control or format characters (no right-to-left tricks), no characters
    file systems refuse, single spaces, no leading dots, at most NAME_MAX characters with the
    extension kept."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = " ".join(UNSAFE_IN_NAME.sub("_", name).split()).strip(" .")
    if len(name) > NAME_MAX:
        _stem, dot, extension = name.rpartition(".")
        keep = f"{dot}{extension}" if dot and len(extension) <= 10 else ""
        name = name[:NAME_MAX - len(keep)].rstrip(" .") + keep
    return name


@dataclass(frozen=True)
class CheckedFile:
    name: str
    kind: Kind
    size: int
    sha256: str


def check_upload(upload: UploadedFile) -> CheckedFile:
    """Size, kind by content, extension against kind, images decoded; ``CaseError`` otherwise.
    Reads the file once in chunks (size and hash), plus a full decode for images."""
    name = clean_name(upload.name or "")
    shown = name or _("未命名文件")
    limit = settings.CASE_EVIDENCE_MAX_BYTES
    too_large = CaseError(CaseError.EVIDENCE_TOO_LARGE, _(
        "“%(name)s”超过 %(mb)s MB，不能上传") % {"name": shown, "mb": f"{limit / 2**20:g}"})
    if (upload.size or 0) > limit:
        raise too_large
    digest, size, head, tail = hashlib.sha256(), 0, b"", b""
    upload.seek(0)
    for chunk in upload.chunks():
        size += len(chunk)
        if size > limit:
            raise too_large
        digest.update(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[:HEAD_BYTES - len(head)]
        tail = (tail + chunk)[-TAIL_BYTES:]
    if size == 0:
        raise CaseError(CaseError.EVIDENCE_EMPTY, _("“%(name)s”是空文件") % {"name": shown})
    kind = sniff(head)
    if kind is None:
        raise CaseError(CaseError.EVIDENCE_TYPE, _(
            "“%(name)s”不是可接受的证据文件：只接受 JPEG、PNG 图片，PDF 文档和 MP4 视频")
            % {"name": shown})
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if extension not in kind.extensions:
        raise CaseError(CaseError.EVIDENCE_EXTENSION, _(
            "“%(name)s”的内容是 %(kind)s 文件，与文件扩展名不符") % {
            "name": shown, "kind": kind.extensions[0].upper()})
    damaged = CaseError(CaseError.EVIDENCE_DAMAGED, _("“%(name)s”已损坏或不完整，无法打开")
                        % {"name": shown})
    if kind is PDF and b"%%EOF" not in tail:
        raise damaged
    if kind.pillow_format:
        _check_image(upload, kind, damaged)
    upload.seek(0)
    return CheckedFile(name=name, kind=kind, size=size, sha256=digest.hexdigest())


def _check_image(upload: UploadedFile, kind: Kind, damaged: CaseError) -> None:
    upload.seek(0)
    # WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on when it is imported (it prints web
    # pages whatever their images); evidence must be whole, so ask for strict decoding here.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                width, height = image.size
                if image.format != kind.pillow_format or width * height > MAX_PIXELS:
                    raise damaged
                image.load()  # decodes every pixel: a truncated or corrupt file fails here
    except CaseError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise damaged from None


@contextmanager
def evidence_transaction() -> Iterator[None]:
    """One transaction in which evidence files may be written: when it does not commit, the
    files written inside it are deleted again. Nested use is fine (the inner block's files go
    when the inner block fails, all of them when the outer one does)."""
    written = _written.get()
    token = None
    if written is None:
        written = []
        token = _written.set(written)
    start = len(written)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        for name in written[start:]:
            default_storage.delete(name)
        del written[start:]
        raise
    finally:
        if token is not None:
            _written.reset(token)


def _unit_for(case: Case, assignment: CaseAssignment | None,
              actor: User) -> CaseAssignment | None:
    """The assignment the file belongs to (None: the city's own evidence), if the actor may add
    to it now."""
    fresh = None
    if assignment is not None:
        fresh = (CaseAssignment.objects.select_related("district").filter(
            pk=assignment.pk, case=case).exclude(state=AssignmentState.WITHDRAWN).first())
        if fresh is None:
            raise not_found()
    if actor.can(Capability.VERIFY_CASES) or actor.can(Capability.SUPERVISE_CASES):
        if case.state == CaseState.ARCHIVED:
            raise CaseError(CaseError.INVALID_TRANSITION, _("案件已归档，不能再添加证据"))
        return fresh
    own = set(actor.scope.district_ids)
    if fresh is None:
        mine = [a for a in active_assignments(case) if a.district_id in own]
        fresh = mine[0] if len(mine) == 1 else None
    if not actor.can(Capability.HANDLE_CASES) or fresh is None or fresh.district_id not in own:
        raise CaseError(CaseError.FORBIDDEN, _("只有承办此案件的区县可以上传证据"))
    if (fresh.state not in (AssignmentState.ACCEPTED, AssignmentState.RETURNED)
            or case.state not in DISTRICT_STAGES):
        raise CaseError(CaseError.INVALID_TRANSITION, _(
            "%(district)s的承办状态为“%(state)s”，不能上传证据（签收后、反馈前可以上传）") % {
            "district": fresh.district.name, "state": fresh.get_state_display()})
    return fresh


def add_evidence(*, case: Case, assignment: CaseAssignment | None = None, upload: UploadedFile,
                 actor: User, note: str = "") -> CaseEvidence:
    """Store one file as evidence of the case (of the unit's assignment when a district adds
    it), with its ``evidence_added`` event and audit row. ``CaseError`` codes: not_found,
    forbidden, invalid_transition, evidence_empty, evidence_too_large, evidence_type,
    evidence_extension, evidence_damaged, invalid_input (note too long)."""
    with evidence_transaction():
        locked = lock_case(case.pk, actor)
        unit = _unit_for(locked, assignment, actor)
        note = clean_text(note)
        checked = check_upload(upload)
        evidence = CaseEvidence(case=locked, assignment=unit, original_name=checked.name,
                                content_type=checked.kind.content_type, size=checked.size,
                                sha256=checked.sha256, uploaded_by=actor)
        evidence.file.save(f"{uuid.uuid4().hex}.{checked.kind.extensions[0]}", upload,
                           save=False)
        written = _written.get()
        if written is not None:
            written.append(evidence.file.name)
        evidence.save()
        record(case=locked, actor=actor, action="evidence_added", from_state=locked.state,
               to_state=locked.state, note=note,
               district_id=unit.district_id if unit is not None else None,
               detail={"evidence": evidence.pk, "name": checked.name,
                       "content_type": checked.kind.content_type, "size": checked.size,
                       "sha256": checked.sha256,
                       "assignment": unit.pk if unit is not None else None})
    return evidence


def record_evidence_read(*, evidence: CaseEvidence, actor: User, inline: bool,
                         channel: str) -> None:
    """An audit row for each opening of an evidence file itself (``channel``: portal or api).
    Thumbnails on the case page are not counted: every view of the page shows them."""
    with transaction.atomic():
        audit.record(actor=actor, action="evidence_download", object_type="case",
                     object_id=evidence.case_id,
                     detail={"evidence": evidence.pk, "name": evidence.original_name,
                             "sha256": evidence.sha256, "inline": inline, "channel": channel})
