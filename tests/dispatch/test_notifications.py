from datetime import timedelta
from unittest import mock

import pytest

from dispatch.models import Notification
from dispatch.notify import NotificationFailed
from dispatch.services import (
    notification_relay,
    notification_send,
    ticket_complete,
    ticket_create,
    ticket_resume,
    ticket_wait_customer,
)
from tests.dispatch.factories import job_through

pytestmark = pytest.mark.django_db

SENT = []


class RecordingBackend:
    def send(self, *, phone, body, idempotency_key):
        SENT.append((phone, body, idempotency_key))


class DownBackend:
    def send(self, *, phone, body, idempotency_key):
        raise NotificationFailed("gateway 503")


@pytest.fixture
def delay():
    with mock.patch("dispatch.services.notification_send_task.delay") as patched:
        yield patched


@pytest.fixture
def recording(settings):
    SENT.clear()
    settings.NOTIFICATION_BACKEND = "tests.dispatch.test_notifications.RecordingBackend"
    return SENT


def test_a_new_ticket_tells_the_customer_after_commit(
    ticket_input, operator, delay, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_create(**ticket_input, by=operator)

    notification = Notification.objects.get(ticket=ticket)
    assert notification.kind == "received" and ticket.number in notification.body
    assert notification.body.startswith("【智能锁维修】")
    delay.assert_called_once_with(notification_id=notification.pk)


def test_assigned_on_the_way_and_completed_are_sent_once_each(ticket_input, operator, delay, t0, queued, wang):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    ticket = job_through(ticket, technician=wang, operator=operator, at=t0, until="on_site")
    ticket = ticket_wait_customer(ticket=ticket, by=operator, reason="客户临时外出", now=t0)
    ticket = ticket_resume(ticket=ticket, by=operator, now=t0)
    ticket = ticket_complete(ticket=ticket, by=wang.user, work_done="更换电池", now=t0)

    kinds = list(Notification.objects.filter(ticket=ticket).order_by("pk").values_list("kind", flat=True))
    assert kinds == ["received", "assigned", "en_route", "completed"]


def test_sending_marks_it_sent_and_never_sends_twice(ticket_input, operator, delay, recording):
    ticket = ticket_create(**ticket_input, by=operator)
    notification = Notification.objects.get(ticket=ticket)

    assert notification_send(notification_id=notification.pk) is True
    assert notification_send(notification_id=notification.pk) is False

    assert recording == [("+8613812345678", notification.body, f"notification-{notification.pk}")]
    notification.refresh_from_db()
    assert notification.sent_at is not None and notification.attempts == 1


def test_a_provider_failure_is_recorded_and_retried(settings, ticket_input, operator, delay, recording):
    ticket = ticket_create(**ticket_input, by=operator)
    notification = Notification.objects.get(ticket=ticket)
    settings.NOTIFICATION_BACKEND = "tests.dispatch.test_notifications.DownBackend"

    with pytest.raises(NotificationFailed):
        notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert (notification.sent_at, notification.attempts) == (None, 1)
    assert "gateway 503" in notification.last_error
    # the provider is back: the retry sends it
    settings.NOTIFICATION_BACKEND = "tests.dispatch.test_notifications.RecordingBackend"
    assert notification_send(notification_id=notification.pk) is True
    assert len(recording) == 1


def test_relay_requeues_what_was_never_sent(ticket_input, operator, delay, t0, django_capture_on_commit_callbacks):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    notification = Notification.objects.get(ticket=ticket)
    delay.reset_mock()

    with django_capture_on_commit_callbacks(execute=True):
        assert notification_relay(now=t0 + timedelta(seconds=60)) == 0
        assert notification_relay(now=t0 + timedelta(seconds=121)) == 1
        assert notification_relay(now=t0 + timedelta(seconds=122)) == 0

    delay.assert_called_once_with(notification_id=notification.pk)


def test_broker_down_does_not_fail_the_call(ticket_input, operator, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    with (
        mock.patch("dispatch.services.notification_send_task.delay", side_effect=OperationalError("redis down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ticket = ticket_create(**ticket_input, by=operator)

    # the ticket stands; the message waits for the relay
    assert Notification.objects.get(ticket=ticket).sent_at is None
