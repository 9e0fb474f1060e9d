from decimal import Decimal

import pytest

from dashboard.selectors import ticket_summary
from dispatch.models import InsurancePlan
from dispatch.services import insurance_policy_sell, ticket_resume, ticket_wait_customer
from tests.dashboard.builders import MINUTE, cancel, local, new_ticket, sync, week, work

pytestmark = pytest.mark.django_db


def test_counts_cancelled_free_inspections_and_insurance_uptake(operator, wang, yonghe):
    # given: three new customers — two completed jobs (one buys a policy), one cancelled (gives its free one back)
    t0 = local(24, 9)
    plan = InsurancePlan.objects.create(
        name="一年保", price=Decimal("49"), duration_days=365, covered_categories=["biometric"]
    )
    done = [
        work(
            new_ticket(division=yonghe, at=t0),
            technician=wang,
            operator=operator,
            accepted=t0,
            responded=t0 + MINUTE,
            on_site=t0 + 30 * MINUTE,
            completed=t0 + 60 * MINUTE,
        )
        for _ in range(2)
    ]
    insurance_policy_sell(ticket=done[0], plan=plan, by=operator, now=t0 + 61 * MINUTE)
    cancel(new_ticket(division=yonghe, at=t0), by=operator, at=t0 + 2 * MINUTE)
    sync()
    # when
    totals = ticket_summary(scope=week())
    # then
    assert (totals["tickets"], totals["completed"], totals["cancelled"]) == (3, 2, 1)
    assert totals["free_inspections"] == 2
    assert (totals["insured"], totals["insurance_uptake"]) == (1, 50.0)
    assert totals["breaches"] == 0


def test_paused_time_is_the_tickets_waiting_time_counted_once(operator, wang, yonghe):
    # given: three clocks running (response, arrival, resolution) paused together for 25 minutes
    t0 = local(24, 9)
    ticket = work(new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0)
    ticket = ticket_wait_customer(ticket=ticket, by=operator, reason="客户改约", now=t0 + 5 * MINUTE)
    ticket_resume(ticket=ticket, by=operator, now=t0 + 30 * MINUTE)
    new_ticket(division=yonghe, at=t0)
    sync()
    # when
    totals = ticket_summary(scope=week())
    # then
    assert (totals["paused_seconds"], totals["paused_tickets"]) == (25 * 60, 1)


def test_a_ticket_still_on_hold_adds_its_pause_once_resumed(operator, wang, yonghe):
    # given: on hold since 5 minutes, not resumed yet at the first sync
    t0 = local(24, 9)
    ticket = work(new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0)
    ticket = ticket_wait_customer(ticket=ticket, by=operator, reason="客户改约", now=t0 + 5 * MINUTE)
    sync(t0 + 10 * MINUTE)
    assert ticket_summary(scope=week())["paused_seconds"] == 0
    # when: resumed after 15 minutes on hold, and the next sync runs
    ticket_resume(ticket=ticket, by=operator, now=t0 + 20 * MINUTE)
    sync(t0 + 21 * MINUTE)
    # then
    assert ticket_summary(scope=week())["paused_seconds"] == 15 * 60
