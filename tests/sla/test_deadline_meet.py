from datetime import timedelta

import pytest

from sla.models import Deadline, DeadlineKind, Outbox
from sla.services import deadline_cancel, deadline_fire_due, deadline_meet, deadline_open, deadline_pause

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
MS = timedelta(milliseconds=1)
M = timedelta(minutes=1)


@pytest.fixture
def response(subject, t0):
    return deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)


def test_met_before_due_is_never_breached(response, t0, queued):
    met = deadline_meet(deadline=response, now=t0 + 29 * M)

    assert (met.state, met.met_at) == (Deadline.State.MET, t0 + 29 * M)
    assert deadline_fire_due(now=t0 + 31 * M) == 0
    assert not Outbox.objects.exists()


def test_met_at_the_due_instant_is_a_breach_reported_once(response, t0, queued):
    # the tick has not come round yet: the met event itself records the breach
    met = deadline_meet(deadline=response, now=t0 + 30 * M)

    assert (met.state, met.met_at, met.breached_at) == (Deadline.State.BREACHED, t0 + 30 * M, t0 + 30 * M)
    assert deadline_fire_due(now=t0 + 30 * M + S) == 0
    assert Outbox.objects.filter(deadline=response, event=Outbox.Event.BREACH).count() == 1


def test_met_event_committed_after_the_tick_revokes_the_breach(response, t0, queued, recorded_handlers):
    # given: the technician responded 300 ms before the deadline, but the tick (200 ms after it) committed first
    due = t0 + 30 * M
    assert deadline_fire_due(now=due + 200 * MS) == 1
    # when
    met = deadline_meet(deadline=response, now=due - 300 * MS)
    # then: the timestamps decide
    assert (met.state, met.met_at, met.breached_at, met.generation) == (Deadline.State.MET, due - 300 * MS, None, 1)
    events = list(Outbox.objects.filter(deadline=response).order_by("pk").values_list("event", "generation"))
    assert events == [(Outbox.Event.BREACH, 0), (Outbox.Event.BREACH_REVOKED, 1)]


def test_met_late_stays_breached_and_records_the_time(response, t0, queued):
    deadline_fire_due(now=t0 + 30 * M)

    met = deadline_meet(deadline=response, now=t0 + 45 * M)

    assert (met.state, met.met_at) == (Deadline.State.BREACHED, t0 + 45 * M)
    assert Outbox.objects.filter(deadline=response).count() == 1


def test_met_while_paused_closes_the_pause(response, t0, queued):
    deadline_pause(deadline=response, now=t0 + 10 * M, reason="a")

    met = deadline_meet(deadline=response, now=t0 + 50 * M)

    assert (met.state, met.paused_total) == (Deadline.State.MET, 40 * M)
    assert met.pauses.get().resumed_at == t0 + 50 * M


def test_meeting_twice_changes_nothing(response, t0, queued):
    deadline_meet(deadline=response, now=t0 + M)

    again = deadline_meet(deadline=response, now=t0 + 2 * M)

    assert (again.state, again.met_at) == (Deadline.State.MET, t0 + M)


def test_cancelled_clock_never_fires(response, t0, queued):
    cancelled = deadline_cancel(deadline=response, now=t0 + M)

    assert (cancelled.state, cancelled.cancelled_at, cancelled.due_at) == (Deadline.State.CANCELLED, t0 + M, None)
    assert deadline_fire_due(now=t0 + 31 * M) == 0
    assert deadline_meet(deadline=response, now=t0 + 2 * M).state == Deadline.State.CANCELLED
