from datetime import timedelta

import pytest

from sla.models import Deadline, DeadlineKind, Heartbeat, Outbox
from sla.services import DELIVER_QUEUE, RELAY_AFTER, deadline_fire_due, deadline_open
from sla.tasks import outbox_deliver_task
from tests.sla.conftest import queued_ids

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
M = timedelta(minutes=1)


@pytest.fixture
def response(subject, t0):
    return deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)


def test_nothing_fires_at_29_59(response, t0, queued, django_capture_on_commit_callbacks):
    # given: 10 s past the warning, one second before the 30-minute response deadline, the warning already sent
    deadline_fire_due(now=t0 + 20 * M)
    Outbox.objects.update(sent_at=t0 + 20 * M)
    queued.reset_mock()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        fired = deadline_fire_due(now=t0 + 30 * M - S)
    # then
    assert fired == 0
    response.refresh_from_db(fields=["state", "breached_at"])
    assert (response.state, response.breached_at) == (Deadline.State.PENDING, None)
    assert not queued.called


def test_breaches_exactly_once_at_30_00(response, t0, queued, django_capture_on_commit_callbacks):
    due = t0 + 30 * M
    assert response.due_at == due
    # when
    with django_capture_on_commit_callbacks(execute=True):
        fired = deadline_fire_due(now=due)
    # then
    assert fired == 1
    response.refresh_from_db(fields=["state", "breached_at"])
    assert (response.state, response.breached_at) == (Deadline.State.BREACHED, due)
    breach = Outbox.objects.get(deadline=response, event=Outbox.Event.BREACH)
    assert queued_ids(queued) == [breach.pk]
    # and a second sweep changes nothing
    queued.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        assert deadline_fire_due(now=due + S) == 0
    assert Outbox.objects.filter(deadline=response).count() == 1
    assert not queued.called


def test_warns_at_20_minutes_then_breaches_at_30(response, t0, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert deadline_fire_due(now=t0 + 20 * M - S) == 0
        assert deadline_fire_due(now=t0 + 20 * M) == 1
        Outbox.objects.update(sent_at=t0 + 20 * M)  # delivered
        assert deadline_fire_due(now=t0 + 25 * M) == 0
        assert deadline_fire_due(now=t0 + 30 * M) == 1

    response.refresh_from_db()
    assert response.warned_at == t0 + 20 * M
    events = list(Outbox.objects.filter(deadline=response).order_by("pk").values_list("event", "created_at"))
    assert events == [(Outbox.Event.WARNING, t0 + 20 * M), (Outbox.Event.BREACH, t0 + 30 * M)]
    assert len(queued_ids(queued)) == 2


def test_a_clock_found_late_gets_its_breach_not_a_late_warning(response, t0, queued):
    # given: the tick was down from minute 19 to minute 31
    assert deadline_fire_due(now=t0 + 31 * M) == 1

    assert list(Outbox.objects.filter(deadline=response).values_list("event", flat=True)) == [Outbox.Event.BREACH]


def test_fires_every_due_clock_in_batches(t0, queued, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Group

    groups = Group.objects.bulk_create(Group(name=f"g{i}") for i in range(1200))
    for group in groups:
        deadline_open(subject=group, kind=DeadlineKind.OFFER_ACCEPT, now=t0)
    with django_capture_on_commit_callbacks(execute=True):
        fired = deadline_fire_due(now=t0 + 5 * M, batch_size=500)

    assert fired == 1200
    assert Deadline.objects.filter(state=Deadline.State.BREACHED).count() == 1200
    assert len(set(queued_ids(queued))) == 1200


def test_other_clocks_are_untouched(response, other_subject, t0, queued):
    later = deadline_open(subject=other_subject, kind=DeadlineKind.RESPONSE, now=t0 + 10 * M)

    deadline_fire_due(now=t0 + 30 * M)

    later.refresh_from_db(fields=["state"])
    assert later.state == Deadline.State.PENDING


@pytest.fixture
def empty_delivery_queue():
    """The relay runs only when the broker's delivery queue is empty: start from an empty one (messages other tests
    published for real, browser tests above all, would otherwise stand in for a backlog)."""
    with outbox_deliver_task.app.connection_for_write() as broker:
        broker.default_channel.queue_purge(DELIVER_QUEUE)


def test_relays_undelivered_events_after_30_seconds(
    response, t0, queued, django_capture_on_commit_callbacks, empty_delivery_queue
):
    # given: the breach was queued, but the broker lost it (a flushed Redis): the row is still unsent
    deadline_fire_due(now=t0 + 30 * M)
    breach = Outbox.objects.get(deadline=response)
    queued.reset_mock()
    # when: ticks run while it is young, then once it is older than RELAY_AFTER
    with django_capture_on_commit_callbacks(execute=True):
        deadline_fire_due(now=t0 + 30 * M + RELAY_AFTER - S)
    assert not queued.called
    with django_capture_on_commit_callbacks(execute=True):
        deadline_fire_due(now=t0 + 30 * M + RELAY_AFTER + S)
    # then: queued again once, and not again on the next tick
    assert queued_ids(queued) == [breach.pk]
    with django_capture_on_commit_callbacks(execute=True):
        deadline_fire_due(now=t0 + 30 * M + RELAY_AFTER + 2 * S)
    assert queued_ids(queued) == [breach.pk]


def test_records_a_heartbeat(t0, queued):
    deadline_fire_due(now=t0)
    deadline_fire_due(now=t0 + S)

    assert Heartbeat.objects.get(name="sla_tick").beat_at == t0 + S


def test_broker_down_does_not_lose_the_breach(response, t0, django_capture_on_commit_callbacks):
    from unittest import mock

    from kombu.exceptions import OperationalError

    with (
        mock.patch("sla.services.outbox_deliver_task.apply_async", side_effect=OperationalError("redis down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert deadline_fire_due(now=t0 + 30 * M) == 1

    response.refresh_from_db(fields=["state"])
    assert response.state == Deadline.State.BREACHED
    assert Outbox.objects.get(deadline=response).sent_at is None  # the relay will queue it again


def test_delivery_is_queued_in_chunks(t0, queued, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Group

    from sla.services import DELIVER_CHUNK

    for group in Group.objects.bulk_create(Group(name=f"c{i}") for i in range(60)):
        deadline_open(subject=group, kind=DeadlineKind.OFFER_ACCEPT, now=t0)
    with django_capture_on_commit_callbacks(execute=True):
        deadline_fire_due(now=t0 + 5 * M)

    chunks = [call.kwargs["kwargs"]["outbox_ids"] for call in queued.call_args_list]
    assert [len(chunk) for chunk in chunks] == [DELIVER_CHUNK, DELIVER_CHUNK, 60 - 2 * DELIVER_CHUNK]
    assert sorted(pk for chunk in chunks for pk in chunk) == sorted(Outbox.objects.values_list("pk", flat=True))


@pytest.fixture
def delivery_backlog(settings):
    """Put a message in the real broker's sla_deliver queue (as a busy worker pool would leave it)."""
    import redis
    from django.conf import settings as django_settings

    from config.settings import redis_url_with_db

    client = redis.Redis.from_url(redis_url_with_db(django_settings.REDIS_URL, django_settings.REDIS_DB_BASE))
    client.lpush("sla_deliver", b"{}")
    yield
    client.delete("sla_deliver")


def test_no_relay_while_deliveries_are_still_queued(
    response, t0, queued, delivery_backlog, django_capture_on_commit_callbacks
):
    deadline_fire_due(now=t0 + 30 * M)
    queued.reset_mock()

    with django_capture_on_commit_callbacks(execute=True):
        deadline_fire_due(now=t0 + 30 * M + RELAY_AFTER + S)

    # the row was not lost, only waiting behind others: queueing it again would lengthen the backlog
    assert not queued.called
    assert Outbox.objects.get(deadline=response).sent_at is None
