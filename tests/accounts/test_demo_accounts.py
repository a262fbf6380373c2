from accounts.demo_accounts import DEMO_ACCOUNTS, DEMO_PASSWORD, ensure_demo_accounts
from accounts.models import User
from fleet.models import District
from tests import factories


def test_one_login_per_role_and_idempotent(world):
    factories.make_district("211104", "大洼区", 122.2, 40.9)
    factories.make_district("211122", "盘山县", 121.9, 41.2)
    factories.make_enterprise(world.district_a, kind="hazmat_carrier")
    first = ensure_demo_accounts()
    assert {a.role for a, _ in first} == {a.role for a in DEMO_ACCOUNTS}
    second = ensure_demo_accounts()
    assert [u.pk for _, u in first] == [u.pk for _, u in second]
    operator = User.objects.get(username="shuangtaizi")
    assert operator.check_password(DEMO_PASSWORD)
    assert list(operator.districts.all()) == [District.objects.get(code="211102")]
    assert operator.scope.district_ids == (world.district_a.pk,)
    safety = User.objects.get(username="safety")
    assert safety.enterprise.kind == "hazmat_carrier"


def test_enterprise_user_is_reattached_after_the_city_is_rebuilt(world):
    carrier = factories.make_enterprise(world.district_a, kind="hazmat_carrier")
    ensure_demo_accounts()
    carrier.delete()
    safety = User.objects.get(username="safety")
    assert safety.enterprise is None and safety.scope.enterprise_id is None  # fails closed
    replacement = factories.make_enterprise(world.district_b, kind="hazmat_carrier")
    ensure_demo_accounts()
    safety.refresh_from_db()
    assert safety.enterprise == replacement
