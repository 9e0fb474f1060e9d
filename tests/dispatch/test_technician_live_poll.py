"""The technician's offers poll: 204 No Content while nothing changed, the full lists as soon as anything did."""

import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from dispatch.models import Offer, Ticket, TicketStatus
from dispatch.services import (
    offer_accept,
    ticket_assign,
    ticket_cancel,
    ticket_create,
    ticket_offer,
    ticket_progress,
    ticket_reassign,
)

pytestmark = pytest.mark.django_db

LIVE = "/tech/live"


@pytest.fixture
def as_wang(client, wang):
    client.force_login(wang.user)
    return client


@pytest.fixture
def ticket(ticket_input, operator) -> Ticket:
    return ticket_create(**ticket_input, by=operator)


def _poll(client: Client, stamp: str | None = None, **headers):
    if stamp is not None:
        headers["HTTP_X_LIVE_STAMP"] = stamp
    return client.get(LIVE, HTTP_HX_REQUEST="true", **headers)


def _stamp(response) -> str:
    assert response.status_code == 200
    return re.search(r'data-live-stamp="([^"]*)"', response.content.decode()).group(1)


def test_an_unchanged_list_is_answered_204_without_a_database_query(as_wang, wang, django_assert_num_queries):
    stamp = _stamp(_poll(as_wang))
    assert stamp.startswith(f"{wang.pk}.")

    with django_assert_num_queries(0):
        response = _poll(as_wang, stamp)

    assert response.status_code == 204
    assert response.content == b""
    # and the home page's first rendering carries a stamp that works the same way
    home = as_wang.get("/tech/")
    assert _poll(as_wang, _stamp(home)).status_code == 204


def test_a_new_offer_shows_at_the_next_poll_and_goes_once_accepted(
    as_wang, wang, ticket, operator, queued, django_capture_on_commit_callbacks
):
    stamp = _stamp(_poll(as_wang))

    with django_capture_on_commit_callbacks(execute=True):
        offer = ticket_offer(ticket=ticket, technician=wang, by=operator)

    response = _poll(as_wang, stamp)
    assert f'data-offer="{offer.pk}"' in response.content.decode()
    assert _stamp(response) != stamp
    assert _poll(as_wang, _stamp(response)).status_code == 204

    with django_capture_on_commit_callbacks(execute=True):
        offer_accept(offer=offer, by=wang.user)
    response = _poll(as_wang, _stamp(response))
    assert 'data-testid="no-offers"' in response.content.decode()
    assert f'data-number="{ticket.number}"' in response.content.decode()  # now a job in hand


def test_the_offer_goes_away_when_the_operator_gives_the_job_to_another_technician(
    as_wang, wang, zhao, ticket, operator, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_offer(ticket=ticket, technician=wang, by=operator)
    response = _poll(as_wang)
    assert 'data-testid="offer"' in response.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, technician=zhao, by=operator, reason="客户点名赵师傅")

    response = _poll(as_wang, _stamp(response))
    assert response.status_code == 200
    assert 'data-testid="no-offers"' in response.content.decode()
    assert Offer.objects.get(technician=wang).outcome == "withdrawn"


def test_a_cancelled_ticket_leaves_the_phone_at_the_next_poll(
    as_wang, wang, ticket, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_offer(ticket=ticket, technician=wang, by=operator)
    stamp = _stamp(_poll(as_wang))

    with django_capture_on_commit_callbacks(execute=True):
        ticket_cancel(ticket=ticket, by=operator, reason="客户自己找到钥匙了")

    assert 'data-testid="no-offers"' in _poll(as_wang, stamp).content.decode()


def test_each_job_step_and_a_reassignment_change_the_job_list(
    as_wang, wang, ticket, operator, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认")
    stamp = _stamp(_poll(as_wang))

    with django_capture_on_commit_callbacks(execute=True):
        ticket_progress(ticket=ticket, by=wang.user, to=TicketStatus.RESPONDED)
    response = _poll(as_wang, stamp)
    assert re.search(r'data-testid="job-status">\s*' + str(TicketStatus.RESPONDED.label), response.content.decode())

    with django_capture_on_commit_callbacks(execute=True):
        ticket_reassign(ticket=ticket, by=operator, reason="师傅车坏了")
    response = _poll(as_wang, _stamp(response))
    assert 'data-testid="no-jobs"' in response.content.decode()


def test_a_stamp_answers_only_the_session_it_was_issued_to(as_wang, wang, operator):
    stamp = _stamp(_poll(as_wang))

    other_phone = Client()
    other_phone.force_login(wang.user)
    assert _poll(other_phone, stamp).status_code == 200  # the same technician's other session renders in full
    someone_else = Client()
    someone_else.force_login(operator)
    assert _poll(someone_else, stamp).status_code == 403
    assert _poll(Client(), stamp).status_code == 204 and _poll(Client(), stamp).has_header("HX-Redirect")


def test_signing_out_ends_the_cheap_answer(as_wang):
    stamp = _stamp(_poll(as_wang))
    session_key = as_wang.cookies["sessionid"].value

    as_wang.post(reverse("accounts:logout"))
    as_wang.cookies["sessionid"] = session_key  # the signed-out phone still sends its old cookie

    response = _poll(as_wang, stamp)
    assert response.status_code == 204 and response.has_header("HX-Redirect")  # to the sign-in page, not "unchanged"


def test_a_stamp_runs_out_by_itself(as_wang, settings):
    settings.LIVE_STAMP_SECONDS = 1
    stamp = _stamp(_poll(as_wang))
    assert _poll(as_wang, stamp).status_code == 204

    time.sleep(1.2)

    assert _poll(as_wang, stamp).status_code == 200


@pytest.mark.parametrize("forged", ["", "garbage", "1.", ".abc", "99999999.deadbeefdeadbeef"])
def test_a_forged_or_garbled_stamp_gets_the_full_lists(as_wang, wang, forged):
    _poll(as_wang)  # a stamp exists for this session and technician

    assert _poll(as_wang, forged).status_code == 200
    assert _poll(as_wang, f"{wang.pk}.{'0' * 16}").status_code == 200
