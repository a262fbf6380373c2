"""One demo login per role, so a new user can try every view of the portal."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from accounts.roles import Level, Role
from fleet.models import District, Enterprise

DEMO_PASSWORD = "Demo-2026!"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    level: str
    role: str
    district_code: str | None = None
    enterprise_kind: str | None = None


DEMO_ACCOUNTS = (
    DemoAccount("admin", "系统管理员", Level.BUREAU, Role.BUREAU_ADMIN),
    DemoAccount("supervisor", "局监管员", Level.BUREAU, Role.BUREAU_SUPERVISOR),
    DemoAccount("analyst", "局数据分析员", Level.BUREAU, Role.BUREAU_ANALYST),
    DemoAccount("desk", "12328话务员", Level.BUREAU, Role.DESK_OPERATOR),
    DemoAccount("shuangtaizi", "双台子区操作员", Level.DISTRICT, Role.DISTRICT_OPERATOR, "211102"),
    DemoAccount("xinglongtai", "兴隆台区操作员", Level.DISTRICT, Role.DISTRICT_OPERATOR, "211103"),
    DemoAccount("dawa_leader", "大洼区负责人", Level.DISTRICT, Role.DISTRICT_LEADER, "211104"),
    DemoAccount("panshan", "盘山县操作员", Level.DISTRICT, Role.DISTRICT_OPERATOR, "211122"),
    DemoAccount("field", "执法人员", Level.DISTRICT, Role.FIELD_OFFICER, "211103"),
    DemoAccount("safety", "企业安全员", Level.ENTERPRISE, Role.ENTERPRISE_OFFICER,
                enterprise_kind="hazmat_carrier"),
)


@transaction.atomic
def ensure_demo_accounts(password: str = DEMO_PASSWORD) -> list[tuple[DemoAccount, User]]:
    """Create the demo logins that are missing; existing ones keep their password."""
    created = []
    for account in DEMO_ACCOUNTS:
        enterprise = None
        if account.enterprise_kind:
            enterprise = (Enterprise.objects.filter(kind=account.enterprise_kind)
                          .order_by("credit_code").first())
            if enterprise is None:
                continue
        user, was_created = User.objects.get_or_create(
            username=account.username,
            defaults={"display_name": account.display_name, "level": account.level,
                      "role": account.role, "enterprise": enterprise,
                      "is_staff": account.role == Role.BUREAU_ADMIN,
                      "is_superuser": account.role == Role.BUREAU_ADMIN},
        )
        if not was_created and enterprise is not None and user.enterprise_id is None:
            # The demo city was rebuilt (--replace): re-attach the officer to a carrier.
            user.enterprise = enterprise
            user.save(update_fields=["enterprise"])
        if was_created:
            user.set_password(password)
            user.save(update_fields=["password"])
            if account.district_code:
                user.districts.set(District.objects.filter(code=account.district_code))
        created.append((account, user))
    return created
