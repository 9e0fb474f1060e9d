from celery import shared_task

from privacy.backends import ProviderUnavailable


@shared_task(
    ignore_result=True,
    acks_late=True,
    autoretry_for=(ProviderUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=8,
)
def binding_sync_task(*, ticket_id: int) -> str:
    """Bind or release the job's privacy number to match the ticket now (idempotent: running twice binds once)."""
    from django.utils import timezone

    from privacy.services import binding_sync

    binding = binding_sync(ticket_id=ticket_id, now=timezone.now())
    return binding.virtual_number if binding is not None else ""
