"""Accepting, declining and letting an offer expire (offer_accept, offer_decline, offer_expire)."""

from datetime import timedelta

import pytest
from django.test import override_settings

from dispatch.exceptions import NotYourJob, OfferClosed, OfferExpired, ReasonRequired, TechnicianAtCapacity
from dispatch.models import Notification, Offer, Ticket, TicketEvent
from dispatch.selectors import ticket_clocks
from dispatch.services import (
    OFFERS_EXHAUSTED,
    offer_accept,
    offer_decline,
    ticket_assign,
    ticket_create,
    ticket_dispatch_auto,
)
from sla.models import Deadline, Outbox
from sla.services import deadline_fire_due, outbox_deliver
from tests.dispatch.factories import TechnicianFactory, skill

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


@pytest.fixture
def ticket(ticket_input, operator, t0):
    return ticket_create(**ticket_input, by=operator, now=t0)


@pytest.fixture
def offer(ticket, wang, t0):
    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=t0)
    assert offer.technician == wang
    return offer


def _unchanged(ticket, offer):
    ticket.refresh_from_db(fields=["status", "technician"])
    offer.refresh_from_db(fields=["outcome"])
    return ticket.status, ticket.technician_id, offer.outcome


def test_accepting_gives_the_job_starts_the_arrival_clock_and_tells_the_customer_who_comes(offer, ticket, wang, t0):
    accepted = offer_accept(offer=offer, by=wang.user, now=t0 + 2 * M)

    assert (accepted.status, accepted.technician, accepted.accepted_at) == ("accepted", wang, t0 + 2 * M)
    offer.refresh_from_db()
    assert (offer.outcome, offer.answered_at) == ("accepted", t0 + 2 * M)
    assert Deadline.objects.get(subject_id=offer.pk, kind="offer_accept").state == "met"
    arrival = ticket_clocks(ticket=ticket)["arrival"]
    assert (arrival.state, arrival.due_at) == ("pending", t0 + 92 * M)
    message = Notification.objects.get(ticket=ticket, kind="assigned")
    assert "王师傅" in message.body and "预计 03:32 到达" in message.body  # 02:00 Shanghai + 92 min
    wang.refresh_from_db(fields=["last_job_at"])
    assert wang.last_job_at == t0 + 2 * M


def test_an_expired_offer_cannot_be_accepted_even_before_the_tick_noticed(offer, ticket, wang, t0):
    with pytest.raises(OfferExpired):
        offer_accept(offer=offer, by=wang.user, now=offer.expires_at)

    assert _unchanged(ticket, offer) == ("offered", None, "pending")


def test_only_the_offered_technician_may_accept(offer, ticket, zhao, t0):
    with pytest.raises(NotYourJob):
        offer_accept(offer=offer, by=zhao.user, now=t0 + M)

    assert _unchanged(ticket, offer) == ("offered", None, "pending")


def test_a_withdrawn_offer_cannot_be_accepted(offer, ticket, wang, zhao, operator, t0):
    ticket_assign(ticket=ticket, technician=zhao, by=operator, reason="客户点名赵师傅", now=t0 + M)

    with pytest.raises(OfferClosed):
        offer_accept(offer=offer, by=wang.user, now=t0 + 2 * M)

    assert _unchanged(ticket, offer) == ("accepted", zhao.pk, "withdrawn")


def test_a_technician_at_capacity_cannot_accept(offer, ticket, wang, operator, t0):
    other = ticket_create(
        phone="13900002222", division=ticket.division, address_detail="别处", category="power", by=operator, now=t0
    )
    ticket_assign(ticket=other, technician=wang, by=operator, reason="电话确认", now=t0)
    wang.capacity = 1
    wang.save(update_fields=["capacity"])

    with pytest.raises(TechnicianAtCapacity):
        offer_accept(offer=offer, by=wang.user, now=t0 + M)

    assert _unchanged(ticket, offer) == ("offered", None, "pending")


def test_declining_needs_a_reason_and_the_next_candidate_gets_the_offer(offer, ticket, wang, zhao, t0):
    with pytest.raises(ReasonRequired):
        offer_decline(offer=offer, by=wang.user, reason=" ", now=t0 + M)
    assert _unchanged(ticket, offer) == ("offered", None, "pending")

    offer_decline(offer=offer, by=wang.user, reason="太远", now=t0 + M)

    offer.refresh_from_db()
    assert (offer.outcome, offer.reason) == ("declined", "太远")
    following = Offer.objects.get(ticket=ticket, outcome="pending")
    assert (following.technician, following.offered_at) == (zhao, t0 + M)
    assert {row["technician"]: row["reason"] for row in following.explanation["excluded"]} == {wang.pk: "declined"}
    declined = TicketEvent.objects.get(ticket=ticket, kind="offer", data__outcome="declined")
    assert (declined.actor, declined.reason) == (wang.user, "太远")


def test_an_unanswered_offer_expires_once_through_the_sla_engine_and_moves_on(offer, ticket, wang, zhao, queued):
    fired = deadline_fire_due(now=offer.expires_at)
    breach = Outbox.objects.get(event="breach", deadline__kind="offer_accept")

    assert fired >= 1
    assert outbox_deliver(outbox_id=breach.pk)
    Outbox.objects.filter(pk=breach.pk).update(sent_at=None)  # redelivered: the ack was lost
    outbox_deliver(outbox_id=breach.pk)

    offer.refresh_from_db(fields=["outcome"])
    assert offer.outcome == "expired"
    assert list(Offer.objects.filter(ticket=ticket, outcome="pending").values_list("technician", flat=True)) == [
        zhao.pk
    ]
    assert TicketEvent.objects.filter(ticket=ticket, kind="offer", data__outcome="expired").count() == 1
    assert deadline_fire_due(now=offer.expires_at) == 0


@override_settings(DISPATCH_MAX_OFFERS=2)
def test_after_too_many_refusals_the_ticket_waits_for_an_operator(offer, ticket, wang, zhao, yonghe, t0):
    third = TechnicianFactory(coverage=[yonghe], skills=[skill("biometric")])
    offer_decline(offer=offer, by=wang.user, reason="正在忙", now=t0 + M)
    second = Offer.objects.get(ticket=ticket, outcome="pending")

    offer_decline(offer=second, by=second.technician.user, reason="不会修", now=t0 + 2 * M)

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.status, ticket.needs_manual_dispatch) == ("new", True)
    assert ticket.dispatch_note == OFFERS_EXHAUSTED.format(n=2)
    assert not Offer.objects.filter(ticket=ticket, technician=third).exists()
