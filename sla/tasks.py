from celery import shared_task
from django.utils import timezone


@shared_task(ignore_result=True)
def sla_tick_task() -> int:
    """Fire the clocks due now (beat sends this every second on the sla_tick queue, with a short expiry)."""
    from sla.services import deadline_fire_due

    return deadline_fire_due(now=timezone.now())


# acks_late + reject_on_worker_lost: a worker killed mid-delivery gives the message back; safe because delivery is
# idempotent (each outbox row is claimed with SKIP LOCKED and marked sent in the handlers' transaction).
@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def outbox_deliver_task(*, outbox_ids: list[int]) -> int:
    """Run the handlers for a chunk of fired SLA events."""
    from sla.services import outbox_deliver_many

    return outbox_deliver_many(outbox_ids=outbox_ids)
