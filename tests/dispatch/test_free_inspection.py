import threading

import pytest
from django.db import connection
from django.utils import timezone

from dispatch.models import Ticket
from dispatch.services import ticket_cancel, ticket_create
from tests.dispatch.factories import job_through

pytestmark = pytest.mark.django_db


def _complete(ticket, by, technician):
    return job_through(ticket, technician=technician, operator=by, at=timezone.now())


def test_a_new_customer_gets_the_first_inspection_free(ticket_input, operator):
    ticket = ticket_create(**ticket_input, by=operator)

    assert ticket.inspection_fee_waived
    assert "首次" in ticket.fee_waiver_reason


def test_never_twice_for_the_same_customer(ticket_input, operator):
    ticket_create(**ticket_input, by=operator)

    second = ticket_create(**{**ticket_input, "address_detail": "公司 2 楼"}, by=operator)

    assert not second.inspection_fee_waived and second.fee_waiver_reason == ""


def test_a_customer_with_a_completed_job_is_not_new(ticket_input, operator, wang):
    first = _complete(ticket_create(**ticket_input, by=operator), operator, wang)
    Ticket.objects.filter(pk=first.pk).update(inspection_fee_waived=False)  # e.g. a job from before the promise

    again = ticket_create(**ticket_input, by=operator)

    assert not again.inspection_fee_waived


def test_a_cancelled_free_ticket_gives_the_free_inspection_back(ticket_input, operator):
    first = ticket_create(**ticket_input, by=operator)
    ticket_cancel(ticket=first, by=operator, reason="打错电话")

    assert ticket_create(**ticket_input, by=operator).inspection_fee_waived


@pytest.mark.django_db(transaction=True)
def test_two_operators_same_new_phone_same_moment_only_one_is_free(ticket_input, operator):
    barrier = threading.Barrier(2)
    errors = []

    def take_call(detail):
        try:
            barrier.wait()
            ticket_create(**{**ticket_input, "address_detail": detail}, by=operator)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=take_call, args=(detail,)) for detail in ("家 1 号", "店 2 号")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    tickets = list(Ticket.objects.order_by("number"))
    assert len(tickets) == 2 and tickets[0].customer_id == tickets[1].customer_id
    assert sorted(t.inspection_fee_waived for t in tickets) == [False, True]
    assert len({t.number for t in tickets}) == 2
