from django.core.management.base import BaseCommand, CommandError

from regions.services import Outcome, service_area_load


class Command(BaseCommand):
    help = "Resolve a service-area list and store its divisions as service areas; prints a report."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default="fixtures/service_areas.txt")

    def handle(self, *args, file: str, **options):
        try:
            with open(file, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from error
        report = service_area_load(text=text)
        write = self.stdout.write
        write(f"{report.entries} entries, {report.distinct} distinct.")
        write("| outcome | entries |\n| --- | ---: |")
        for outcome in Outcome.ALL:
            write(f"| {outcome} | {report.outcomes.get(outcome, 0)} |")
        write(f"\nService areas stored: {report.created} new, {report.unchanged} already present.")
        not_exact = [r for r in report.resolutions if r.outcome != Outcome.EXACT]
        if not_exact:
            write("\nEntries that were not an exact match:\n")
            write("| entry | outcome | code | path | reason |\n| --- | --- | --- | --- | --- |")
            for r in not_exact:
                write(f"| {r.input} | {r.outcome} | {r.code or '—'} | {r.path or '—'} | {r.reason} |")
        if report.refused:
            write("\nResolved but not stored:\n")
            write("| entry | code | path | reason |\n| --- | --- | --- | --- |")
            for r, reason in report.refused:
                write(f"| {r.input} | {r.code} | {r.path} | {reason} |")
