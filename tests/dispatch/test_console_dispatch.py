"""The operator's dispatch panel on the ticket page and the board's dispatch columns."""

import pytest
from django.urls import reverse

from dispatch.models import Offer, Ticket
from dispatch.services import ticket_assign, ticket_create, ticket_dispatch_auto
from tests.dispatch.factories import TechnicianFactory, skill

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(ticket_input, operator):
    return ticket_create(**ticket_input, by=operator)


def _dispatch(client, ticket, **data):
    return client.post(
        reverse("dispatch:ticket-dispatch", args=[ticket.number]), data, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )


def test_the_ticket_page_says_why_this_technician_and_who_was_left_out(client, operator, ticket, wang, yonghe):
    off_duty = TechnicianFactory(name="李师傅", coverage=[yonghe], skills=[skill("biometric")], is_on_duty=False)
    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=ticket.created_at)
    client.force_login(operator)

    response = client.get(reverse("dispatch:ticket", args=[ticket.number]))

    (shown,) = response.context["offers"]
    assert shown.pk == offer.pk
    assert [row["name"] for row in shown.why["considered"]] == ["王师傅"]
    excluded = [(row["name"], row["reason"], str(row["label"])) for row in shown.why["excluded"]]
    assert excluded == [(off_duty.name, "off_duty", "不在岗")]  # the page is in Chinese unless switched
    assert 'data-testid="why"' in response.content.decode()


def test_an_operator_offers_the_job_to_a_technician_they_pick(client, operator, ticket, wang, zhao):
    client.force_login(operator)

    _dispatch(client, ticket, action="offer", technician=zhao.pk)

    offer = Offer.objects.get(ticket=ticket)
    assert (offer.technician, offer.mode, offer.offered_by) == (zhao, "manual", operator)


def test_assigning_without_a_reason_is_refused_and_changes_nothing(client, operator, ticket, wang):
    client.force_login(operator)

    response = _dispatch(client, ticket, action="assign", technician=wang.pk, reason="")

    assert [str(m) for m in response.context["messages"]] == ["Give a reason."]
    assert Ticket.objects.get(pk=ticket.pk).status == "new" and not Offer.objects.exists()


def test_an_unknown_technician_is_refused(client, operator, ticket):
    client.force_login(operator)

    response = _dispatch(client, ticket, action="offer", technician="999999")

    assert [str(m) for m in response.context["messages"]] == ["Choose a technician from the list."]
    assert not Offer.objects.exists()


def test_reassigning_from_the_ticket_page(client, operator, ticket, wang, zhao):
    ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认")
    client.force_login(operator)

    _dispatch(client, ticket, action="reassign", technician=zhao.pk, reason="王师傅请假")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.technician) == ("offered", None)
    assert Offer.objects.get(ticket=ticket, outcome="pending").technician == zhao


def test_retrying_automatic_dispatch_when_nobody_can_take_it_says_so(client, operator, ticket):
    client.force_login(operator)

    response = _dispatch(client, ticket, action="auto")

    assert "Nobody can take this job now" in str(next(iter(response.context["messages"])))
    assert Ticket.objects.get(pk=ticket.pk).status == "new"


@pytest.mark.parametrize("role", ["technician", "manager", "reviewer"])
def test_only_operators_dispatch(client, users_by_role, role, ticket, wang):
    client.force_login(users_by_role[role])

    response = client.post(reverse("dispatch:ticket-dispatch", args=[ticket.number]), {"action": "auto"})

    assert response.status_code == 403 and not Offer.objects.exists()


def test_the_board_flags_tickets_for_manual_dispatch_and_lists_who_is_on_duty(client, operator, ticket, wang):
    ticket_dispatch_auto(ticket_id=ticket.pk, now=ticket.created_at)  # offered to 王师傅
    skill("mechanical", "机械故障")
    flagged = ticket_create(
        phone="13900003333", division=ticket.division, address_detail="别处", category="mechanical", by=operator
    )
    ticket_dispatch_auto(ticket_id=flagged.pk, now=flagged.created_at)  # nobody has the mechanical skill
    client.force_login(operator)

    response = client.get("/dispatch/board/table")

    rows = {t.number: t for t in response.context["tickets"]}
    assert (rows[flagged.number].needs_manual_dispatch, rows[ticket.number].needs_manual_dispatch) == (True, False)
    on_duty = client.get("/dispatch/board/on-duty", {"province": "140000"}).context["on_duty"]
    assert [(t.name, t.jobs) for t in on_duty] == [("王师傅", 0)]
    assert client.get("/dispatch/board/on-duty", {"province": "110000"}).context["on_duty"] == []
