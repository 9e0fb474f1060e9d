from datetime import timedelta

import pytest
import time_machine

from sla import registry
from sla.exceptions import HandlerFailed
from sla.models import DeadlineKind, Outbox
from sla.services import deadline_fire_due, deadline_open, outbox_deliver, outbox_deliver_many

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


@pytest.fixture
def breach(subject, t0, queued):
    deadline = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)
    deadline_fire_due(now=t0 + 30 * M)
    return Outbox.objects.get(deadline=deadline, event=Outbox.Event.BREACH)


def test_runs_the_handlers_once_and_marks_the_event_sent(breach, t0, recorded_handlers):
    delivered_at = t0 + 30 * M + timedelta(milliseconds=400)
    with time_machine.travel(delivered_at, tick=False):
        assert outbox_deliver(outbox_id=breach.pk) is True

    assert recorded_handlers == [("breach", breach.deadline_id, 0)]
    breach.refresh_from_db(fields=["sent_at", "attempts"])
    assert (breach.sent_at, breach.attempts) == (delivered_at, 1)
    # a redelivered message (lost ack, relay) does nothing
    assert outbox_deliver(outbox_id=breach.pk) is False
    assert len(recorded_handlers) == 1


def test_handlers_of_other_clocks_do_not_run(breach):
    calls = []
    handlers = registry.register(DeadlineKind.OFFER_ACCEPT, on_breach=lambda **kwargs: calls.append(kwargs))
    try:
        outbox_deliver(outbox_id=breach.pk)
    finally:
        registry.unregister(DeadlineKind.OFFER_ACCEPT, handlers)

    assert calls == []


def test_a_failing_handler_leaves_the_event_for_the_relay(breach):
    def explode(*, deadline, outbox):
        raise ConnectionError("SMS gateway timeout")

    handlers = registry.register(DeadlineKind.RESPONSE, on_breach=explode)
    try:
        with pytest.raises(HandlerFailed) as failure:
            outbox_deliver(outbox_id=breach.pk)
    finally:
        registry.unregister(DeadlineKind.RESPONSE, handlers)

    assert isinstance(failure.value.__cause__, ConnectionError)
    breach.refresh_from_db()
    assert (breach.sent_at, breach.attempts) == (None, 1)
    assert "SMS gateway timeout" in breach.last_error


def test_handler_database_writes_commit_with_the_sent_mark(breach):
    from django.contrib.auth.models import Group

    def record(*, deadline, outbox):
        Group.objects.create(name=f"handled-{outbox.pk}")

    handlers = registry.register(DeadlineKind.RESPONSE, on_breach=record)
    try:
        outbox_deliver(outbox_id=breach.pk)
        outbox_deliver(outbox_id=breach.pk)
    finally:
        registry.unregister(DeadlineKind.RESPONSE, handlers)

    assert Group.objects.filter(name=f"handled-{breach.pk}").count() == 1


def test_one_failing_event_does_not_hold_up_the_rest_of_the_chunk(subject, other_subject, t0, queued):
    first = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)
    second = deadline_open(subject=other_subject, kind=DeadlineKind.RESPONSE, now=t0)
    deadline_fire_due(now=t0 + 30 * M)
    rows = {o.deadline_id: o.pk for o in Outbox.objects.filter(event=Outbox.Event.BREACH)}

    def fail_for_first(*, deadline, outbox):
        if deadline.pk == first.pk:
            raise TimeoutError("push service down")

    handlers = registry.register(DeadlineKind.RESPONSE, on_breach=fail_for_first)
    try:
        delivered = outbox_deliver_many(outbox_ids=[rows[first.pk], rows[second.pk]])
    finally:
        registry.unregister(DeadlineKind.RESPONSE, handlers)

    assert delivered == 1
    assert Outbox.objects.get(pk=rows[first.pk]).sent_at is None
    assert Outbox.objects.get(pk=rows[second.pk]).sent_at is not None
