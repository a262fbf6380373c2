import pytest
from django.urls import reverse

from tests.conftest import PASSWORD


def test_login_and_logout(district_a_user, client):
    response = client.post(reverse("login"), {"username": "district_a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert "双台子区" in home.content.decode()
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_shows_error(district_a_user, client):
    response = client.post(reverse("login"), {"username": "district_a", "password": "nope"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()


def test_login_is_throttled(district_a_user, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "district_a", "password": "wrong"})
    # Locked: even the right password is refused for the cool-off period.
    response = client.post(reverse("login"), {"username": "district_a", "password": PASSWORD})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_english_is_available(district_a_user, client):
    client.post(reverse("login"), {"username": "district_a", "password": PASSWORD})
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert 'lang="en"' in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize(("role", "level", "ok"), [
    ("district_operator", "bureau", False), ("bureau_supervisor", "bureau", True),
    ("field_officer", "district", True), ("enterprise_officer", "district", False)])
def test_role_must_fit_level(db, role, level, ok):
    from django.core.exceptions import ValidationError

    from accounts.models import User

    user = User(username="u", role=role, level=level)
    user.set_password(PASSWORD)
    if ok:
        user.full_clean()
    else:
        with pytest.raises(ValidationError):
            user.full_clean()


def test_password_validators_reject_weak_passwords():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("12345678")
