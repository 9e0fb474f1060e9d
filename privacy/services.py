"""Privacy numbers (AXB) for the life of a job: bound after the technician takes the job, released when it is
completed, cancelled or taken off them. Provider calls run in a Celery task after the ticket's transaction commits,
never inside a request's transaction."""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from dispatch.models import Ticket, TicketStatus
from privacy.backends import NumberPoolExhausted, get_backend
from privacy.models import NumberBinding
from privacy.tasks import binding_sync_task

logger = logging.getLogger(__name__)
S = TicketStatus
# The job is the technician's in these statuses: they may need to call the customer.
BOUND_STATUSES = frozenset({S.ACCEPTED, S.RESPONDED, S.EN_ROUTE, S.ON_SITE, S.WAITING_CUSTOMER})
# Two binds racing for the console pool's last free numbers: try the next free one a few times.
BIND_TRIES = 3


def binding_follow_ticket(*, ticket: Ticket, old_status: str, new_status: str) -> None:
    """Queue the privacy number's sync after commit when a transition starts, continues or ends a technician's job
    (continuing: a bind that found no free number is tried again at the next step). Called by dispatch."""
    if old_status in BOUND_STATUSES or new_status in BOUND_STATUSES:
        transaction.on_commit(partial(_enqueue_sync, ticket.pk))


def _enqueue_sync(ticket_id: int) -> None:
    try:
        binding_sync_task.delay(ticket_id=ticket_id)
    except (BrokerError, RedisError, OSError) as error:
        # The job goes on with the real number shown to its technician; the next step queues the sync again.
        logger.warning("privacy number sync for ticket %s not queued (%s)", ticket_id, error)


def _wanted_technician_id(ticket_id: int, *, lock: bool = False) -> int | None:
    rows = Ticket.objects.filter(pk=ticket_id)
    if lock:
        rows = rows.select_for_update(no_key=True)
    row = rows.values("status", "technician_id").first()
    if row is None or row["status"] not in BOUND_STATUSES:
        return None
    return row["technician_id"]


def binding_release(*, binding_id: int, now) -> bool:
    """Unbind one live binding at the provider and mark it released; False if it was already released. Raises
    ProviderUnavailable (then it stays active and the task retries)."""
    with transaction.atomic():
        # Row locked across the provider call: a second sync waits here instead of unbinding twice.
        binding = NumberBinding.objects.select_for_update(no_key=True).filter(
            pk=binding_id, state=NumberBinding.State.ACTIVE
        )
        binding = binding.first()
        if binding is None:
            return False
        get_backend().unbind(provider_ref=binding.provider_ref)
        binding.state, binding.released_at = NumberBinding.State.RELEASED, now
        binding.save(update_fields=["state", "released_at"])
    return True


def _record_failure(*, ticket_id: int, technician_id: int, now) -> None:
    try:
        with transaction.atomic():
            NumberBinding.objects.update_or_create(
                ticket_id=ticket_id,
                technician_id=technician_id,
                state=NumberBinding.State.FAILED,
                defaults={"bound_at": now},
            )
    except IntegrityError:
        pass  # a concurrent sync recorded the same failure


def _store(*, ticket_id: int, technician_id: int, virtual_number: str, provider_ref: str, now, expires_at):
    """Keep the provider's binding if the job still wants it (ticket row locked, so a transition in flight finishes
    first); None when the job moved on or another sync bound it first."""
    with transaction.atomic():
        if _wanted_technician_id(ticket_id, lock=True) != technician_id:
            return None
        binding = NumberBinding.objects.create(
            ticket_id=ticket_id,
            technician_id=technician_id,
            virtual_number=virtual_number,
            provider_ref=provider_ref,
            bound_at=now,
            expires_at=expires_at,
        )
        NumberBinding.objects.filter(
            ticket_id=ticket_id, technician_id=technician_id, state=NumberBinding.State.FAILED
        ).delete()
        return binding


def binding_sync(*, ticket_id: int, now) -> NumberBinding | None:
    """Make the ticket's privacy number match its job now: release bindings of a technician who no longer has it
    (completed, cancelled, reassigned), then bind one for the current technician if none is live. Idempotent; returns
    the live binding, or None (no job, or no number free: recorded as FAILED so the pages say why). Raises
    ProviderUnavailable."""
    wanted = _wanted_technician_id(ticket_id)
    stale = NumberBinding.objects.filter(ticket_id=ticket_id, state=NumberBinding.State.ACTIVE)
    if wanted is not None:
        stale = stale.exclude(technician_id=wanted)
    for binding_id in stale.values_list("pk", flat=True):
        binding_release(binding_id=binding_id, now=now)
    if wanted is None:
        return None
    live = NumberBinding.objects.filter(ticket_id=ticket_id, technician_id=wanted, state=NumberBinding.State.ACTIVE)
    if (binding := live.first()) is not None:
        return binding
    ticket = Ticket.objects.select_related("technician", "customer").get(pk=ticket_id)
    backend = get_backend()
    expires_at = now + timedelta(hours=settings.PRIVACY_BINDING_HOURS)
    for _try in range(BIND_TRIES):
        try:
            result = backend.bind(
                technician_phone=ticket.technician.phone, customer_phone=ticket.customer.phone, expires_at=expires_at
            )
        except NumberPoolExhausted:
            logger.warning("no privacy number free for ticket %s: its technician sees the real number", ticket.number)
            _record_failure(ticket_id=ticket_id, technician_id=wanted, now=now)
            return None
        try:
            binding = _store(
                ticket_id=ticket_id,
                technician_id=wanted,
                virtual_number=result.virtual_number,
                provider_ref=result.provider_ref,
                now=now,
                expires_at=expires_at,
            )
        except IntegrityError:
            binding = None  # the job got a number from a concurrent sync, or this number went to another job
        if binding is not None:
            return binding
        # Give the provider's binding back (never leave an X joined to this customer that nobody tracks).
        backend.unbind(provider_ref=result.provider_ref)
        if _wanted_technician_id(ticket_id) != wanted:
            return None
        if (binding := live.first()) is not None:
            return binding
    return None
