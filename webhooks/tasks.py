from celery import shared_task


@shared_task(ignore_result=True, acks_late=True)
def delivery_attempt_task(*, delivery_id: int) -> str:
    """Attempt one webhook delivery now if it is due and nobody else is sending it; retries come from the relay."""
    from django.utils import timezone

    from webhooks.services import delivery_attempt

    return delivery_attempt(delivery_id=delivery_id, now=timezone.now()) or ""


@shared_task(ignore_result=True)
def delivery_send_due_task() -> int:
    """Send the deliveries that are due: retries after their backoff, and first attempts whose task was lost."""
    from django.conf import settings
    from django.utils import timezone

    from webhooks.services import delivery_send_due

    return delivery_send_due(now=timezone.now(), budget_seconds=settings.WEBHOOK_RELAY_SECONDS)
