import time
from pathlib import Path

from django.core.management.base import BaseCommand

from regions.services import CATALOGUE_DIR, catalogue_load


class Command(BaseCommand):
    help = "Load the national division catalogue (fixtures/regions/divisions.csv and aliases.csv); idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--directory", type=Path, default=CATALOGUE_DIR)
        parser.add_argument("--force", action="store_true", help="reload even if this catalogue is already loaded")

    def handle(self, *args, directory: Path, force: bool, **options):
        started = time.perf_counter()
        result = catalogue_load(directory=directory, force=force)
        elapsed = time.perf_counter() - started
        if result.skipped:
            self.stdout.write(f"Catalogue already loaded ({result.divisions} divisions, {result.aliases} aliases).")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Loaded {result.divisions} divisions and {result.aliases} aliases in {elapsed:.1f} s."
                )
            )
