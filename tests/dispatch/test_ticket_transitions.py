from datetime import timedelta

import pytest

from dispatch.exceptions import OfferClosed, ReasonRequired, TicketChanged, TransitionNotAllowed
from dispatch.models import Ticket, TicketEvent, TicketStatus
from dispatch.selectors import offer_list_for_technician, ticket_clocks
from dispatch.services import (
    _ticket_transition,
    customer_phone_reveal,
    offer_accept,
    ticket_cancel,
    ticket_create,
    ticket_offer,
    ticket_resume,
    ticket_wait_customer,
)
from sla.models import Deadline

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


@pytest.fixture
def ticket(ticket_input, operator, t0):
    return ticket_create(**ticket_input, by=operator, now=t0)


def test_contacting_the_customer_meets_the_response_promise(ticket, operator, t0, wang):
    ticket = _ticket_transition(ticket=ticket, to="accepted", technician=wang, by=operator, now=t0 + 5 * M)
    ticket = _ticket_transition(ticket=ticket, to="responded", by=operator, now=t0 + 12 * M)

    assert (ticket.status, ticket.accepted_at, ticket.responded_at) == ("responded", t0 + 5 * M, t0 + 12 * M)
    clocks = ticket_clocks(ticket=ticket)
    assert (clocks["response"].state, clocks["response"].met_at) == (Deadline.State.MET, t0 + 12 * M)
    assert clocks["resolution"].state == Deadline.State.PENDING
    events = list(ticket.events.filter(kind="status").values_list("old_status", "new_status"))
    assert events == [("new", "accepted"), ("accepted", "responded")]


def test_transitions_outside_the_table_are_refused_and_change_nothing(ticket, operator, t0):
    with pytest.raises(TransitionNotAllowed):
        _ticket_transition(ticket=ticket, to="completed", by=operator, now=t0 + M)

    ticket.refresh_from_db(fields=["status"])
    assert ticket.status == TicketStatus.NEW
    assert not ticket.events.filter(kind="status").exists()


def test_a_stale_copy_cannot_overwrite_a_newer_status(ticket, operator, t0, wang):
    stale = Ticket.objects.get(pk=ticket.pk)
    _ticket_transition(ticket=ticket, to="accepted", technician=wang, by=operator, now=t0 + M)

    with pytest.raises(TicketChanged):
        _ticket_transition(ticket=stale, to="cancelled", by=operator, now=t0 + 2 * M)

    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.ACCEPTED


def test_waiting_for_the_customer_pauses_the_clocks_and_resume_restores_them(ticket, operator, t0):
    held = ticket_wait_customer(ticket=ticket, by=operator, reason="客户不在家，约明早", now=t0 + 10 * M)
    assert (held.status, held.status_before_wait) == ("waiting_customer", "new")
    assert ticket_clocks(ticket=held)["response"].state == Deadline.State.PAUSED

    resumed = ticket_resume(ticket=held, by=operator, now=t0 + 70 * M)

    assert (resumed.status, resumed.status_before_wait) == ("new", "")
    response = ticket_clocks(ticket=resumed)["response"]
    assert (response.state, response.due_at) == (Deadline.State.PENDING, t0 + 90 * M)


def test_cancelling_needs_a_reason_and_stops_every_clock(ticket, operator, t0):
    with pytest.raises(ReasonRequired):
        ticket_cancel(ticket=ticket, by=operator, reason="  ", now=t0 + M)
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.NEW

    cancelled = ticket_cancel(ticket=ticket, by=operator, reason="客户自行解决", now=t0 + 2 * M)

    assert (cancelled.status, cancelled.cancelled_at) == ("cancelled", t0 + 2 * M)
    assert {c.state for c in ticket_clocks(ticket=cancelled).values()} == {Deadline.State.CANCELLED}
    assert cancelled.events.get(kind="status").reason == "客户自行解决"


def test_cancelling_an_offered_ticket_withdraws_the_offer_and_its_accept_clock(ticket, operator, t0, wang):
    offer = ticket_offer(ticket=ticket, technician=wang, by=operator, now=t0 + M)

    ticket_cancel(ticket=ticket, by=operator, reason="客户自己找到钥匙了", now=t0 + 2 * M)

    offer.refresh_from_db()
    assert (offer.outcome, offer.answered_at) == ("withdrawn", t0 + 2 * M)
    assert not offer_list_for_technician(technician=wang).exists()  # gone from the technician's phone
    assert {d.state for d in Deadline.objects.filter(kind="offer_accept")} == {Deadline.State.CANCELLED}
    with pytest.raises(OfferClosed):
        offer_accept(offer=offer, by=wang.user, now=t0 + 3 * M)


def test_revealing_the_phone_is_logged_with_who_and_why(ticket, operator, t0):
    with pytest.raises(ReasonRequired):
        customer_phone_reveal(ticket=ticket, by=operator, reason="")

    phone = customer_phone_reveal(ticket=ticket, by=operator, reason="回拨确认地址", now=t0 + M)

    assert phone == "+8613812345678"
    event = TicketEvent.objects.get(ticket=ticket, kind="pii_reveal")
    assert (event.actor, event.at, event.reason, event.data) == (operator, t0 + M, "回拨确认地址", {"field": "phone"})


def test_a_breach_of_the_response_promise_appears_on_the_timeline_once(ticket, t0, queued):
    from sla.models import Outbox
    from sla.services import deadline_fire_due, outbox_deliver

    deadline_fire_due(now=t0 + 30 * M)
    breach = Outbox.objects.get(event="breach")

    assert outbox_deliver(outbox_id=breach.pk)
    Outbox.objects.filter(pk=breach.pk).update(sent_at=None)  # as if the ack was lost and it ran again
    outbox_deliver(outbox_id=breach.pk)

    event = TicketEvent.objects.get(ticket=ticket, kind="sla")
    assert event.data["clock"] == "response" and event.data["event"] == "breach"
    assert event.at == t0 + 30 * M


def test_accepting_starts_the_arrival_clock_and_arriving_meets_it(ticket, operator, t0, wang):
    ticket = _ticket_transition(ticket=ticket, to="accepted", technician=wang, by=operator, now=t0 + 5 * M)
    arrival = ticket_clocks(ticket=ticket)["arrival"]
    assert (arrival.state, arrival.due_at) == (Deadline.State.PENDING, t0 + 95 * M)

    ticket = _ticket_transition(ticket=ticket, to="responded", by=operator, now=t0 + 20 * M)
    for status in ("en_route", "on_site"):
        ticket = _ticket_transition(ticket=ticket, to=status, by=operator, now=t0 + 60 * M)

    clocks = ticket_clocks(ticket=ticket)
    assert (clocks["arrival"].state, clocks["response"].state) == (Deadline.State.MET, Deadline.State.MET)


def test_an_appointment_sets_the_arrival_due_time(ticket_input, operator, t0, wang):
    booked = ticket_create(
        **ticket_input, by=operator, now=t0, appointment_start=t0 + 20 * 60 * M, appointment_end=t0 + 22 * 60 * M
    )

    accepted = _ticket_transition(ticket=booked, to="accepted", technician=wang, by=operator, now=t0 + M)

    assert ticket_clocks(ticket=accepted)["arrival"].due_at == t0 + 20 * 60 * M


def test_back_to_dispatch_cancels_the_arrival_clock(ticket, operator, t0, wang):
    ticket = _ticket_transition(ticket=ticket, to="accepted", technician=wang, by=operator, now=t0 + M)

    ticket = _ticket_transition(
        ticket=ticket, to="new", by=operator, now=t0 + 2 * M, reason="师傅临时有事", technician=None
    )
    assert ticket_clocks(ticket=ticket)["arrival"].state == Deadline.State.CANCELLED

    ticket = _ticket_transition(ticket=ticket, to="accepted", technician=wang, by=operator, now=t0 + 3 * M)
    arrival = ticket_clocks(ticket=ticket)["arrival"]
    assert (arrival.cycle, arrival.state, arrival.due_at) == (2, Deadline.State.PENDING, t0 + 93 * M)
