from django.core.management.base import BaseCommand

from accounts.demo_accounts import DEMO_PASSWORD, ensure_demo_accounts


class Command(BaseCommand):
    help = "Create one demo login per role (idempotent) and print them."

    def handle(self, *args: object, **options: object) -> None:
        accounts = ensure_demo_accounts()
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD})")
        for account, user in accounts:
            scope = account.district_code or (user.enterprise.name if user.enterprise else "全市")
            self.stdout.write(f"  {account.username:<12} {user.get_role_display()} · {scope}")
