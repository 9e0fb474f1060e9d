from celery import shared_task

from dispatch.notify import NotificationFailed


@shared_task(
    ignore_result=True,
    acks_late=True,
    autoretry_for=(NotificationFailed, ConnectionError, TimeoutError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=8,
)
def notification_send_task(*, notification_id: int) -> bool:
    """Send one customer notification (idempotent: a sent message is never sent again)."""
    from dispatch.services import notification_send

    return notification_send(notification_id=notification_id)


@shared_task(ignore_result=True)
def notification_relay_task() -> int:
    """Queue again the notifications that were never sent (broker flushed, retries exhausted)."""
    from django.utils import timezone

    from dispatch.services import notification_relay

    return notification_relay(now=timezone.now())


@shared_task(ignore_result=True, acks_late=True)
def ticket_dispatch_task(*, ticket_id: int) -> int:
    """Offer a new ticket to the best technician(s); does nothing if it was offered or moved on meanwhile."""
    from django.utils import timezone

    from dispatch.services import ticket_dispatch_auto

    return len(ticket_dispatch_auto(ticket_id=ticket_id, now=timezone.now()))


@shared_task(ignore_result=True)
def dispatch_sweep_task() -> int:
    """Dispatch the new tickets nobody has offered yet (their task was lost, or nobody was on duty)."""
    from django.utils import timezone

    from dispatch.services import dispatch_sweep

    return dispatch_sweep(now=timezone.now())


@shared_task(ignore_result=True)
def dispatch_batch_task() -> int:
    """Offer the waiting tickets of batched-mode regions together, by the best overall assignment."""
    from django.utils import timezone

    from dispatch.services import dispatch_batch

    return len(dispatch_batch(now=timezone.now()))
