"""Publishing (freezing) bulletins: the service, the scheduler job, the command, and the pages'
published path."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import AuditEvent
from tests import factories
from tests.compliance.case_support import fast_passwords, local  # noqa: F401
from tests.compliance.test_bulletin_support import MOMENT, WEEK, city_fixture  # noqa: F401

PAGE = f"/compliance/bulletins/weekly/{WEEK.isoformat()}/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tmp_path}}}
    return tmp_path


def test_publish_freezes_data_and_files(city):
    from compliance.bulletins.services import publish_bulletin

    bulletin = publish_bulletin(kind="weekly", period_start=WEEK, actor=city.cast.bureau)
    assert (bulletin.period_end, bulletin.revision) == (dt.date(2026, 11, 15), 0)
    assert bulletin.generated_by == city.cast.bureau and bulletin.generated_at == MOMENT
    assert bulletin.data["headline"]["violations"] == {"current": 4, "previous": 3}
    assert bulletin.pdf.open("rb").read().startswith(b"%PDF")
    book = load_workbook(io.BytesIO(bulletin.xlsx.open("rb").read()))
    assert book["主要指标"]["B2"].value == 4
    assert AuditEvent.objects.filter(action="bulletin_publish", object_id=str(bulletin.pk),
                                     actor=city.cast.bureau).exists()


def test_published_stays_as_circulated(city, client_for):
    from compliance.bulletins.services import BulletinError, publish_bulletin

    bulletin = publish_bulletin(kind="weekly", period_start=WEEK, actor=None)
    assert bulletin.generated_by is None
    factories.make_violation(city.cast.world.vehicle_a, started_at=local(2026, 11, 10, 8))
    with pytest.raises(BulletinError) as error:
        publish_bulletin(kind="weekly", period_start=WEEK, actor=city.cast.bureau)
    assert error.value.code == BulletinError.EXISTS
    response = client_for(city.cast.op_b).get(PAGE)
    assert response.context["published"]
    assert response.context["data"].headline.violations.current == 4  # not 5
    stored = client_for(city.cast.op_b).get(PAGE + "xlsx/")
    assert load_workbook(io.BytesIO(b"".join(stored.streaming_content)))[
        "主要指标"]["B2"].value == 4


def test_replace_regenerates_and_drops_the_old_files(city, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    from compliance.bulletins.services import publish_bulletin

    first = publish_bulletin(kind="weekly", period_start=WEEK, actor=city.cast.bureau)
    old = [Path(first.pdf.path), Path(first.xlsx.path)]
    factories.make_violation(city.cast.world.vehicle_a, started_at=local(2026, 11, 10, 8))
    monkeypatch.setattr(timezone, "now", lambda: MOMENT + dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        again = publish_bulletin(kind="weekly", period_start=WEEK, actor=city.cast.bureau,
                                 replace=True)
    assert again.pk == first.pk and again.revision == 1
    assert again.generated_at == MOMENT + dt.timedelta(hours=1)
    assert again.data["headline"]["violations"]["current"] == 5
    assert not any(path.exists() for path in old)
    assert Path(again.pdf.path).exists() and Path(again.xlsx.path).exists()


def test_refusals_write_nothing(city):
    from compliance.bulletins.services import BulletinError, publish_bulletin
    from compliance.models.bulletins import Bulletin

    cases = [
        ({"kind": "weekly", "period_start": WEEK, "actor": city.cast.op_a},
         BulletinError.FORBIDDEN),
        ({"kind": "weekly", "period_start": WEEK, "actor": city.cast.analyst},
         BulletinError.FORBIDDEN),
        ({"kind": "weekly", "period_start": dt.date(2026, 11, 10)}, BulletinError.INVALID_PERIOD),
        ({"kind": "weekly", "period_start": dt.date(2026, 11, 30)}, BulletinError.INVALID_PERIOD),
        ({"kind": "monthly", "period_start": dt.date(2026, 11, 1)}, BulletinError.INVALID_PERIOD),
    ]
    for arguments, code in cases:
        with pytest.raises(BulletinError) as error:
            publish_bulletin(**arguments)
        assert error.value.code == code and error.value.message
    assert not Bulletin.objects.exists()
    assert not AuditEvent.objects.filter(action="bulletin_publish").exists()


def test_scheduler_jobs_publish_the_last_period_once(city):
    from compliance.bulletins import jobs
    from compliance.models.bulletins import Bulletin

    first = jobs.publish_last("weekly")  # the clock is Monday 2026-11-30 02:00
    assert first is not None and first.period_start == dt.date(2026, 11, 23)
    assert jobs.publish_last("weekly") is None
    month = jobs.publish_last("monthly")
    assert month.period_start == dt.date(2026, 10, 1)
    assert Bulletin.objects.count() == 2


def test_command_publishes(city):
    out = io.StringIO()
    call_command("publish_bulletin", "--weekly", WEEK.isoformat(), stdout=out)
    assert "published weekly-20261109" in out.getvalue()


def test_generate_now_page(city, client_for):
    client = client_for(city.cast.bureau)
    response = client.post("/compliance/bulletins/publish/",
                           {"kind": "weekly", "start": WEEK.isoformat()}, follow=True)
    assert response.context["published"]
    response = client.post("/compliance/bulletins/publish/",
                           {"kind": "weekly", "start": WEEK.isoformat()}, follow=True)
    assert "已发布" in response.content.decode()  # EXISTS is explained, nothing replaced


def test_readers_are_told_of_a_bulletin_and_of_its_regeneration(city):
    """Bell rows for the city's and both districts' case staff (not the publisher, not an
    enterprise officer, who may not read it), linking to the bulletin; a regeneration says so."""
    from compliance.bulletins.services import publish_bulletin
    from compliance.models import Notification

    cast = city.cast
    publish_bulletin(kind="weekly", period_start=WEEK, actor=cast.bureau)
    told = {n.user for n in Notification.objects.filter(kind="bulletin_published")}
    assert {cast.op_a, cast.op_b, cast.leader_a, cast.leader_b} <= told
    assert cast.bureau not in told and cast.enterprise_a not in told
    first = Notification.objects.get(kind="bulletin_published", user=cast.op_b)
    assert first.url == PAGE and first.title.startswith("2026年第46周") and "已发布" in first.title
    publish_bulletin(kind="weekly", period_start=WEEK, actor=None, replace=True)
    again = Notification.objects.filter(kind="bulletin_published", user=cast.op_b).latest("pk")
    assert again.pk != first.pk and "第1次修订" in again.title
    assert Notification.objects.filter(kind="bulletin_published", user=cast.bureau).count() == 1
