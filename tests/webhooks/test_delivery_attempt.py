from datetime import timedelta

from webhooks.models import Delivery
from webhooks.services import (
    delivery_attempt,
    delivery_retry_now,
    delivery_send_due,
    subscriber_create,
    subscriber_test_send,
)


def _delivery(url: str, now) -> Delivery:
    subscriber = subscriber_create(name="CRM", url=url, event_types=[])
    return subscriber_test_send(subscriber=subscriber, now=now).deliveries.get()


def test_receiver_failing_then_recovering_is_retried_with_backoff_and_delivered_once(
    db, receiver_factory, settings, t0
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    receiver = receiver_factory([500, 200])
    delivery = _delivery(receiver.url, t0)

    assert delivery_attempt(delivery_id=delivery.pk, now=t0) == "failed"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("failed", 1, 500)
    assert t0 + timedelta(seconds=15) <= delivery.next_attempt_at <= t0 + timedelta(seconds=30)
    # not due yet: the relay leaves it alone
    assert delivery_send_due(now=delivery.next_attempt_at - timedelta(seconds=1)) == 0

    assert delivery_send_due(now=delivery.next_attempt_at) == 1

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert delivery.delivered_at == delivery.last_attempt_at
    later = delivery.next_attempt_at + timedelta(hours=1)
    assert delivery_send_due(now=later) == 0
    assert delivery_attempt(delivery_id=delivery.pk, now=later) is None
    assert len(set(receiver.ids())) == 1 and len(receiver.requests) == 2  # the same idempotency id both times


def test_backoff_grows_exponentially_up_to_the_cap(db, settings, t0):
    settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS, settings.WEBHOOK_MAX_ATTEMPTS = 10, 60, 20
    delivery = _delivery("http://127.0.0.1:9/closed", t0)  # nothing listens on the discard port
    waits, now = [], t0

    for _attempt in range(5):
        delivery_send_due(now=now)
        delivery.refresh_from_db()
        waits.append((delivery.next_attempt_at - now).total_seconds())
        now = delivery.next_attempt_at

    for wait, full in zip(waits, [10, 20, 40, 60, 60], strict=True):
        assert full / 2 <= wait <= full
    assert delivery.last_status_code is None and "Connection" in delivery.last_error


def test_dead_receiver_ends_dead_after_max_attempts(db, receiver_factory, settings, t0):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver = receiver_factory([503])
    delivery = _delivery(receiver.url, t0)
    now = t0

    for _attempt in range(3):
        assert delivery_send_due(now=now) == 1
        delivery.refresh_from_db()
        now = delivery.next_attempt_at

    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("dead", 3, 503)
    assert delivery_send_due(now=now + timedelta(days=1)) == 0
    assert len(receiver.requests) == 3


def test_retry_now_gives_a_dead_delivery_one_more_attempt(db, receiver_factory, settings, t0):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    receiver = receiver_factory([500, 200])
    delivery = _delivery(receiver.url, t0)
    delivery_attempt(delivery_id=delivery.pk, now=t0)
    delivery.refresh_from_db()
    assert delivery.state == "dead"

    later = t0 + timedelta(hours=2)
    assert delivery_retry_now(delivery=delivery, now=later) is True
    assert delivery_attempt(delivery_id=delivery.pk, now=later) == "delivered"
    assert delivery_retry_now(delivery=delivery, now=later) is False  # delivered: nothing to retry


def test_inactive_subscriber_is_not_sent_to(db, receiver_factory, t0):
    receiver = receiver_factory([200])
    delivery = _delivery(receiver.url, t0)
    delivery.subscriber.is_active = False
    delivery.subscriber.save(update_fields=["is_active"])

    assert delivery_send_due(now=t0) == 0
    assert receiver.requests == []


def test_a_relay_out_of_time_leaves_the_rest_for_the_next_run(db, receiver_factory, t0):
    receiver = receiver_factory([200])
    delivery = _delivery(receiver.url, t0)

    assert delivery_send_due(now=t0, budget_seconds=0) == 0

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, receiver.requests) == ("pending", 0, [])
    assert delivery_send_due(now=t0, budget_seconds=30) == 1
