from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from dispatch.services import skill_catalogue_ensure, technician_demo_ensure


class Command(BaseCommand):
    help = "Create the skill catalogue (idempotent) and, with --demo, the demo technician's profile."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="give demo_technician a profile (never in production)")

    def handle(self, *args, demo: bool, **options):
        created = skill_catalogue_ensure()
        self.stdout.write(f"Skills: {created} created.")
        user = get_user_model().objects.filter(username="demo_technician").first() if demo else None
        if user is not None:
            technician = technician_demo_ensure(user=user)
            self.stdout.write(f"Demo technician {technician.name} covers {technician.coverage.count()} service areas.")
