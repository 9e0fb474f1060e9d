from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.services import ticket_assign, ticket_create
from privacy.services import binding_sync


@pytest.fixture
def t0():
    """Pages compare the binding's expiry with the real clock: jobs accepted just now."""
    return timezone.now()


def _job(ticket_input, operator, technician, t0, phone="13812345678"):
    ticket = ticket_create(**{**ticket_input, "phone": phone}, by=operator, now=t0)
    return ticket_assign(ticket=ticket, technician=technician, by=operator, reason="电话确认", now=t0)


def test_job_page_calls_the_virtual_number_instead_of_the_real_one(as_wang, ticket_input, operator, wang, t0):
    ticket = _job(ticket_input, operator, wang, t0)
    binding_sync(ticket_id=ticket.pk, now=t0)

    page = as_wang.get(f"/tech/jobs/{ticket.number}/").content.decode()

    assert 'href="tel:+8617100000000" data-testid="call-customer"' in page
    assert 'data-testid="customer-phone">17100000000<' in page
    assert "13812345678" not in page and "+8613812345678" not in page
    assert 'data-testid="privacy-fallback"' not in page


def test_job_page_before_the_bind_shows_the_real_number_as_today(as_wang, ticket_input, operator, wang, t0):
    ticket = _job(ticket_input, operator, wang, t0)

    page = as_wang.get(f"/tech/jobs/{ticket.number}/").content.decode()

    assert 'href="tel:+8613812345678" data-testid="call-customer"' in page
    assert 'data-testid="privacy-fallback"' not in page


def test_pool_exhausted_job_still_works_with_the_real_number_flagged(
    as_wang, client, ticket_input, operator, wang, zhao, t0, settings
):
    settings.PRIVACY_NUMBER_POOL = ["+8617100000000"]
    other = _job(ticket_input, operator, zhao, t0, phone="13912345678")
    binding_sync(ticket_id=other.pk, now=t0)
    ticket = _job(ticket_input, operator, wang, t0)
    assert binding_sync(ticket_id=ticket.pk, now=t0) is None

    page = as_wang.get(f"/tech/jobs/{ticket.number}/").content.decode()

    assert 'href="tel:+8613812345678" data-testid="call-customer"' in page
    assert 'data-testid="privacy-fallback"' in page
    as_wang.post(f"/tech/jobs/{ticket.number}/step", {"to": "responded"})
    ticket.refresh_from_db(fields=["status"])
    assert ticket.status == "responded"  # the job goes on
    client.force_login(operator)
    operator_page = client.get(f"/dispatch/tickets/{ticket.number}/").content.decode()
    assert 'data-testid="privacy-fallback"' in operator_page


def test_operator_ticket_page_shows_the_virtual_number_and_its_expiry(client, ticket_input, operator, wang, t0):
    ticket = _job(ticket_input, operator, wang, t0)
    binding_sync(ticket_id=ticket.pk, now=t0)
    client.force_login(operator)

    page = client.get(f"/dispatch/tickets/{ticket.number}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'data-virtual-number="+8617100000000"' in page
    expires = timezone.localtime(t0 + timedelta(hours=72))  # Asia/Shanghai
    assert f"valid until {expires:%Y-%m-%d %H:%M}" in page
