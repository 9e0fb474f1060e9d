"""Dispatch through real processes: the worker offers a committed ticket, and when nobody answers, the SLA tick expires
the offer and the worker offers the job to the next technician — once."""

import time
from datetime import timedelta

import pytest
from django.conf import settings

from config.celery import app
from config.settings import celery_broker_url
from dispatch.models import Offer, TicketEvent
from dispatch.services import ticket_create
from dispatch.tasks import ticket_dispatch_task
from regions.models import Division, ServiceArea
from sla.models import DeadlineKind, PolicyTarget
from tests.dispatch.factories import TechnicianFactory, skill

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_broker]


def _wait_for(condition, *, seconds: float, what: str) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < give_up, what
        time.sleep(0.2)


def test_an_unanswered_offer_moves_to_the_next_technician_through_the_worker_and_the_tick(fleet, redis_url, operator):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    county = Division.objects.get(code="141032")
    first, second = (TechnicianFactory(coverage=[county], skills=[skill("biometric")]) for _ in range(2))
    # A three-second accept window instead of five minutes, so the test sees it expire.
    PolicyTarget.objects.filter(kind=DeadlineKind.OFFER_ACCEPT).update(target=timedelta(seconds=3), warning_lead=None)
    ticket = ticket_create(
        phone="13812345678",
        division=Division.objects.get(code="141032100"),
        address_detail="建设路 12 号",
        category="biometric",
        by=operator,
    )
    for name in ("worker", "tick", "beat"):
        fleet.start(name)

    # What ticket_create's on-commit hook does, aimed at the fleet's private Redis.
    with app.connection_for_write(celery_broker_url(redis_url, settings.REDIS_DB_BASE)) as broker:
        ticket_dispatch_task.apply_async(kwargs={"ticket_id": ticket.pk}, connection=broker)

    _wait_for(lambda: Offer.objects.filter(ticket=ticket).exists(), seconds=60, what="the worker made no offer")
    offered = Offer.objects.get(ticket=ticket)
    _wait_for(
        lambda: Offer.objects.filter(ticket=ticket, outcome="pending").exclude(pk=offered.pk).exists(),
        seconds=60,
        what="the expired offer was not passed on",
    )
    time.sleep(0.5)  # let a duplicate delivery, if any, land before counting (the next window is 3 s)

    offered.refresh_from_db()
    assert offered.outcome == "expired"
    following = Offer.objects.get(ticket=ticket, outcome="pending")
    assert {offered.technician_id, following.technician_id} == {first.pk, second.pk}
    assert TicketEvent.objects.filter(ticket=ticket, kind="offer", data__outcome="expired").count() == 1
    ticket.refresh_from_db(fields=["status"])
    assert ticket.status == "offered"
