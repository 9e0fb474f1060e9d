"""Run the evidence checks on files given on the command line, so support staff can check a file by hand.

    manage.py check_evidence photo.jpg clip.mp4 [--format table|jsonl] [--max-bytes N]

jsonl prints one object per file: {"file", "accepted", "reason", "signals": [{"kind", "level", "message", "params"}]}.
`reason` is the refusal code (empty, too_large, type_not_allowed, too_many_pixels, unreadable, not_found) or null.
The files are treated as one complaint (for the "several devices" check); nothing is read from or written to the
database, so matches against other complaints and the technician's photos need the Celery task.
"""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from complaints.forensics import (
    EvidenceContext,
    EvidenceRefused,
    evidence_open,
    evidence_signals,
    file_device,
)


class Command(BaseCommand):
    help = "Check evidence files for signals (AI labels, C2PA, editing tags, capture metadata). Signals, not verdicts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--format", choices=("table", "jsonl"), default="table")
        parser.add_argument(
            "--max-bytes", type=int, default=None, help="size cap (default: settings.MEDIA_MAX_AUDIO_BYTES)"
        )

    def handle(self, *args, **options) -> None:
        max_bytes = options["max_bytes"] or settings.MEDIA_MAX_AUDIO_BYTES
        opened = {}
        results = []
        for name in options["files"]:
            path = Path(name)
            try:
                with path.open("rb") as handle:
                    opened[name] = evidence_open(data=handle, declared_name=path.name, max_bytes=max_bytes)
            except FileNotFoundError:
                results.append({"file": name, "accepted": False, "reason": "not_found", "signals": [], "error": ""})
            except EvidenceRefused as error:
                results.append(
                    {"file": name, "accepted": False, "reason": error.code, "signals": [], "error": error.message}
                )
            else:
                results.append({"file": name, "accepted": True, "reason": None, "signals": []})
        devices = {name: file_device(data=intake.data) for name, intake in opened.items() if intake.is_image}
        for result in results:
            intake = opened.get(result["file"])
            if intake is None:
                continue
            others = tuple(device for name, device in devices.items() if name != result["file"] and device)
            context = EvidenceContext(other_devices=others)
            result["signals"] = [signal.as_dict() for signal in evidence_signals(intake=intake, context=context)]
        for result in results:
            error = result.pop("error", "")
            if options["format"] == "jsonl":
                self.stdout.write(json.dumps(result, ensure_ascii=False, default=str))
            else:
                self._write_table(result, error)

    def _write_table(self, result: dict, error: str) -> None:
        if not result["accepted"]:
            self.stdout.write(f"{result['file']}: refused ({result['reason']}) {error}".rstrip())
            return
        self.stdout.write(f"{result['file']}:")
        for signal in result["signals"]:
            self.stdout.write(f"  {signal['level']:<8} {signal['kind']:<24} {signal['message']}")
