"""Where the daily summary goes: pluggable backends named by the DASHBOARD_REPORT_BACKEND setting."""

import logging
from datetime import date
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("dashboard.reports")
DEFAULT_BACKEND = "dashboard.reports.ConsoleReportBackend"


class ConsoleReportBackend:
    """Writes the report to the log (the default: nothing leaves the server)."""

    def send(self, *, day: date, subject: str, body: str) -> None:
        logger.info("%s\n%s", subject, body)


class FileReportBackend:
    """Saves the report as var/reports/<day>.txt (DASHBOARD_REPORT_DIR), replacing a half-written one."""

    def send(self, *, day: date, subject: str, body: str) -> None:
        folder = Path(getattr(settings, "DASHBOARD_REPORT_DIR", settings.BASE_DIR / "var" / "reports"))
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{day.isoformat()}.txt.part"
        partial.write_text(f"{subject}\n\n{body}", encoding="utf-8")
        partial.replace(folder / f"{day.isoformat()}.txt")


def report_backend_path() -> str:
    return getattr(settings, "DASHBOARD_REPORT_BACKEND", "") or DEFAULT_BACKEND


def report_backend():
    """Return an instance of the configured backend."""
    return import_string(report_backend_path())()
