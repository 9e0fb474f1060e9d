from celery import shared_task
from django.utils import timezone


@shared_task(ignore_result=True)
def ticket_fact_sync_task() -> int:
    """Bring the dashboard rollup up to date (beat sends this every minute)."""
    from dashboard.services import ticket_fact_sync

    return ticket_fact_sync(now=timezone.now())
