from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from dispatch.exceptions import InsuranceNotSellable
from dispatch.models import InsurancePlan, InsurancePolicy, TicketEvent
from dispatch.services import insurance_policy_sell, ticket_create
from tests.dispatch.factories import job_through

pytestmark = pytest.mark.django_db

D = timedelta(days=1)


@pytest.fixture
def plan(db):
    return InsurancePlan.objects.create(
        name="一年无忧保", price=Decimal("99.00"), duration_days=365, covered_categories=["biometric", "power"]
    )


@pytest.fixture
def sold(ticket_input, operator, plan, t0, queued, wang):
    job = job_through(
        ticket_create(**ticket_input, by=operator, now=t0),
        technician=wang,
        operator=operator,
        at=t0 + timedelta(hours=2),
    )
    return insurance_policy_sell(ticket=job, plan=plan, by=operator, now=t0 + timedelta(hours=2))


def test_selling_on_a_completed_job(sold, plan, operator, t0):
    assert (sold.price, sold.sold_by) == (Decimal("99.00"), operator)
    assert sold.valid_until == t0 + timedelta(hours=2) + 365 * D
    event = TicketEvent.objects.get(kind="insurance")
    assert event.data == {"plan": "一年无忧保", "policy": sold.pk}


def test_not_on_an_open_job_nor_twice(ticket_input, operator, plan, sold):
    open_job = ticket_create(**{**ticket_input, "address_detail": "另一处"}, by=operator)
    with pytest.raises(InsuranceNotSellable):
        insurance_policy_sell(ticket=open_job, plan=plan, by=operator)
    with pytest.raises(InsuranceNotSellable):
        insurance_policy_sell(ticket=sold.ticket, plan=plan, by=operator)
    assert InsurancePolicy.objects.count() == 1


def test_a_withdrawn_plan_is_not_sold(ticket_input, operator, plan, t0, queued, wang):
    job = job_through(ticket_create(**ticket_input, by=operator, now=t0), technician=wang, operator=operator, at=t0)
    plan.is_active = False
    plan.save()

    with pytest.raises(InsuranceNotSellable):
        insurance_policy_sell(ticket=job, plan=plan, by=operator)


def test_a_later_covered_job_has_its_fees_waived_and_shows_the_policy(ticket_input, operator, sold, t0):
    later = ticket_create(**{**ticket_input, "category": "power"}, by=operator, now=t0 + 30 * D)

    assert later.insurance_policy == sold
    assert "一年无忧保" in later.fee_waiver_reason
    assert not later.inspection_fee_waived  # no longer a new customer


def test_problems_the_plan_does_not_cover_are_not_waived(ticket_input, operator, sold, t0):
    later = ticket_create(**{**ticket_input, "category": "mechanical"}, by=operator, now=t0 + 30 * D)

    assert later.insurance_policy is None and later.fee_waiver_reason == ""


def test_expired_cover_is_not_applied(ticket_input, operator, sold, t0):
    later = ticket_create(**ticket_input, by=operator, now=sold.valid_until + timedelta(seconds=1))

    assert later.insurance_policy is None


def test_cover_is_shown_on_the_incoming_call_screen(client, operator, sold):
    client.force_login(operator)

    page = client.get("/dispatch/console/", {"phone": "13812345678"}).content.decode()

    assert 'data-testid="insurance-cover"' in page and "一年无忧保" in page


def test_selling_from_the_ticket_page(client, operator, ticket_input, plan, t0, queued, wang):
    job = job_through(ticket_create(**ticket_input, by=operator, now=t0), technician=wang, operator=operator, at=t0)
    client.force_login(operator)
    page = client.get(reverse("dispatch:ticket", args=[job.number])).content.decode()
    assert 'data-testid="sell-insurance"' in page

    client.post(reverse("dispatch:insurance-sell", args=[job.number]), {"plan": plan.pk})
    client.post(reverse("dispatch:insurance-sell", args=[job.number]), {"plan": "nonsense"})

    assert InsurancePolicy.objects.get().ticket == job
