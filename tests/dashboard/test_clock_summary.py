import pytest

from dashboard.selectors import clock_summary
from dispatch.services import ticket_assign, ticket_progress, ticket_reassign, ticket_resume, ticket_wait_customer
from sla.services import deadline_fire_due
from tests.dashboard.builders import MINUTE, cancel, local, new_ticket, sync, week, work

pytestmark = pytest.mark.django_db


def by_kind(scope):
    return {row["kind"]: row for row in clock_summary(scope=scope)}


def test_counts_met_and_breached_with_percentiles_of_the_time_to_respond(operator, wang, yonghe):
    # given: answered after 10 min (met) and after 40 min (breached, met late); one cancelled, one still waiting
    t0 = local(24, 9)
    work(
        new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0 + 10 * MINUTE
    )
    work(
        new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0 + 40 * MINUTE
    )
    cancel(new_ticket(division=yonghe, at=t0), by=operator, at=t0 + 5 * MINUTE)
    new_ticket(division=yonghe, at=t0)
    sync()
    # when
    response = by_kind(week())["response"]
    # then: the cancelled and the undecided ones have no verdict
    assert (response["met"], response["breached"], response["decided"], response["share_met"]) == (1, 1, 2, 50.0)
    assert response["p50"] == 25 * 60  # halfway between 10 and 40 minutes
    assert response["p90"] == 10 * 60 + 0.9 * 30 * 60


def test_paused_time_is_not_counted_against_the_clock(operator, wang, yonghe):
    # given: accepted at 5 min, customer not home from 10 to 30 min, contacted at 40 min (wall clock)
    t0 = local(24, 9)
    ticket = work(new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0 + 5 * MINUTE)
    ticket = ticket_wait_customer(ticket=ticket, by=operator, reason="客户不在家", now=t0 + 10 * MINUTE)
    ticket = ticket_resume(ticket=ticket, by=operator, now=t0 + 30 * MINUTE)
    ticket = ticket_progress(ticket=ticket, by=wang.user, to="responded", now=t0 + 40 * MINUTE)
    sync()
    # when
    response = by_kind(week())["response"]
    # then: 40 minutes on the wall, 20 of them paused: met in 20 active minutes
    assert (response["met"], response["breached"], response["p50"]) == (1, 0, 20 * 60)


def test_counts_warnings_the_tick_fired(operator, wang, yonghe, queued):
    # given: the response warning fires at 20 min, the technician calls at 25
    t0 = local(24, 9)
    ticket = new_ticket(division=yonghe, at=t0)
    assert deadline_fire_due(now=t0 + 21 * MINUTE) == 1
    work(ticket, technician=wang, operator=operator, accepted=t0 + 22 * MINUTE, responded=t0 + 25 * MINUTE)
    sync()
    # when
    response = by_kind(week())["response"]
    # then
    assert (response["warned"], response["met"], response["breached"]) == (1, 1, 0)


def test_arrival_counts_only_the_last_technician_after_a_reassignment(operator, wang, zhao, yonghe):
    # given: 王 accepted and dropped the job (its arrival clock is cancelled), 赵 arrived 30 min after accepting
    t0 = local(24, 9)
    ticket = work(new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0)
    ticket = ticket_reassign(ticket=ticket, by=operator, reason="师傅车坏了", now=t0 + 10 * MINUTE)
    ticket = ticket_assign(ticket=ticket, technician=zhao, by=operator, reason="电话确认", now=t0 + 10 * MINUTE)
    ticket_progress(ticket=ticket, by=zhao.user, to="responded", now=t0 + 20 * MINUTE)
    ticket_progress(ticket=ticket, by=zhao.user, to="en_route", now=t0 + 25 * MINUTE)
    ticket_progress(ticket=ticket, by=zhao.user, to="on_site", now=t0 + 40 * MINUTE)
    sync()
    # when
    arrival = by_kind(week())["arrival"]
    # then: one arrival verdict, 30 minutes after 赵 took the job
    assert (arrival["met"], arrival["breached"], arrival["p50"]) == (1, 0, 30 * 60)
