"""Batched mode: the waiting tickets of a region are offered together by the best overall assignment."""

from datetime import timedelta

import pytest

from dispatch.models import DispatchRule, Offer, Ticket
from dispatch.services import NO_CANDIDATE, dispatch_batch, dispatch_sweep, ticket_create, ticket_dispatch_auto
from tests.dispatch.factories import TechnicianFactory, skill

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


@pytest.fixture
def crew(zhihe, yonghe):
    """孙师傅 knows the township and fixes everything; 钱师傅 covers the county, fingerprints only. One job each."""
    sun = TechnicianFactory(
        name="孙师傅", coverage=[zhihe], skills=[skill("biometric"), skill("mechanical")], capacity=1
    )
    qian = TechnicianFactory(name="钱师傅", coverage=[yonghe], skills=[skill("biometric")], capacity=1)
    return sun, qian


@pytest.fixture
def two_waiting(ticket_input, operator, t0):
    """A fingerprint job (both could go; 孙师傅 scores higher), then a mechanical one only 孙师傅 can do."""
    fingerprint = ticket_create(**ticket_input, by=operator, now=t0)
    mechanical = ticket_create(
        **{**ticket_input, "phone": "13900004444", "category": "mechanical", "address_detail": "别处"},
        by=operator,
        now=t0 + S,
    )
    return fingerprint, mechanical


def _offered(ticket) -> list[str]:
    return list(Offer.objects.filter(ticket=ticket, outcome="pending").values_list("technician__name", flat=True))


def test_one_at_a_time_the_older_ticket_takes_the_only_technician_the_newer_one_had(crew, two_waiting, t0):
    fingerprint, mechanical = two_waiting

    dispatch_sweep(now=t0 + 20 * S)

    assert (_offered(fingerprint), _offered(mechanical)) == (["孙师傅"], [])
    assert Ticket.objects.get(pk=mechanical.pk).dispatch_note == NO_CANDIDATE


def test_a_batch_gives_both_tickets_a_technician(crew, two_waiting, yonghe, t0):
    DispatchRule.objects.create(division=yonghe, mode="batched")
    fingerprint, mechanical = two_waiting
    # the worker's after-commit dispatch holds each ticket back: another one is waiting in the province
    assert ticket_dispatch_auto(ticket_id=fingerprint.pk, now=t0 + S) == []
    assert ticket_dispatch_auto(ticket_id=mechanical.pk, now=t0 + S) == []

    offers = dispatch_batch(now=t0 + 10 * S)

    assert len(offers) == 2
    assert (_offered(fingerprint), _offered(mechanical)) == (["钱师傅"], ["孙师傅"])
    assert {Ticket.objects.get(pk=t.pk).status for t in two_waiting} == {"offered"}
    assert dispatch_batch(now=t0 + 20 * S) == []  # nothing is waiting any more


def test_a_lone_ticket_in_a_batched_region_is_offered_at_once(crew, ticket_input, operator, yonghe, t0):
    DispatchRule.objects.create(division=yonghe, mode="batched")
    ticket = ticket_create(**ticket_input, by=operator, now=t0)

    (offer,) = ticket_dispatch_auto(ticket_id=ticket.pk, now=t0)

    assert offer.technician.name == "孙师傅"


def test_a_batch_leaves_other_regions_to_the_usual_dispatch(crew, two_waiting, t0):
    assert dispatch_batch(now=t0 + 10 * S) == []

    assert not Offer.objects.exists()


def test_a_ticket_nobody_can_take_is_flagged_by_the_batch(crew, ticket_input, operator, yonghe, t0):
    DispatchRule.objects.create(division=yonghe, mode="batched")
    ticket = ticket_create(**{**ticket_input, "category": "installation"}, by=operator, now=t0)
    skill("installation")  # the catalogue asks for the skill, and nobody has it

    assert dispatch_batch(now=t0 + 10 * S) == []

    ticket.refresh_from_db()
    assert (ticket.status, ticket.needs_manual_dispatch, ticket.dispatch_note) == ("new", True, NO_CANDIDATE)
