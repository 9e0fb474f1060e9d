from django.core.management.base import BaseCommand

from dashboard.services import rollup_rebuild_all


class Command(BaseCommand):
    help = "Derive the dashboard rollups again from the ticket facts and duty periods (after hand edits or a restore)."

    def handle(self, *args, **options):
        rows, staffing = rollup_rebuild_all()
        self.stdout.write(f"{rows} rollup rows and {staffing} staffing rows written")
