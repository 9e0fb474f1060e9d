import pytest

from dashboard.models import TicketFact
from dashboard.services import ticket_fact_sync
from sla.services import deadline_fire_due
from tests.dashboard.builders import MINUTE, local, new_ticket, work

pytestmark = pytest.mark.django_db


def test_picks_up_new_tickets_and_their_later_changes(operator, wang, yonghe):
    t0 = local(24, 9)
    ticket = new_ticket(division=yonghe, at=t0)
    assert ticket_fact_sync(now=t0 + MINUTE) == 1
    fact = TicketFact.objects.get()
    assert (fact.day.isoformat(), fact.hour, fact.province_code, fact.prefecture_code, fact.county_code) == (
        "2026-11-24",
        9,
        "140000",
        "141000",
        "141032",
    )
    assert (fact.is_open, fact.response_state) == (True, "pending")

    work(ticket, technician=wang, operator=operator, accepted=t0 + 2 * MINUTE, responded=t0 + 3 * MINUTE)
    ticket_fact_sync(now=t0 + 4 * MINUTE)

    fact.refresh_from_db()
    assert (fact.technician, fact.response_state, fact.response_seconds) == (wang, "met", 180)


def test_a_breach_by_the_tick_reaches_the_rollup_without_any_ticket_change(yonghe, queued):
    # given: nobody answered; the tick breaches the response clock (its handler has not run: no timeline event)
    t0 = local(24, 9)
    new_ticket(division=yonghe, at=t0)
    ticket_fact_sync(now=t0)
    deadline_fire_due(now=t0 + 31 * MINUTE)
    # when
    ticket_fact_sync(now=t0 + 32 * MINUTE)
    # then
    assert TicketFact.objects.values_list("response_state", "breaches").get() == ("breached", 1)
