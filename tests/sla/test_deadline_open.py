from datetime import timedelta

import pytest

from sla.exceptions import NoPolicyTarget
from sla.models import Deadline, DeadlineKind, Policy, PolicyTarget
from sla.services import deadline_meet, deadline_open

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)


def test_response_clock_runs_30_minutes_and_warns_at_20(subject, t0):
    deadline = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)

    assert (deadline.state, deadline.cycle, deadline.generation) == (Deadline.State.PENDING, 1, 0)
    assert (deadline.started_at, deadline.due_at, deadline.warn_at) == (t0, t0 + 30 * M, t0 + 20 * M)
    assert deadline.policy.name == "全国默认 Nationwide default"


@pytest.mark.parametrize(
    ("kind", "target"),
    [
        (DeadlineKind.OFFER_ACCEPT, timedelta(minutes=5)),
        (DeadlineKind.ARRIVAL, timedelta(minutes=90)),
        (DeadlineKind.RESOLUTION, timedelta(hours=24)),
        (DeadlineKind.COMPLAINT_ACKNOWLEDGE, timedelta(minutes=60)),
        (DeadlineKind.TECHNICIAN_STATEMENT, timedelta(hours=24)),
        (DeadlineKind.COMPLAINT_DECISION, timedelta(hours=48)),
    ],
)
def test_default_targets_from_the_design(subject, t0, kind, target):
    assert deadline_open(subject=subject, kind=kind, now=t0).due_at == t0 + target


def test_opening_a_running_clock_again_returns_it(subject, t0):
    first = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)

    again = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0 + M)

    assert again.pk == first.pk and again.due_at == t0 + 30 * M
    assert Deadline.objects.count() == 1


def test_a_stopped_clock_is_not_reopened_a_new_cycle_starts(subject, t0):
    first = deadline_open(subject=subject, kind=DeadlineKind.OFFER_ACCEPT, now=t0)
    deadline_meet(deadline=first, now=t0 + M)

    second = deadline_open(subject=subject, kind=DeadlineKind.OFFER_ACCEPT, now=t0 + 2 * M)

    assert (second.cycle, second.due_at) == (2, t0 + 7 * M)
    first.refresh_from_db(fields=["state"])
    assert first.state == Deadline.State.MET


def test_an_appointment_fixes_the_due_time(subject, t0):
    appointment = t0 + timedelta(hours=3)

    deadline = deadline_open(subject=subject, kind=DeadlineKind.ARRIVAL, now=t0, due_at=appointment)

    assert (deadline.due_at, deadline.is_due_fixed, deadline.warn_at) == (appointment, True, appointment - 15 * M)


def test_the_most_specific_policy_wins(subject, other_subject, t0):
    # given: a faster response promise for 山西省, and a still faster one for urgent lock-outs in 永和县
    shanxi = Policy.objects.create(name="山西", division_id="140000")
    PolicyTarget.objects.create(policy=shanxi, kind=DeadlineKind.RESPONSE, target=20 * M, warning_lead=5 * M)
    yonghe = Policy.objects.create(name="永和 urgent", division_id="141032", urgency="urgent")
    PolicyTarget.objects.create(policy=yonghe, kind=DeadlineKind.RESPONSE, target=15 * M)
    # when
    township = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0, division_code="141032100")
    urgent = deadline_open(
        subject=other_subject, kind=DeadlineKind.RESPONSE, now=t0, division_code="141032100", urgency="urgent"
    )
    # then
    assert (township.policy, township.due_at, township.warn_at) == (shanxi, t0 + 20 * M, t0 + 15 * M)
    assert (urgent.policy, urgent.due_at, urgent.warn_at) == (yonghe, t0 + 15 * M, None)


def test_policy_elsewhere_does_not_apply(subject, t0):
    beijing = Policy.objects.create(name="北京", division_id="110000")
    PolicyTarget.objects.create(policy=beijing, kind=DeadlineKind.RESPONSE, target=10 * M)

    deadline = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0, division_code="141032")

    assert deadline.due_at == t0 + 30 * M


def test_without_an_active_policy_nothing_starts(subject, t0):
    Policy.objects.update(is_active=False)

    with pytest.raises(NoPolicyTarget):
        deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0)

    assert not Deadline.objects.exists()
