"""The English interface: chosen with the language switch, the cookie or Accept-Language.

Simplified Chinese stays the default. The English catalog is compiled here when the .mo is
missing or older than the .po (bin/setup normally compiles it), before any request is served.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.translation import trans_real

from tests.conftest import PASSWORD

CATALOG = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django"
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="session", autouse=True)
def english_catalog() -> None:
    """Compile locale/en if needed, under a lock so parallel test workers do not race."""
    po, mo = CATALOG.with_suffix(".po"), CATALOG.with_suffix(".mo")
    assert po.exists(), f"{po} is missing: run makemessages -l en"
    lock_path = Path(tempfile.gettempdir()) / "fleetwatch-compilemessages.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
                with contextlib.chdir(settings.BASE_DIR):
                    call_command("compilemessages", locale=["en"],
                                 ignore_patterns=[".venv", "var", "node_modules", ".git"],
                                 verbosity=0)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    # Catalogs are cached per process: forget any loaded before the .mo existed.
    trans_real._translations = {}
    trans_real._default = None
    trans_real.translation_catalog_exists.cache_clear()
    trans_real.get_languages.cache_clear()
    trans_real._get_supported_language_variant.cache_clear()


def english_client(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def section(html: str, start: str, end: str) -> str:
    """The text of ``html`` from the first ``start`` to the following ``end``."""
    head = html.index(start)
    return html[head:html.index(end, head)]


def test_chinese_is_the_default(district_a_user, client_for):
    login = Client().get(reverse("login")).content.decode()
    assert 'lang="zh-hans"' in login
    for chinese in ("智慧交通监管平台", "用户名", "密码", "登录"):
        assert chinese in login
    assert "Username" not in login and "Password" not in login

    home = client_for(district_a_user).get(reverse("home")).content.decode()
    nav = section(home, '<nav class="mainnav">', "</nav>")
    for chinese in ("总览", "车辆", "企业", "驾驶员", "电子运单", "地图"):
        assert chinese in nav
    assert "Overview" not in home and "Vehicles" not in home


def test_login_page_in_english_with_the_cookie(client):
    login = english_client(client).get(reverse("login")).content.decode()
    assert 'lang="en"' in login
    for english in ("Smart Transport Supervision Platform", "Username", "Password", "Log in",
                    "Municipal Transport Bureau · District sub-platforms · 12328"):
        assert english in login
    for chinese in ("智慧交通监管平台", "用户名", "密码", "登录", "市交通运输局"):
        assert chinese not in login


def test_login_page_follows_accept_language(client):
    login = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert 'lang="en"' in login
    assert "Username" in login and "用户名" not in login


def test_login_error_in_english(district_a_user, client):
    response = english_client(client).post(reverse("login"),
                                           {"username": "district_a", "password": "nope"})
    page = response.content.decode()
    assert "Incorrect username or password." in page
    assert "用户名或密码错误" not in page


def test_language_switch_translates_home_page(district_a_user, client):
    client.post(reverse("login"), {"username": "district_a", "password": PASSWORD})
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    home = client.get(reverse("home")).content.decode()
    assert 'lang="en"' in home
    nav = section(home, '<nav class="mainnav">', "</nav>")
    for english in ("Overview", "Vehicles", "Enterprises", "Drivers", "Terminals",
                    "E-waybills", "Map"):
        assert f">{english}</a>" in nav
    assert not CJK.search(nav), nav
    # The dashboard's own words are English too (district names and plates are data).
    assert "Violations today" in home
    for chinese in ("今日违规", "主要违规类型", "未办结", "区县对比", "本辖区概况"):
        assert chinese not in home
    home = client.get(reverse("home") + "?view=registry").content.decode()  # registry overview
    for english in ("Supervised vehicles", "Transport enterprises", "Licensed personnel",
                    "Certificates void (over 180 days expired)", "Fleet composition",
                    "Vehicle type", "Taxi", "District operator", "Log out"):
        assert english in home
    for chinese in ("总览", "监管车辆", "车辆构成", "巡游出租汽车", "区县操作员", "退出"):
        assert chinese not in home
    assert "双台子区" in home  # data stays as entered
    # The switch back to Chinese is offered in Chinese.
    assert ">中文</button>" in home


def test_vehicle_list_in_english(district_a_user, client_for):
    page = english_client(client_for(district_a_user)).get(
        reverse("fleet:vehicle_list")).content.decode()
    assert "<h1>Vehicles" in page
    assert "1 record<" in page
    header = section(page, "<thead>", "</thead>")
    for english in ("Plate number", "Plate colour", "Vehicle type", "Enterprise",
                    "Registered district", "Road transport certificate valid until", "Status"):
        assert f"<th>{english}</th>" in header
    assert not CJK.search(header), header
    filters = section(page, 'data-testid="filters"', "</form>")
    for english in ("Plate / VIN", "Search", "Reset"):
        assert english in filters
    for english in ("Taxi", "Blue", "In service"):  # choice labels in the row
        assert english in page
    for chinese in ("车牌号码", "车牌颜色", "车辆类型", "查询", "重置", "共 1 条", "巡游出租汽车",
                    "营运"):
        assert chinese not in page
    assert "辽L10001" in page


def test_vehicle_count_uses_english_plural(bureau_user, client_for):
    page = english_client(client_for(bureau_user)).get(
        reverse("fleet:vehicle_list")).content.decode()
    assert "2 records<" in page
