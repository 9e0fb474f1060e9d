import io

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.roles import Role
from accounts.services import demo_users_ensure, role_sync


class Command(BaseCommand):
    help = "Prepare a database for use: migrate, roles, division catalogue, service areas and (optionally) demo users."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-users", action="store_true", help="create one demo login per role (never in production)"
        )

    def handle(self, *args, demo_users: bool, **options):
        call_command("migrate", interactive=False, verbosity=0)
        role_sync()
        call_command("load_divisions", stdout=self.stdout)
        service_areas = settings.BASE_DIR / "fixtures" / "service_areas.txt"
        call_command("load_service_areas", str(service_areas), stdout=io.StringIO())
        self.stdout.write("Service areas loaded from fixtures/service_areas.txt (report: docs/regions.md).")
        if demo_users:
            logins = demo_users_ensure()
        call_command("dispatch_setup", demo=demo_users, stdout=self.stdout)
        if demo_users:
            self.stdout.write(self.style.SUCCESS("\nDemo logins (http://127.0.0.1:8000/):"))
            for login in logins:
                self.stdout.write(f"  {Role.LABELS[login.role]!s:<12} {login.username:<18} {login.password}")
            self.stdout.write("")
