"""Several ticks against concurrent edits on real PostgreSQL: nothing fires twice, nothing deadlocks.

Four ticker threads call `deadline_fire_due` in a loop while two editor threads pause, resume, meet, recompute,
cancel and reopen clocks, each thread on its own connection with committed data. A shared clock runs 60 times
faster than the wall, so the seeded due times pass while the threads run.
"""

import random
import threading
import time
import traceback
from collections import Counter
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Count, F, Q

from sla.models import Deadline, DeadlineKind, Outbox, Pause, Policy, PolicyTarget
from sla.services import (
    deadline_cancel,
    deadline_fire_due,
    deadline_meet,
    deadline_open,
    deadline_pause,
    deadline_recompute,
    deadline_resume,
)
from tests.sla.conftest import queued_ids

pytestmark = pytest.mark.django_db(transaction=True)

State = Deadline.State
Event = Outbox.Event
KIND = DeadlineKind.OFFER_ACCEPT
CLOCKS = 300
TICKERS = 4
EDITORS = 2
RUN_FOR = 4.0  # wall seconds of concurrent ticking and editing
SPEED = 60  # one wall second is one clock minute
SPREAD = timedelta(seconds=RUN_FOR * SPEED)  # seeded due times fall inside the run
HOT = timedelta(seconds=3)  # editors mostly pick clocks due this close to now


class SharedClock:
    """The `now` every thread reads: t0 plus the scaled wall time since the start."""

    def __init__(self, t0) -> None:
        self.t0 = t0
        self.started = time.monotonic()

    def now(self):
        return self.t0 + timedelta(seconds=(time.monotonic() - self.started) * SPEED)


class Editor:
    """Edits only its own share of the clocks, mostly those falling due right now, where the tickers are.

    Each clock has one editor, so a pause is never closed by a call stamped before it (the engine refuses that, see
    test_deadline_properties.py); but a met event may be stamped up to three clock seconds before it is applied, as
    when a phone's request arrives late: it then races the tick that breaches the clock.
    """

    def __init__(self, *, subjects: list[Group], clock: SharedClock, seed: int) -> None:
        self.subject_ids = [subject.pk for subject in subjects]
        self.clock = clock
        self.random = random.Random(seed)
        self.met_in_time: set[int] = set()  # clocks the engine reported met, not breached
        self.calls: Counter[str] = Counter()

    def pick(self, now) -> Deadline:
        mine = Deadline.objects.filter(subject_id__in=self.subject_ids, kind=KIND)
        if self.random.random() < 0.7:
            hot = list(mine.filter(due_at__range=(now - HOT, now + HOT)).values_list("pk", flat=True))
            if hot:
                return Deadline.objects.get(pk=self.random.choice(hot))
        return mine.filter(subject_id=self.random.choice(self.subject_ids)).order_by("-cycle").first()

    def step(self) -> None:
        now = self.clock.now()
        deadline = self.pick(now)
        action = self.random.choices(
            ["pause", "resume", "meet", "recompute", "cancel", "reopen"], weights=[4, 4, 4, 3, 1, 2]
        )[0]
        self.calls[action] += 1
        if action == "pause":
            deadline_pause(deadline=deadline, now=now, reason="customer not home")
        elif action == "resume":
            deadline_resume(deadline=deadline, now=now)
        elif action == "meet":
            if deadline.state != State.PAUSED:  # only this editor pauses: the state read is not stale
                now -= timedelta(seconds=self.random.uniform(0, 3))
            met = deadline_meet(deadline=deadline, now=now)
            if met.state == State.MET:
                self.met_in_time.add(met.pk)
        elif action == "recompute":
            due_at = now + timedelta(seconds=self.random.uniform(-10, 60))
            deadline_recompute(deadline=deadline, now=now, due_at=due_at)
        elif action == "cancel":
            deadline_cancel(deadline=deadline, now=now)
        else:  # a new cycle once the last one stopped; the running clock otherwise
            due_at = now + timedelta(seconds=self.random.uniform(0, 60))
            deadline_open(subject=Group(pk=deadline.subject_id), kind=KIND, now=now, due_at=due_at)


def _run_threads(targets, *, seconds: float) -> list[str]:
    """Run each target in a loop on its own thread and connection until `seconds` pass; return what they raised."""
    stop = threading.Event()
    errors: list[str] = []

    def loop(target) -> None:
        try:
            while not stop.is_set():
                target()
        except BaseException:  # a deadlock, a constraint violation, a bug: report all, with their tracebacks
            errors.append(traceback.format_exc())
        finally:
            connection.close()

    threads = [threading.Thread(target=loop, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert not [thread for thread in threads if thread.is_alive()], "a thread hung (waiting on a lock?)"
    return errors


def test_ticks_racing_edits_fire_once_without_deadlock(t0):
    # given: 300 committed clocks due over the next four clock minutes (a few already due), warning a minute before
    policy, _ = Policy.objects.get_or_create(name="concurrency test", defaults={"priority": 1})
    PolicyTarget.objects.get_or_create(
        policy=policy, kind=KIND, defaults={"target": timedelta(minutes=5), "warning_lead": timedelta(minutes=1)}
    )
    subjects = Group.objects.bulk_create(Group(name=f"concurrency-subject-{i}") for i in range(CLOCKS))
    seeding = random.Random(20261126)
    for subject in subjects:
        due_at = t0 + seeding.uniform(-0.05, 1) * SPREAD
        deadline_open(subject=subject, kind=KIND, now=t0, due_at=due_at)
    clock = SharedClock(t0)
    editors = [Editor(subjects=subjects[i::EDITORS], clock=clock, seed=i) for i in range(EDITORS)]

    def tick() -> None:
        deadline_fire_due(now=clock.now(), batch_size=25)  # small batches: more claims to interleave

    # when: four tickers and two editors run at once
    # (a Mock records calls from any thread: appending to its call list is atomic)
    with mock.patch("sla.services.outbox_deliver_task.apply_async") as apply_async:
        errors = _run_threads([tick] * TICKERS + [editor.step for editor in editors], seconds=RUN_FOR)
        assert not errors, "threads raised:\n" + "\n".join(errors)
        # and one more tick after everything stopped
        final_now = clock.now()
        due_pending = set(
            Deadline.objects.filter(state=State.PENDING, due_at__lte=final_now).values_list("pk", flat=True)
        )
        deadline_fire_due(now=final_now)

    # then: every clock that was running and due is breached by that final tick
    assert list(Deadline.objects.filter(state=State.PENDING, due_at__lte=final_now).values_list("pk", flat=True)) == []
    assert set(Deadline.objects.filter(pk__in=due_pending).values_list("state", flat=True)) <= {State.BREACHED}
    # at most one breach and one warning per clock, over all its generations
    repeated = Outbox.objects.values_list("deadline", "event").annotate(rows=Count("pk")).filter(rows__gt=1)
    assert list(repeated) == []
    # a breached clock has exactly one breach, for its current generation, never early and never revoked
    breached = Deadline.objects.filter(state=State.BREACHED)
    breaches = Outbox.objects.filter(event=Event.BREACH)
    assert breaches.filter(deadline__in=breached).count() == breached.count()
    stale = breaches.filter(deadline__in=breached).exclude(generation=F("deadline__generation"))
    assert list(stale.values_list("deadline", "generation", "deadline__generation")) == []
    assert list(breached.filter(breached_at__lt=F("due_at")).values_list("pk", "due_at", "breached_at")) == []
    # a revoked breach (a met event stamped before the due time, applied after the tick) leaves a met clock, and
    # the breach belongs to the generation before the revocation
    revoked = Outbox.objects.filter(event=Event.BREACH_REVOKED)
    wrong = revoked.filter(~Q(deadline__state=State.MET) | ~Q(generation=F("deadline__generation")))
    assert list(wrong.values_list("deadline", "generation", "deadline__state", "deadline__generation")) == []
    for deadline_id, generation in revoked.values_list("deadline", "generation"):
        breaches.get(deadline=deadline_id, generation=generation - 1)
    # so breach rows = breached clocks + revoked breaches: no other clock has one
    assert breaches.count() == breached.count() + revoked.count()
    # a clock the engine reported met is never breached later
    met_in_time = set().union(*(editor.met_in_time for editor in editors))
    assert set(Deadline.objects.filter(pk__in=met_in_time).values_list("state", flat=True)) <= {State.MET}
    # paused_total equals the closed pause rows; only a paused clock has an open one
    for deadline in Deadline.objects.prefetch_related("pauses"):
        closed = [pause.resumed_at - pause.paused_at for pause in deadline.pauses.all() if pause.resumed_at]
        assert deadline.paused_total == sum(closed, timedelta(0)), deadline.pk
    open_pauses = Pause.objects.filter(resumed_at__isnull=True)
    assert sorted(open_pauses.values_list("deadline", flat=True)) == sorted(
        Deadline.objects.filter(state=State.PAUSED).values_list("pk", flat=True)
    )
    # every fired event reached the broker (the relay sends a slow one again)
    assert set(queued_ids(apply_async)) == set(Outbox.objects.values_list("pk", flat=True))
    # and the run really raced: breached by ticks and edits, warned, paused and resumed, revoked
    # (loose bounds: a busy machine runs fewer rounds; an idle one breaches ~170, warns ~250, edits ~400 times each)
    assert breached.count() > CLOCKS // 4
    assert Outbox.objects.filter(event=Event.WARNING).count() > CLOCKS // 4
    assert Pause.objects.filter(resumed_at__isnull=False).exists()
    assert all(sum(editor.calls.values()) > 30 for editor in editors)
