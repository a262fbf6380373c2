"""The whole case loop in a real browser: a confirmed violation becomes a case, district A
accepts, uploads a photo and reports with a document attached, the bureau returns it, the
district reports again, the bureau verifies and archives — and the case page's timeline shows
every step."""

from __future__ import annotations

import pytest

from compliance.models import CaseState
from compliance.services import cases as services
from tests import factories
from tests.browser.conftest import login
from tests.compliance import test_case_evidence as evidence_tests
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
private_media = evidence_tests.private_media  # the fixture: evidence in this test's folder


def _as(page, live_server, username: str, url: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    login(page, live_server, username, PASSWORD)
    page.goto(url)


def _state(page) -> str:  # type: ignore[no-untyped-def]
    return page.get_by_test_id("case-state").inner_text()


def test_violation_to_archive(page, live_server, world, bureau_user, district_a_user,
                              private_media, tmp_path):
    violation = factories.make_violation(world.vehicle_a, district=world.district_a,
                                         review_status="confirmed")
    case = services.open_case_for_violation(violation=violation, actor=bureau_user)
    assert case.state == CaseState.DISPATCHED  # violations are dispatched by territory at once
    url = f"{live_server.url}/compliance/cases/{case.pk}/"

    # District A finds it in its inbox, accepts and reports.
    _as(page, live_server, "district_a", f"{live_server.url}/compliance/inbox/")
    page.click(f"tr[data-case='{case.pk}'] a.mono")
    page.wait_for_url(url)
    page.get_by_test_id("accept").click()
    assert _state(page) == "办理中"
    # A photo first (its thumbnail comes through the scoped file view), then the report with
    # the interview record attached in the same submit.
    photo, record = tmp_path / "现场照片.jpg", tmp_path / "询问笔录.pdf"
    photo.write_bytes(evidence_tests.image_bytes("JPEG", size=(640, 480)))
    record.write_bytes(evidence_tests.PDF)
    page.get_by_test_id("evidence-files").set_input_files(str(photo))
    page.get_by_test_id("evidence-upload").click()
    thumbnail = page.locator("[data-testid=evidence] img")
    thumbnail.wait_for()
    thumbnail.scroll_into_view_if_needed()  # loading="lazy": fetched only near the viewport
    # Loaded and decoded (the thumbnail is made on request: on a busy machine it can arrive
    # after the element is attached; a broken image never gets a natural width).
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                           arg=thumbnail.element_handle(), timeout=15_000)
    page.get_by_test_id("outcome").select_option("education")
    page.get_by_test_id("result-note").fill("已约谈驾驶员")
    page.get_by_test_id("report-files").set_input_files(str(record))
    page.get_by_test_id("report").click()
    assert _state(page) == "待核查"
    assert "询问笔录.pdf" in page.get_by_test_id("evidence").inner_text()

    # The bureau returns it with a reason.
    _as(page, live_server, "bureau", url)
    page.get_by_test_id("return-reason").fill("缺少约谈记录")
    page.get_by_test_id("return").click()
    assert _state(page) == "退回"

    # The district handles it again.
    _as(page, live_server, "district_a", url)
    page.get_by_test_id("outcome").select_option("education")
    page.get_by_test_id("result-note").fill("补充约谈记录")
    page.get_by_test_id("report").click()
    assert _state(page) == "待核查"

    # The bureau verifies and archives.
    _as(page, live_server, "bureau", url)
    page.get_by_test_id("verify").click()
    assert _state(page) == "已核查"
    page.get_by_test_id("archive").click()
    assert _state(page) == "已归档"
    assert page.get_by_test_id("actions").count() == 0  # archived: read-only

    rows = page.locator("[data-testid=timeline] tbody tr")
    actions = [rows.nth(i).get_attribute("data-action") for i in range(rows.count())]
    assert actions == ["open", "dispatch", "accept", "evidence", "evidence", "report", "return",
                       "report", "verify", "archive"]
    timeline = page.get_by_test_id("timeline").inner_text()
    for text in ("缺少约谈记录", "补充约谈记录", "已约谈驾驶员", "待核查 → 退回",
                 "已核查 → 已归档"):
        assert text in timeline
    assert page.get_by_test_id("violation-link").count() == 1
