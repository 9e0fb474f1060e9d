"""Deadlines fire on time and exactly once through a real beat, real workers, real Redis and PostgreSQL while the
workers are killed with SIGKILL and Redis is flushed (the chaos test of shared/notes/sla-timers.md §4)."""

import statistics
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
import redis
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from sla.models import Deadline, Heartbeat, Outbox
from sla.selectors import TICK_HEARTBEAT
from sla.services import RELAY_AFTER, deadline_open
from tests.integration.chaos_app import HANDLED_PREFIX, KIND

pytestmark = pytest.mark.django_db(transaction=True)

TICK = timedelta(seconds=1)  # SLA_TICK_SECONDS the fleet runs with
SPREAD = 200  # clocks due evenly over 3..20 s
HERD = 100  # clocks due together at 6.5 s: their deliveries are still queued or running when the workers die
KILL_AT, RESTART_AT, FLUSH_AT = 8.0, 10.0, 12.0  # seconds after t0
# t0 lies this far after seeding starts: opening 300 clocks through the service takes a few seconds on a busy box.
SEEDING_BUDGET = timedelta(seconds=2)
GIVE_UP_AT = 70.0


def _seconds(value: timedelta) -> float:
    return value.total_seconds()


def _summary(values: list[float]) -> str:
    p99 = statistics.quantiles(values, n=100, method="inclusive")[98]
    return f"p50 {statistics.median(values):.2f} s, p99 {p99:.2f} s, max {max(values):.2f} s"


def _wait_for(condition, *, timeout: float, what: str) -> None:
    give_up = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        time.sleep(0.1)


def _handler_runs() -> list[tuple[int, datetime]]:
    """Return (outbox pk, handler start) for every committed run of the chaos app's breach handler."""
    runs = []
    for name in Group.objects.filter(name__startswith=HANDLED_PREFIX).values_list("name", flat=True):
        outbox_pk, ran_at = name.removeprefix(HANDLED_PREFIX).split("@", 1)
        runs.append((int(outbox_pk), datetime.fromisoformat(ran_at)))
    return runs


def _all_delivered(expected: int) -> bool:
    return (
        Deadline.objects.filter(kind=KIND, state=Deadline.State.BREACHED).count() == expected
        and Outbox.objects.filter(deadline__kind=KIND, sent_at__isnull=False).count() >= expected
        and not Outbox.objects.filter(deadline__kind=KIND, sent_at__isnull=True).exists()
    )


def test_every_deadline_fires_once_through_worker_kill_and_redis_flush(fleet, redis_url):
    for name in ("beat", "tick", "worker"):
        fleet.start(name)
    # A clock due at once goes through beat, tick, broker, delivery and handler: the pipeline is up.
    canary = deadline_open(
        subject=Group.objects.create(name="chaos-canary"), kind=KIND, now=timezone.now(), due_at=timezone.now()
    )
    _wait_for(
        lambda: Outbox.objects.filter(deadline=canary, sent_at__isnull=False).exists(),
        timeout=40,
        what="the canary clock to be breached and delivered",
    )

    # given: 300 clocks due over the next 20 s, committed where the workers can see them
    subjects = Group.objects.bulk_create(Group(name=f"chaos-subject-{i}") for i in range(SPREAD + HERD))
    offsets = [3 + 17 * i / (SPREAD - 1) for i in range(SPREAD)] + [6.5] * HERD
    t0 = timezone.now() + SEEDING_BUDGET
    with transaction.atomic():
        for subject, offset in zip(subjects, offsets, strict=True):
            deadline_open(subject=subject, kind=KIND, now=t0, due_at=t0 + timedelta(seconds=offset))
    assert timezone.now() < t0 + timedelta(seconds=min(offsets)), "seeding ended after the first clock fell due"

    # when: both workers are killed at 8 s and restarted at 10 s, and Redis loses everything at 12 s
    broker = redis.Redis.from_url(redis_url)
    while timezone.now() < t0:
        time.sleep(0.05)
    chaos = [(KILL_AT, "kill"), (RESTART_AT, "restart"), (FLUSH_AT, "flush")]
    killed_at = restarted_at = tick_back_at = None
    while chaos or tick_back_at is None or not _all_delivered(len(offsets) + 1):
        elapsed = _seconds(timezone.now() - t0)
        assert elapsed < GIVE_UP_AT, "gave up waiting for every clock to be breached and delivered"
        if chaos and elapsed >= chaos[0][0]:
            _, action = chaos.pop(0)
            if action == "kill":
                fleet.kill("tick")
                fleet.kill("worker")
                killed_at = timezone.now()
            elif action == "restart":
                fleet.start("tick")
                fleet.start("worker")
                restarted_at = timezone.now()
            else:
                broker.flushall()
        if restarted_at is not None and tick_back_at is None:
            beat_at = Heartbeat.objects.filter(name=TICK_HEARTBEAT).values_list("beat_at", flat=True).first()
            if beat_at > restarted_at:
                tick_back_at = beat_at
        time.sleep(0.1)
    finished_at = timezone.now()

    # then: every clock breached once, one breach event each, every event delivered, every handler effect once
    deadlines = {d.pk: d for d in Deadline.objects.filter(kind=KIND).exclude(pk=canary.pk)}
    assert len(deadlines) == len(offsets)
    assert {d.state for d in deadlines.values()} == {Deadline.State.BREACHED}
    outbox = list(Outbox.objects.filter(deadline__kind=KIND).exclude(deadline=canary))
    assert Counter((row.deadline_id, row.event) for row in outbox) == {(pk, Outbox.Event.BREACH): 1 for pk in deadlines}
    assert all(row.sent_at is not None for row in outbox)
    runs = _handler_runs()
    assert Counter(pk for pk, _ in runs) == {pk: 1 for pk in Outbox.objects.values_list("pk", flat=True)}

    # and: lateness stays within the outage (kill to first tick back) plus the tick interval
    outage = tick_back_at - killed_at
    detection = {pk: d.breached_at - d.due_at for pk, d in deadlines.items()}
    assert max(detection.values()) <= outage + 2 * TICK
    # clocks due well before the kill or once the tick was back are as punctual as on a quiet day
    calm = [
        late
        for pk, late in detection.items()
        if deadlines[pk].due_at < killed_at - TICK or deadlines[pk].due_at > tick_back_at
    ]
    assert calm and max(calm) <= 2 * TICK
    ran_at = dict(runs)
    handler = [ran_at[row.pk] - deadlines[row.deadline_id].due_at for row in outbox]
    # Deliveries the kill and the flush lost come back through the relay once they are RELAY_AFTER old, not after
    # the broker's 300 s visibility timeout; the slack covers the relay's tick and draining the re-queued batch.
    relayed = sum(row.enqueued_at > row.created_at for row in outbox)
    assert relayed > 0, "the kill and the flush lost no delivery, so the relay went untested"
    assert max(handler) <= outage + RELAY_AFTER + 5 * TICK

    print(
        f"\n{len(deadlines)} clocks; outage {_seconds(outage):.1f} s (kill at {KILL_AT:g} s, restart at "
        f"{RESTART_AT:g} s, FLUSHALL at {FLUSH_AT:g} s); {relayed} deliveries re-queued by the relay; "
        f"all delivered {_seconds(finished_at - t0):.1f} s after seeding"
        f"\ndetection lateness (breached_at - due_at): {_summary([_seconds(v) for v in detection.values()])}"
        f"\ncalm clocks' detection lateness: {_summary([_seconds(v) for v in calm])}"
        f"\nhandler lateness (handler start - due_at): {_summary([_seconds(v) for v in handler])}"
    )
