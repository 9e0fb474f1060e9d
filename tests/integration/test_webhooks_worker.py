"""A webhook goes out through a real Celery worker, is retried by beat's relay after a 500, and arrives once."""

import time
from unittest import mock

import pytest
from django.conf import settings

from config.celery import app
from config.settings import celery_broker_url
from dispatch.services import ticket_create
from regions.models import Division, ServiceArea
from tests.webhooks.conftest import Receiver
from webhooks.models import Delivery, EventType
from webhooks.services import subscriber_create, webhook_signature_verify
from webhooks.tasks import delivery_attempt_task

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_delivers_after_a_failure_once(fleet, redis_url, operator):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    with Receiver([500, 200]) as receiver:
        subscriber = subscriber_create(name="CRM", url=receiver.url, event_types=[EventType.TICKET_CREATED])
        with mock.patch("webhooks.services.delivery_attempt_task.delay"):  # queued below, on the fleet's broker
            ticket = ticket_create(
                phone="13812345678",
                division=Division.objects.get(code="141032100"),
                address_detail="建设路 12 号",
                category="biometric",
                by=operator,
            )
        delivery = Delivery.objects.get(subscriber=subscriber)
        fleet.env.update({"WEBHOOK_RETRY_BASE_SECONDS": "1", "WEBHOOK_RELAY_SECONDS": "1"})
        fleet.start("hooks")
        fleet.start("beat")

        # The first attempt queued twice (the original and a redelivery): the second finds nothing due.
        with app.connection_for_write(celery_broker_url(redis_url, settings.REDIS_DB_BASE)) as broker:
            for _ in range(2):
                delivery_attempt_task.apply_async(kwargs={"delivery_id": delivery.pk}, connection=broker)

        give_up = time.monotonic() + 60
        while not Delivery.objects.filter(pk=delivery.pk, state="delivered").exists():
            assert time.monotonic() < give_up, "the webhook was never delivered"
            time.sleep(0.2)
        time.sleep(2)  # two more relay runs: nothing more may arrive

        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.last_status_code) == (2, 200)
        assert len(receiver.requests) == 2 and len(set(receiver.ids())) == 1
        last = receiver.requests[-1]
        assert receiver.documents()[-1]["data"]["ticket"]["number"] == ticket.number
        assert webhook_signature_verify(
            secret=subscriber.secret,
            timestamp=last["headers"]["X-Webhook-Timestamp"],
            body=last["body"],
            signature=last["headers"]["X-Webhook-Signature"],
            now=delivery.last_attempt_at,
        )
