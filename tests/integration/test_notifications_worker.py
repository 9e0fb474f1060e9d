"""A customer message goes through a real Celery worker and Redis, and is sent once even when queued twice."""

import time

import pytest
import redis
from django.conf import settings

from config.celery import app
from config.settings import celery_broker_url, redis_url_with_db
from dispatch.models import Notification
from dispatch.services import ticket_create
from dispatch.tasks import notification_send_task
from regions.models import Division, ServiceArea

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_sends_a_queued_message_once(fleet, redis_url, operator):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    ticket = ticket_create(
        phone="13812345678",
        division=Division.objects.get(code="141032100"),
        address_detail="建设路 12 号",
        category="biometric",
        by=operator,
    )
    notification = Notification.objects.get(ticket=ticket, kind="received")
    fleet.start("worker")

    # The same message queued twice (a relay and the original, a redelivery): the worker's broker is the test's Redis.
    with app.connection_for_write(celery_broker_url(redis_url, settings.REDIS_DB_BASE)) as broker:
        for _ in range(2):
            notification_send_task.apply_async(kwargs={"notification_id": notification.pk}, connection=broker)

    give_up = time.monotonic() + 60
    while Notification.objects.filter(pk=notification.pk, sent_at__isnull=True).exists():
        assert time.monotonic() < give_up, "the worker did not send the notification"
        time.sleep(0.2)
    # wait until the second message has been taken and acknowledged too (acks late: it sits in "unacked" until done)
    queues = redis.Redis.from_url(redis_url_with_db(redis_url, settings.REDIS_DB_BASE))
    while queues.llen("celery") or queues.hlen("unacked"):
        assert time.monotonic() < give_up, "the second message was never consumed"
        time.sleep(0.2)

    notification.refresh_from_db()
    assert notification.attempts == 1
    log = "".join(path.read_text(errors="replace") for path in fleet.logs)
    # the console backend logs each message it hands over: masked number, idempotency key
    assert log.count(f"SMS to 138****5678 [notification-{notification.pk}]") == 1
