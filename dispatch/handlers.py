"""What a ticket's SLA clocks do when they warn or breach; registered with the sla engine in DispatchConfig.ready()."""

from django.utils import timezone

from dispatch.models import Ticket, TicketEvent
from dispatch.services import offer_expire
from sla.models import DeadlineKind
from sla.registry import register


def _record(*, deadline, outbox) -> None:
    # Runs inside the delivery transaction with the outbox row locked: checking first is race-free, and a
    # redelivered message finds the event already written.
    ticket = Ticket.objects.filter(pk=deadline.subject_id).first()
    if (
        ticket is None
        or TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.SLA, data__outbox=outbox.pk).exists()
    ):
        return
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.SLA,
        at=outbox.created_at,
        data={
            "outbox": outbox.pk,
            "clock": deadline.kind,
            "event": outbox.event,
            "due_at": deadline.due_at.isoformat() if deadline.due_at else None,
        },
    )


def register_ticket_clocks() -> None:
    """Record every warning, breach and revoked breach of a ticket's clocks on its timeline."""
    for kind in (DeadlineKind.RESPONSE, DeadlineKind.ARRIVAL, DeadlineKind.RESOLUTION):
        register(kind, on_warning=_record, on_breach=_record, on_breach_revoked=_record)


def _offer_expired(*, deadline, outbox) -> None:
    # The accept window closed unanswered: the offer expires and the job goes to the next technician. offer_expire
    # checks the offer is still pending under the ticket's lock, so a redelivery or an accept just before does nothing.

    offer_expire(offer_id=deadline.subject_id, now=max(timezone.now(), deadline.due_at))


def register_offer_clocks() -> None:
    """Expire offers when their accept window (an offer_accept deadline) breaches."""
    register(DeadlineKind.OFFER_ACCEPT, on_breach=_offer_expired)
