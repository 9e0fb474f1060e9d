"""Operators dispatching by hand: offer to anyone, assign directly, reassign with a reason."""

from datetime import timedelta

import pytest

from dispatch.exceptions import ReasonRequired, TransitionNotAllowed
from dispatch.models import Offer, TicketEvent
from dispatch.selectors import ticket_clocks
from dispatch.services import (
    offer_accept,
    ticket_assign,
    ticket_create,
    ticket_dispatch_auto,
    ticket_offer,
    ticket_progress,
    ticket_reassign,
)
from regions.models import Division
from tests.dispatch.factories import TechnicianFactory

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


@pytest.fixture
def ticket(ticket_input, operator, t0):
    return ticket_create(**ticket_input, by=operator, now=t0)


def test_an_operator_can_offer_to_anyone_even_outside_the_ranking(ticket, operator, t0):
    outsider = TechnicianFactory(coverage=[Division.objects.get(code="140105")])

    offer = ticket_offer(ticket=ticket, technician=outsider, by=operator, now=t0)

    assert (offer.mode, offer.offered_by, offer.score, offer.explanation["chosen"]) == ("manual", operator, None, None)
    ticket.refresh_from_db(fields=["status"])
    assert ticket.status == "offered"
    assert offer_accept(offer=offer, by=outsider.user, now=t0 + M).technician == outsider


def test_offering_by_hand_withdraws_the_automatic_offer(ticket, wang, zhao, operator, t0):
    (automatic,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=t0)

    manual = ticket_offer(ticket=ticket, technician=zhao, by=operator, now=t0 + M)

    outcomes = dict(Offer.objects.filter(ticket=ticket).values_list("pk", "outcome"))
    assert outcomes == {automatic.pk: "withdrawn", manual.pk: "pending"}


def test_assigning_directly_needs_a_reason_and_records_who_decided(ticket, wang, operator, t0):
    with pytest.raises(ReasonRequired):
        ticket_assign(ticket=ticket, technician=wang, by=operator, reason="", now=t0)
    ticket.refresh_from_db(fields=["status"])
    assert ticket.status == "new"

    assigned = ticket_assign(ticket=ticket, technician=wang, by=operator, reason="师傅电话确认", now=t0 + M)

    assert (assigned.status, assigned.technician) == ("accepted", wang)
    offer = Offer.objects.get(ticket=ticket)
    assert (offer.outcome, offer.offered_by, offer.reason) == ("accepted", operator, "师傅电话确认")
    event = TicketEvent.objects.get(ticket=ticket, kind="offer")
    assert (event.actor, event.data["outcome"]) == (operator, "assigned")


def test_a_taken_ticket_cannot_be_assigned_again(ticket, wang, zhao, operator, t0):
    ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认", now=t0)

    with pytest.raises(TransitionNotAllowed):
        ticket_assign(ticket=ticket, technician=zhao, by=operator, reason="电话确认", now=t0 + M)

    ticket.refresh_from_db(fields=["technician"])
    assert ticket.technician == wang


def test_reassigning_takes_the_job_off_the_technician_and_offers_it_to_another(ticket, wang, zhao, operator, t0):
    ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认", now=t0)
    ticket_progress(ticket=ticket, by=wang.user, to="responded", now=t0 + 5 * M)

    with pytest.raises(ReasonRequired):
        ticket_reassign(ticket=ticket, by=operator, reason="", now=t0 + 10 * M)

    reassigned = ticket_reassign(ticket=ticket, by=operator, reason="王师傅车坏了", now=t0 + 10 * M)

    assert (reassigned.status, reassigned.technician) == ("offered", None)
    outcomes = dict(Offer.objects.filter(ticket=ticket).values_list("technician", "outcome"))
    assert outcomes == {wang.pk: "released", zhao.pk: "pending"}
    clocks = ticket_clocks(ticket=ticket)
    assert clocks["arrival"].state == "cancelled"  # the next technician gets a fresh one on accepting
    assert clocks["response"].state == "met"  # the customer was called: that promise stays kept
    event = TicketEvent.objects.get(ticket=ticket, kind="status", new_status="new")
    assert (event.actor, event.reason) == (operator, "王师傅车坏了")


def test_a_job_under_way_cannot_be_reassigned(ticket, wang, operator, t0):
    ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认", now=t0)
    ticket_progress(ticket=ticket, by=wang.user, to="responded", now=t0 + M)
    ticket_progress(ticket=ticket, by=wang.user, to="en_route", now=t0 + 2 * M)

    with pytest.raises(TransitionNotAllowed):
        ticket_reassign(ticket=ticket, by=operator, reason="换人", now=t0 + 3 * M)

    ticket.refresh_from_db(fields=["status", "technician"])
    assert (ticket.status, ticket.technician) == ("en_route", wang)
