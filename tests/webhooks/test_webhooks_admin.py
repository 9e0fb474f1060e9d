from unittest import mock

import pytest
from django.urls import reverse

from webhooks.models import Delivery, EventType, Subscriber
from webhooks.services import delivery_attempt, subscriber_create, subscriber_test_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, administrator):
    administrator.is_superuser = True
    administrator.save(update_fields=["is_superuser"])
    client.force_login(administrator)
    return client


def test_adding_a_subscriber_shows_its_secret_once(superuser_client):
    response = superuser_client.post(
        reverse("admin:webhooks_subscriber_add"),
        {
            "name": "品牌售后平台",
            "url": "https://hooks.example.cn/lock",
            "event_types": ["ticket.created"],
            "is_active": "on",
        },
    )

    subscriber = Subscriber.objects.get()
    assert (subscriber.url, subscriber.event_types) == ("https://hooks.example.cn/lock", ["ticket.created"])
    assert subscriber.secret.startswith("whsec_") and len(subscriber.secret) > 40
    assert f'data-testid="webhook-secret">{subscriber.secret}<' in response.content.decode()
    listing = superuser_client.get(reverse("admin:webhooks_subscriber_changelist")).content.decode()
    change = superuser_client.get(reverse("admin:webhooks_subscriber_change", args=[subscriber.pk])).content.decode()
    assert subscriber.secret not in listing and subscriber.secret not in change
    assert f"…{subscriber.secret[-4:]}" in listing


def test_rotating_shows_the_new_secret_and_replaces_the_old(superuser_client):
    subscriber = subscriber_create(name="CRM", url="https://crm.example.cn/", event_types=[])
    old = subscriber.secret

    response = superuser_client.post(
        reverse("admin:webhooks_subscriber_changelist"),
        {"action": "rotate_secret", "_selected_action": [subscriber.pk]},
    )

    subscriber.refresh_from_db()
    assert subscriber.secret != old
    assert subscriber.secret in response.content.decode()


def test_send_test_event_queues_a_delivery_to_that_subscriber(superuser_client, django_capture_on_commit_callbacks):
    subscriber = subscriber_create(name="CRM", url="https://crm.example.cn/", event_types=[])

    with (
        mock.patch("webhooks.services.delivery_attempt_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        superuser_client.post(
            reverse("admin:webhooks_subscriber_changelist"),
            {"action": "send_test_event", "_selected_action": [subscriber.pk]},
        )

    delivery = Delivery.objects.get()
    assert (delivery.subscriber, delivery.event.event_type, delivery.state) == (subscriber, EventType.TEST, "pending")
    delay.assert_called_once_with(delivery_id=delivery.pk)


def test_delivery_log_filters_and_retries_a_dead_delivery(superuser_client, settings, t0):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    subscriber = subscriber_create(name="CRM", url="http://127.0.0.1:9/closed", event_types=[])
    dead = subscriber_test_send(subscriber=subscriber, now=t0).deliveries.get()
    pending = subscriber_test_send(subscriber=subscriber, now=t0).deliveries.get()
    delivery_attempt(delivery_id=dead.pk, now=t0)
    changelist = reverse("admin:webhooks_delivery_changelist")

    dead_only = superuser_client.get(changelist, {"state__exact": "dead", "subscriber__id__exact": subscriber.pk})
    assert [d.pk for d in dead_only.context["cl"].result_list] == [dead.pk]
    by_type = superuser_client.get(changelist, {"event__event_type": "webhook.test"})
    assert {d.pk for d in by_type.context["cl"].result_list} == {dead.pk, pending.pk}
    assert superuser_client.get(reverse("admin:webhooks_delivery_change", args=[dead.pk])).status_code == 200

    with mock.patch("webhooks.services.delivery_attempt_task.delay"):
        superuser_client.post(changelist, {"action": "retry_now", "_selected_action": [dead.pk]})

    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == ("failed", 1)


def test_deliveries_cannot_be_added_or_edited(superuser_client, t0):
    subscriber = subscriber_create(name="CRM", url="http://127.0.0.1:9/", event_types=[])
    delivery = subscriber_test_send(subscriber=subscriber, now=t0).deliveries.get()

    assert superuser_client.get(reverse("admin:webhooks_delivery_add")).status_code == 403
    superuser_client.post(reverse("admin:webhooks_delivery_change", args=[delivery.pk]), {"state": "delivered"})
    delivery.refresh_from_db()
    assert delivery.state == "pending"
