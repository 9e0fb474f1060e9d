from datetime import timedelta

import pytest

from sla.models import Deadline, DeadlineKind, Outbox, Pause
from sla.selectors import deadline_paused_total
from sla.services import deadline_fire_due, deadline_open, deadline_pause, deadline_resume

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)


@pytest.fixture
def response(subject, t0):
    return deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)


def test_pause_one_second_before_due_keeps_exactly_one_second(response, t0, queued, operator):
    # given: warned at 20:00, then waiting for the customer from 29:59
    assert deadline_fire_due(now=t0 + 20 * M) == 1
    paused = deadline_pause(deadline=response, now=t0 + 30 * M - S, reason="客户不在家", by=operator)
    assert (paused.state, paused.remaining, paused.due_at, paused.generation) == (
        Deadline.State.PAUSED,
        S,
        None,
        1,
    )
    # when: the wall-clock deadline passes while paused, then the customer answers an hour later
    assert deadline_fire_due(now=t0 + 31 * M) == 0
    resumed = deadline_resume(deadline=response, now=t0 + 30 * M + H, by=operator)
    # then: one second is left, no more and no less
    assert (resumed.state, resumed.due_at, resumed.generation) == (Deadline.State.PENDING, t0 + 30 * M + H + S, 2)
    assert deadline_fire_due(now=t0 + 30 * M + H) == 0
    assert deadline_fire_due(now=t0 + 30 * M + H + S) == 1
    pause = Pause.objects.get(deadline=response)
    assert (pause.reason, pause.by, pause.resumed_at) == ("客户不在家", operator, t0 + 30 * M + H)


def test_double_pause_neither_adds_nor_loses_time(response, t0, queued):
    deadline_pause(deadline=response, now=t0 + 10 * M, reason="first")
    again = deadline_pause(deadline=response, now=t0 + 15 * M, reason="second")

    assert (again.remaining, again.generation) == (20 * M, 1)
    assert Pause.objects.filter(deadline=response).count() == 1
    resumed = deadline_resume(deadline=response, now=t0 + 40 * M)
    assert resumed.due_at == t0 + 60 * M
    # resuming twice changes nothing either
    assert deadline_resume(deadline=response, now=t0 + 45 * M).due_at == t0 + 60 * M


def test_paused_total_equals_the_pause_rows(response, t0, queued):
    deadline_pause(deadline=response, now=t0 + 1 * M, reason="a")
    deadline_resume(deadline=response, now=t0 + 4 * M)
    deadline_pause(deadline=response, now=t0 + 6 * M, reason="b")
    resumed = deadline_resume(deadline=response, now=t0 + 13 * M)

    assert resumed.paused_total == 10 * M == deadline_paused_total(deadline=resumed)
    assert resumed.due_at == t0 + 40 * M


def test_pausing_a_clock_already_due_breaches_it(response, t0, queued):
    # the tick has not run yet, but the timestamps say the promise was already broken
    result = deadline_pause(deadline=response, now=t0 + 30 * M, reason="too late")

    assert (result.state, result.breached_at) == (Deadline.State.BREACHED, t0 + 30 * M)
    assert Outbox.objects.get(deadline=response).event == Outbox.Event.BREACH
    assert not Pause.objects.exists()


def test_warning_comes_after_resume_if_it_had_not_been_sent(response, t0, queued):
    deadline_pause(deadline=response, now=t0 + 5 * M, reason="a")
    resumed = deadline_resume(deadline=response, now=t0 + 65 * M)

    assert resumed.warn_at == t0 + 80 * M
    assert deadline_fire_due(now=t0 + 80 * M) == 1
    assert Outbox.objects.get(deadline=response).event == Outbox.Event.WARNING


def test_warning_is_not_repeated_after_resume(response, t0, queued):
    deadline_fire_due(now=t0 + 20 * M)  # warned
    deadline_pause(deadline=response, now=t0 + 21 * M, reason="a")
    resumed = deadline_resume(deadline=response, now=t0 + 31 * M)

    assert resumed.warn_at is None
    assert deadline_fire_due(now=t0 + 39 * M) == 0
