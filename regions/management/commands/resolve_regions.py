import json
import sys

from django.core.management.base import BaseCommand, CommandError

from regions.services import resolve, split_entries


class Command(BaseCommand):
    help = "Resolve place names (one per line, or separated by '、') to official divisions."

    def add_arguments(self, parser):
        parser.add_argument("file", help="a text file, or - for standard input")
        parser.add_argument("--format", choices=["table", "jsonl"], default="table")

    def handle(self, *args, file: str, format: str, **options):
        try:
            text = sys.stdin.read() if file == "-" else open(file, encoding="utf-8").read()  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from error
        for entry in split_entries(text):
            resolution = resolve(entry)
            if format == "jsonl":
                self.stdout.write(json.dumps(resolution.as_dict(), ensure_ascii=False))
            else:
                self.stdout.write(
                    "\t".join([entry, resolution.outcome, resolution.code or "-", resolution.path, resolution.reason])
                )
