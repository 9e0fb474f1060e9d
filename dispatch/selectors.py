import hmac
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import OuterRef, Q, Subquery

from dispatch import crypto
from dispatch.models import OPEN_STATUSES, Customer, InsurancePolicy, Ticket, TicketStatus
from sla.models import Deadline


def ticket_clocks(*, ticket: Ticket) -> dict[str, Deadline]:
    """Return the ticket's latest clock of each kind, by kind."""
    rows = Deadline.objects.filter(
        subject_type=ContentType.objects.get_for_model(Ticket), subject_id=ticket.pk
    ).order_by("kind", "cycle")
    return {row.kind: row for row in rows}


def customer_card(*, phone: str):
    """Return (customer or None, open tickets, past tickets, is the first inspection free) for a caller's number;
    raises InvalidPhone."""
    e164 = crypto.normalize_phone(phone)
    customer = Customer.objects.filter(phone_index=crypto.phone_index(e164)).first()
    if customer is None:
        return None, [], [], True
    tickets = list(customer.tickets.select_related("division").order_by("-created_at")[:20])
    open_tickets = [t for t in tickets if t.status in OPEN_STATUSES]
    past = [t for t in tickets if t.status not in OPEN_STATUSES]
    # The same rule ticket_create applies, over all the customer's tickets, not only the ones listed.
    has_completed = customer.tickets.filter(status__in=[TicketStatus.COMPLETED, TicketStatus.CLOSED]).exists()
    free_used = customer.tickets.filter(inspection_fee_waived=True).exclude(status=TicketStatus.CANCELLED).exists()
    return customer, open_tickets, past, not has_completed and not free_used


def ticket_get_for_page(*, number: str) -> Ticket | None:
    """Return a ticket with what its page shows, in a few queries."""
    return (
        Ticket.objects.select_related("customer", "address", "division", "created_by")
        .prefetch_related("events__actor")
        .filter(number=number)
        .first()
    )


def ticket_list_for_board(*, now, status: str = "", province: str = "", urgency: str = "", soon: bool = False):
    """Return open tickets for the live board, oldest first, each annotated with its response clock's state and due
    time; `soon` keeps only those breached or due within 10 minutes."""
    clocks = Deadline.objects.filter(
        subject_type=ContentType.objects.get_for_model(Ticket), subject_id=OuterRef("pk"), kind="response"
    ).order_by("-cycle")
    tickets = (
        Ticket.objects.filter(status__in=OPEN_STATUSES)
        .select_related("division")
        .annotate(
            response_state=Subquery(clocks.values("state")[:1]),
            response_due=Subquery(clocks.values("due_at")[:1]),
            response_remaining=Subquery(clocks.values("remaining")[:1]),
        )
        .order_by("created_at")
    )
    if status:
        tickets = tickets.filter(status=status)
    if province:
        tickets = tickets.filter(Q(division__ancestor_codes__contains=[province]) | Q(division_id=province))
    if urgency:
        tickets = tickets.filter(urgency=urgency)
    if soon:
        tickets = tickets.filter(
            Q(response_state="breached") | Q(response_state="pending", response_due__lte=now + timedelta(minutes=10))
        )
    return tickets


def policy_covering(*, customer, category: str, at):
    """Return the customer's policy in force at `at` that covers this problem (the one ending soonest), or None."""
    return (
        InsurancePolicy.objects.filter(
            customer=customer, purchased_at__lte=at, valid_until__gt=at, plan__covered_categories__contains=[category]
        )
        .select_related("plan")
        .order_by("valid_until")
        .first()
    )


def policies_in_force(*, customer, at) -> list:
    """Return the customer's policies in force at `at`, with their plans."""
    return list(
        InsurancePolicy.objects.filter(customer=customer, purchased_at__lte=at, valid_until__gt=at)
        .select_related("plan")
        .order_by("valid_until")
    )


def ticket_get_for_customer(*, number: str, phone_last_four: str) -> Ticket | None:
    """Return the ticket with this number if the customer's phone ends in `phone_last_four`, else None.

    A wrong number and a wrong phone give the same None, so the answer never tells whether a number exists.
    """
    ticket = Ticket.objects.select_related("customer", "division").filter(number=number.strip()).first()
    if ticket is None:
        return None
    # The phone is decrypted when the customer row loads; compare in constant time all the same.
    return ticket if hmac.compare_digest(ticket.customer.phone[-4:], phone_last_four) else None
