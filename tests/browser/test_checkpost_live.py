"""查岗 live, in real browsers against the portal under daphne: the bureau sends a check-post to
district A; district A's open desk page shows the bell count change, an urgent toast and the
waiting check-post without a reload; they answer; the bureau's list shows "answered on time".
Screenshots of the pages go to /tmp/shots/desk/."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from compliance.models import Instruction
from compliance.services.instructions import acknowledge_instruction, issue_instruction
from tests.browser.test_live_map import asgi_server  # noqa: F401 - the daphne fixture
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots/desk"))


def in_thread(function: Callable[[], Any]) -> Any:
    """Services on a thread of their own: Playwright's event loop owns this one, and the
    notifications are pushed with async_to_sync after the commit."""

    def run() -> Any:
        from django.db import connection

        try:
            return function()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=30)


def sign_in(page, server: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_bureau_pings_district_a_which_answers_live(browser, page, asgi_server,  # noqa: F811
                                                   world, bureau_user, district_a_user,
                                                   district_b_user):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    desk = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    district = desk.new_page()
    district.set_default_timeout(15_000)
    district.on("pageerror", lambda error: errors.append(str(error)))

    # District A's desk is open, its bell connected, nothing waiting.
    sign_in(district, asgi_server, district_a_user.username)
    district.goto(f"{asgi_server}/compliance/checkposts/desk/")
    district.wait_for_selector("[data-notify-bell].live")
    assert district.get_by_test_id("no-waiting").is_visible()
    assert not district.get_by_test_id("bell-count").is_visible()

    # The bureau sends a check-post to district A.
    sign_in(page, asgi_server, bureau_user.username)
    page.goto(f"{asgi_server}/compliance/checkposts/")
    page.get_by_test_id("target").select_option(f"district:{world.district_a.pk}")
    page.get_by_test_id("question").fill("夜班查岗：请值班人员报姓名")
    page.get_by_test_id("minutes").fill("10")
    page.get_by_test_id("send").click()
    page.wait_for_selector(".messages li.success")
    assert page.locator("[data-testid=checkpost-status]").first.inner_text() == "待应答"

    # Without a reload: the bell counts it, an urgent toast says it, the waiting panel shows it.
    district.wait_for_selector("[data-testid=bell-count]:not([hidden])")
    assert district.get_by_test_id("bell-count").inner_text() == "1"
    toast = district.locator(".toast.urgent")
    toast.wait_for()
    assert "夜班查岗：请值班人员报姓名" in toast.inner_text()
    waiting = district.get_by_test_id("waiting")
    waiting.wait_for()
    assert "夜班查岗：请值班人员报姓名" in waiting.inner_text()
    district.wait_for_function(
        "document.querySelector('[data-countdown]').textContent.startsWith('剩余 09:')"
        " || document.querySelector('[data-countdown]').textContent.startsWith('剩余 10:')")
    assert district.title().startswith("(1) ")
    shot(district, "district_desk_waiting")

    # One click answers (the text is prefilled; they add a name).
    district.get_by_test_id("answer").fill("在岗，值班人员：王五")
    district.get_by_test_id("answer-button").click()
    district.wait_for_selector(".messages li.success")
    assert district.get_by_test_id("no-waiting").is_visible()
    assert "在岗，值班人员：王五" in district.get_by_test_id("history").inner_text()
    assert not district.get_by_test_id("bell-count").is_visible()  # answered: notice read

    # The bureau's list says it was answered on time, and the sender was told.
    page.reload()
    assert page.locator("[data-testid=checkpost-status]").first.inner_text() == "按时应答"
    assert "100%" in page.get_by_test_id("rates").inner_text()
    assert page.get_by_test_id("bell-count").inner_text() == "1"
    shot(page, "bureau_checkposts")

    # The other pages, for the record.
    def instructions() -> Instruction:
        instruction = issue_instruction(
            title="关于做好节前安全生产检查的通知",
            body="请各区县于本周五前完成辖区客运、危货企业安全检查，并将检查情况报市局。",
            districts=[world.district_a, world.district_b],
            acknowledge_by=timezone.now() + dt.timedelta(hours=20), actor=bureau_user)
        acknowledge_instruction(target=instruction.targets.get(district=world.district_b),
                                actor=district_b_user, reply="已传达至辖区各企业")
        return instruction

    instruction = in_thread(instructions)
    page.goto(f"{asgi_server}/compliance/instructions/")
    assert "已签收 1/2" in page.get_by_test_id("instructions").inner_text()
    shot(page, "bureau_instructions")
    district.goto(f"{asgi_server}/compliance/instructions/inbox/")
    shot(district, "district_instruction_inbox")
    district.goto(f"{asgi_server}/compliance/instructions/{instruction.pk}/")
    shot(district, "district_instruction_detail")
    page.goto(f"{asgi_server}/compliance/instructions/new/")
    shot(page, "bureau_instruction_form")
    district.goto(f"{asgi_server}/compliance/notifications/")
    assert "夜班查岗" in district.get_by_test_id("notifications").inner_text()
    shot(district, "district_notifications")
    assert errors == []
    desk.close()
