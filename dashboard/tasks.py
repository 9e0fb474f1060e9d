from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(ignore_result=True)
def ticket_fact_sync_task() -> int:
    """Bring the dashboard rollup up to date (beat sends this every minute)."""
    from dashboard.services import ticket_fact_sync

    return ticket_fact_sync(now=timezone.now())


@shared_task(ignore_result=True)
def daily_report_send_task() -> bool:
    """Send yesterday's summary (Asia/Shanghai day) once; beat sends this early each morning, a rerun does nothing."""
    from dashboard.services import daily_report_send

    now = timezone.now()
    return daily_report_send(day=timezone.localdate(now) - timedelta(days=1), now=now) is not None
