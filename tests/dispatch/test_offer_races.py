"""Never double-booked: concurrent accepts, assigns and expiries on real PostgreSQL, in threads."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.exceptions import ApplicationError
from dispatch.models import DispatchRule, Offer, Ticket
from dispatch.selectors import technician_loads
from dispatch.services import (
    offer_accept,
    offer_expire,
    ticket_assign,
    ticket_create,
    ticket_dispatch_auto,
    ticket_offer,
)
from tests.dispatch.test_ticket_races import _run_together

pytestmark = pytest.mark.django_db(transaction=True)


def _accepted(ticket) -> list:
    return list(Offer.objects.filter(ticket=ticket, outcome="accepted").values_list("technician", flat=True))


def test_two_technicians_grabbing_the_same_job_one_wins(ticket_input, operator, wang, zhao, yonghe):
    DispatchRule.objects.create(division=yonghe, mode="grab")
    ticket = ticket_create(**ticket_input, by=operator)
    offers = ticket_dispatch_auto(ticket_id=ticket.pk, now=timezone.now())
    assert len(offers) == 2

    results = _run_together([lambda o=o: offer_accept(offer=o, by=o.technician.user) for o in offers])

    winners = [r for r in results if isinstance(r, Ticket)]
    assert len(winners) == 1 and sum(isinstance(r, ApplicationError) for r in results) == 1, results
    final = Ticket.objects.get(pk=ticket.pk)
    assert _accepted(ticket) == [final.technician_id]
    assert final.events.filter(kind="status", new_status="accepted").count() == 1


def test_one_technician_accepting_two_jobs_at_once_never_exceeds_capacity(ticket_input, operator, wang):
    wang.capacity = 1
    wang.save(update_fields=["capacity"])
    tickets = [
        ticket_create(**{**ticket_input, "phone": f"1390000{i:04d}"}, by=operator, now=timezone.now()) for i in range(2)
    ]
    # Offered one at a time (auto-dispatch would not offer the second while the first is pending): by an operator.
    offers = [ticket_dispatch_auto(ticket_id=tickets[0].pk, now=timezone.now())[0]]
    offers.append(ticket_offer(ticket=tickets[1], technician=wang, by=operator))

    results = _run_together([lambda o=o: offer_accept(offer=o, by=wang.user) for o in offers])

    assert sum(isinstance(r, Ticket) for r in results) == 1, results
    assert technician_loads(technician_ids=[wang.pk]) == {wang.pk: 1}


def test_an_operator_assigning_while_the_technician_accepts_gives_one_technician(ticket_input, operator, wang, zhao):
    ticket = ticket_create(**ticket_input, by=operator)
    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=timezone.now())
    other = zhao if offer.technician == wang else wang

    results = _run_together(
        [
            lambda: offer_accept(offer=offer, by=offer.technician.user),
            lambda: ticket_assign(ticket=ticket, technician=other, by=operator, reason="客户点名"),
        ]
    )

    assert sum(isinstance(r, Ticket) for r in results) == 1, results
    final = Ticket.objects.get(pk=ticket.pk)
    assert _accepted(ticket) == [final.technician_id]


def test_an_accept_racing_the_expiry_ends_one_way_only(ticket_input, operator, wang, zhao):
    ticket = ticket_create(**ticket_input, by=operator)
    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=timezone.now())
    before, after = offer.expires_at - timedelta(milliseconds=1), offer.expires_at

    results = _run_together(
        [
            lambda: offer_accept(offer=offer, by=offer.technician.user, now=before),
            lambda: offer_expire(offer_id=offer.pk, now=after),
        ]
    )

    offer.refresh_from_db()
    if isinstance(results[0], Ticket):  # accepted first: the expiry found nothing to do
        assert (results[1], offer.outcome) == (False, "accepted")
    else:  # expired first: the accept is refused and the job went to the next technician
        assert (results[1], offer.outcome, type(results[0]).__name__) == (True, "expired", "OfferClosed")
        assert Offer.objects.filter(ticket=ticket, outcome="pending").exclude(pk=offer.pk).count() == 1
    assert len(_accepted(ticket)) <= 1
