"""The technician's steps on a job (ticket_progress) and completing it with the fee (ticket_complete)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from config.exceptions import ApplicationError
from dispatch.exceptions import InvalidPosition, NotYourJob, TransitionNotAllowed
from dispatch.models import Address, InsurancePlan, Ticket
from dispatch.selectors import ticket_clocks
from dispatch.services import insurance_policy_sell, ticket_complete, ticket_create, ticket_progress
from tests.dispatch.factories import job_through

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


@pytest.fixture
def job(ticket_input, operator, wang, t0):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    return job_through(ticket, technician=wang, operator=operator, at=t0 + M, until="accepted")


def test_calling_the_customer_meets_the_30_minute_promise(job, wang, t0):
    ticket = ticket_progress(ticket=job, by=wang.user, to="responded", now=t0 + 12 * M)

    assert (ticket.status, ticket.responded_at) == ("responded", t0 + 12 * M)
    response = ticket_clocks(ticket=ticket)["response"]
    assert (response.state, response.met_at) == ("met", t0 + 12 * M)


def test_only_the_assigned_technician_moves_the_job(job, zhao, t0):
    with pytest.raises(NotYourJob):
        ticket_progress(ticket=job, by=zhao.user, to="responded", now=t0 + M)

    job.refresh_from_db(fields=["status"])
    assert job.status == "accepted"


def test_steps_cannot_be_skipped(job, wang, t0):
    with pytest.raises(TransitionNotAllowed):
        ticket_progress(ticket=job, by=wang.user, to="on_site", now=t0 + M)

    job.refresh_from_db(fields=["status"])
    assert job.status == "accepted"


def test_arriving_records_the_position_and_its_distance_from_the_address(job, wang, t0):
    Address.objects.filter(pk=job.address_id).update(lat=36.7600, lng=110.6300)
    ticket_progress(ticket=job, by=wang.user, to="responded", now=t0 + 2 * M)
    ticket_progress(ticket=job, by=wang.user, to="en_route", now=t0 + 3 * M)

    ticket = ticket_progress(ticket=job, by=wang.user, to="on_site", lat="36.7609", lng="110.6300", now=t0 + 40 * M)

    assert (ticket.status, ticket.arrival_lat, ticket.arrival_lng) == ("on_site", 36.7609, 110.63)
    assert ticket.arrival_distance_m == 100  # 0.0009° of latitude
    assert ticket_clocks(ticket=ticket)["arrival"].state == "met"


def test_a_nonsense_position_is_refused_and_changes_nothing(job, wang, t0):
    ticket_progress(ticket=job, by=wang.user, to="responded", now=t0 + 2 * M)
    ticket_progress(ticket=job, by=wang.user, to="en_route", now=t0 + 3 * M)

    with pytest.raises(InvalidPosition):
        ticket_progress(ticket=job, by=wang.user, to="on_site", lat="95", lng="abc", now=t0 + 4 * M)

    assert Ticket.objects.get(pk=job.pk).status == "en_route"


def _on_site(job, wang, t0):
    for step in ("responded", "en_route", "on_site"):
        job = ticket_progress(ticket=job, by=wang.user, to=step, now=t0 + 5 * M)
    return job


def test_a_new_customer_pays_no_inspection_fee(job, wang, t0):
    ticket = ticket_complete(
        ticket=_on_site(job, wang, t0),
        by=wang.user,
        work_done="更换指纹模块",
        parts="指纹模块 x1",
        labour_fee=Decimal("80"),
        parts_fee=Decimal("120"),
        now=t0 + 60 * M,
    )

    assert (ticket.status, ticket.inspection_fee, ticket.fee) == ("completed", Decimal("0"), Decimal("200"))
    assert {clock.kind: clock.state for clock in ticket_clocks(ticket=ticket).values()} == {
        "response": "met",
        "arrival": "met",
        "resolution": "met",
    }


def test_a_returning_customer_pays_the_inspection_and_insurance_covers_everything(
    job, wang, operator, ticket_input, t0, settings
):
    settings.INSPECTION_FEE = "50.00"
    first = ticket_complete(ticket=_on_site(job, wang, t0), by=wang.user, work_done="换电池", now=t0 + M)
    again = ticket_create(**{**ticket_input, "address_detail": "公司"}, by=operator, now=t0 + 2 * M)
    again = job_through(again, technician=wang, operator=operator, at=t0 + 3 * M, until="on_site")

    paid = ticket_complete(ticket=again, by=wang.user, work_done="调整锁舌", labour_fee=Decimal("30"), now=t0 + 4 * M)
    assert (paid.inspection_fee, paid.fee) == (Decimal("50.00"), Decimal("80.00"))

    plan = InsurancePlan.objects.create(
        name="一年保", price=Decimal("99"), duration_days=365, covered_categories=["biometric"]
    )
    insurance_policy_sell(ticket=first, plan=plan, by=wang.user, now=t0 + 5 * M)
    covered = ticket_create(**{**ticket_input, "address_detail": "父母家"}, by=operator, now=t0 + 6 * M)
    covered = job_through(covered, technician=wang, operator=operator, at=t0 + 7 * M, until="on_site")
    free = ticket_complete(ticket=covered, by=wang.user, work_done="换模块", labour_fee=Decimal("30"), now=t0 + 8 * M)
    assert (free.inspection_fee, free.fee) == (Decimal("50.00"), Decimal("0.00"))


@translation.override("en")
def test_completing_needs_the_work_done_and_no_negative_amounts(job, wang, t0):
    job = _on_site(job, wang, t0)
    for kwargs, message in (
        ({"work_done": ""}, "Describe"),
        ({"work_done": "换锁", "labour_fee": Decimal("-1")}, "negative"),
    ):
        with pytest.raises(ApplicationError, match=message):
            ticket_complete(ticket=job, by=wang.user, now=t0 + M, **kwargs)

    assert Ticket.objects.get(pk=job.pk).status == "on_site"
