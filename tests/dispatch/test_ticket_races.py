import threading

import pytest
from django.db import connection

from dispatch.exceptions import TicketChanged, TransitionNotAllowed
from dispatch.models import Ticket
from dispatch.services import _ticket_transition, ticket_cancel, ticket_create

pytestmark = pytest.mark.django_db(transaction=True)


def _run_together(functions) -> list:
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)

    def run(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_simultaneous_calls_get_distinct_consecutive_numbers(ticket_input, operator):
    phones = [f"1381234{i:04d}" for i in range(8)]

    results = _run_together([lambda p=p: ticket_create(**{**ticket_input, "phone": p}, by=operator) for p in phones])

    assert all(isinstance(result, Ticket) for result in results), results
    suffixes = sorted(int(ticket.number.split("-")[1]) for ticket in results)
    assert suffixes == list(range(1, 9))


def test_two_accepts_racing_exactly_one_wins(ticket_input, operator, technician, wang):
    from django.db import transaction
    from django.utils import timezone

    ticket = ticket_create(**ticket_input, by=operator)

    def accept(by):
        with transaction.atomic():
            return _ticket_transition(
                ticket=Ticket.objects.get(pk=ticket.pk), to="accepted", by=by, now=timezone.now(), technician=wang
            )

    results = _run_together([lambda: accept(operator), lambda: accept(technician)])

    winners = [r for r in results if isinstance(r, Ticket)]
    losers = [r for r in results if isinstance(r, TicketChanged | TransitionNotAllowed)]
    assert len(winners) == 1 and len(losers) == 1, results
    final = Ticket.objects.get(pk=ticket.pk)
    assert final.status == "accepted"
    assert final.events.filter(kind="status").count() == 1


def test_cancel_racing_a_stale_accept_never_resurrects_the_ticket(ticket_input, operator, technician, wang):
    from django.utils import timezone

    ticket = ticket_create(**ticket_input, by=operator)
    stale = Ticket.objects.get(pk=ticket.pk)  # read by the technician's phone before the cancel

    results = _run_together(
        [
            lambda: ticket_cancel(ticket=Ticket.objects.get(pk=ticket.pk), by=operator, reason="客户取消"),
            lambda: _ticket_transition(ticket=stale, to="accepted", by=technician, now=timezone.now(), technician=wang),
        ]
    )

    final = Ticket.objects.get(pk=ticket.pk)
    # either order is legal (accept then cancel), but the ticket must end cancelled, never accepted over a cancel
    assert final.status == "cancelled", results
    assert final.events.filter(kind="status", new_status="cancelled").count() == 1
