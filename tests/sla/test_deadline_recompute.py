from datetime import timedelta

import pytest

from sla.models import Deadline, DeadlineKind, Policy, PolicyTarget
from sla.services import deadline_open, deadline_pause, deadline_recompute, deadline_resume, policy_apply

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


@pytest.fixture
def default_response_target():
    return PolicyTarget.objects.get(policy__name="全国默认 Nationwide default", kind=DeadlineKind.RESPONSE)


def test_policy_change_moves_running_clocks(subject, t0, default_response_target):
    response = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)
    # when: at minute 10 the business relaxes the promise to 45 minutes, warning 10 minutes before
    default_response_target.target = 45 * M
    default_response_target.save()
    changed = policy_apply(policy=default_response_target.policy, now=t0 + 10 * M)
    # then
    assert changed == 1
    response.refresh_from_db()
    assert (response.due_at, response.warn_at, response.generation) == (t0 + 45 * M, t0 + 35 * M, 1)


def test_policy_change_keeps_paused_time_out_of_the_clock(subject, t0, default_response_target):
    response = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)
    deadline_pause(deadline=response, now=t0 + 5 * M, reason="a")
    deadline_resume(deadline=response, now=t0 + 15 * M)
    deadline_pause(deadline=response, now=t0 + 18 * M, reason="b")
    default_response_target.target = 45 * M
    default_response_target.save()

    policy_apply(policy=default_response_target.policy, now=t0 + 20 * M)

    # 8 minutes ran before the second pause: 37 of the 45 are left, kept while paused
    response.refresh_from_db()
    assert (response.state, response.remaining) == (Deadline.State.PAUSED, 37 * M)
    assert deadline_resume(deadline=response, now=t0 + 60 * M).due_at == t0 + 97 * M


def test_appointment_clocks_ignore_policy_changes(subject, t0):
    arrival = deadline_open(subject=subject, kind=DeadlineKind.ARRIVAL, now=t0, due_at=t0 + 180 * M)
    target = PolicyTarget.objects.get(policy__name="全国默认 Nationwide default", kind=DeadlineKind.ARRIVAL)
    target.target = 60 * M
    target.save()

    assert policy_apply(policy=target.policy, now=t0 + M) == 0
    arrival.refresh_from_db(fields=["due_at"])
    assert arrival.due_at == t0 + 180 * M


def test_moving_an_appointment(subject, t0):
    arrival = deadline_open(subject=subject, kind=DeadlineKind.ARRIVAL, now=t0, due_at=t0 + 180 * M)

    moved = deadline_recompute(deadline=arrival, now=t0 + 10 * M, due_at=t0 + 240 * M)

    assert (moved.due_at, moved.warn_at, moved.generation) == (t0 + 240 * M, t0 + 225 * M, 1)


def test_a_more_specific_new_policy_takes_over_on_recompute(subject, t0):
    response = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0, division_code="141032")
    faster = Policy.objects.create(name="临汾", division_id="141000")
    PolicyTarget.objects.create(policy=faster, kind=DeadlineKind.RESPONSE, target=20 * M)

    recomputed = deadline_recompute(deadline=response, now=t0 + 5 * M)

    assert (recomputed.policy, recomputed.due_at, recomputed.warn_at) == (faster, t0 + 20 * M, None)


def test_closed_clocks_are_not_recomputed(subject, t0, default_response_target, queued):
    from sla.services import deadline_meet

    response = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)
    deadline_meet(deadline=response, now=t0 + M)
    default_response_target.target = 45 * M
    default_response_target.save()

    assert policy_apply(policy=default_response_target.policy, now=t0 + 2 * M) == 0
