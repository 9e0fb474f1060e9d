"""The SLA engine: open, pause, resume, meet, cancel and recompute clocks, and fire the ones that fall due.

Every service runs in the caller's transaction and locks the deadline row, so a ticket change and its clocks commit
together. The tick (`deadline_fire_due`) never waits for those locks: it skips locked rows and finds them next second.
"""

import logging
import time
from datetime import timedelta
from functools import partial

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Model, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from configcache.memo import remembered
from regions.models import Division
from sla.exceptions import HandlerFailed, NoPolicyTarget
from sla.models import Deadline, Heartbeat, Outbox, Pause, Policy, PolicyTarget
from sla.registry import handlers_for
from sla.selectors import TICK_HEARTBEAT
from sla.tasks import outbox_deliver_task

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Fired events per delivery message: one message per event costs the tick ~1.5 ms each and caps a 2-core worker
# below 100 events/s (bench/sla.py); in chunks of 25 the same machine delivers 300+/s.
DELIVER_CHUNK = 25
DELIVER_QUEUE = "sla_deliver"
# An outbox row not delivered this long after it was queued is queued again (a flushed broker, a crash between
# commit and publish, a lost ack). Handlers are idempotent, so a slow delivery being queued twice is harmless.
RELAY_AFTER = timedelta(seconds=30)

State = Deadline.State


# --- policies -------------------------------------------------------------------------------------------------


def _policy_targets(*, kinds: list[str], division_code: str, urgency: str) -> dict[str, PolicyTarget]:
    """Return, per clock kind, the target of the most specific active policy (kinds with none are left out);
    remembered in the process until a policy or a division changes (configcache.memo). Do not change the targets."""
    found = remembered(
        ("regions", "sla"),
        ("policy_targets", tuple(kinds), division_code, urgency),
        lambda: _policy_targets_read(kinds=kinds, division_code=division_code, urgency=urgency),
    )
    return dict(found)


def _policy_targets_read(*, kinds: list[str], division_code: str, urgency: str) -> dict[str, PolicyTarget]:
    chain: list[str] = []
    if division_code:
        ancestors = Division.objects.filter(code=division_code).values_list("ancestor_codes", flat=True).first()
        chain = [*(ancestors or []), division_code]
    targets = (
        PolicyTarget.objects.filter(kind__in=kinds, policy__is_active=True)
        .filter(Q(policy__division__isnull=True) | Q(policy__division_id__in=chain))
        .filter(Q(policy__urgency="") | Q(policy__urgency=urgency))
        .select_related("policy")
    )

    def specificity(target: PolicyTarget) -> tuple:
        # A policy for a township beats one for its county, which beats a nationwide one; urgency breaks ties.
        depth = chain.index(target.policy.division_id) if target.policy.division_id else -1
        return (-depth, -bool(target.policy.urgency), target.policy.priority, target.policy.pk)

    best: dict[str, PolicyTarget] = {}
    for target in sorted(targets, key=specificity):
        best.setdefault(target.kind, target)
    return best


def policy_match(*, kind: str, division_code: str = "", urgency: str = "") -> PolicyTarget:
    """Return the target of the most specific active policy for the clock, region and urgency; raises NoPolicyTarget."""
    target = _policy_targets(kinds=[kind], division_code=division_code, urgency=urgency).get(kind)
    if target is None:
        raise NoPolicyTarget(kind)
    return target


# --- opening and moving clocks ----------------------------------------------------------------------------------


def _warn_at(*, due_at, lead: timedelta | None, now):
    if lead is None:
        return None
    return max(due_at - lead, now)


@transaction.atomic
def deadline_open(
    *,
    subject: Model,
    kind: str,
    now,
    division_code: str = "",
    urgency: str = "",
    due_at=None,
) -> Deadline:
    """Start a clock for `subject`, or return the one already running for it; raises NoPolicyTarget.

    `due_at` fixes the due time (an appointment); otherwise the matching policy's target applies. A clock that has
    stopped is not reopened: a new cycle starts.
    """
    subject_type = ContentType.objects.get_for_model(subject)
    existing = Deadline.objects.filter(subject_type=subject_type, subject_id=subject.pk, kind=kind)
    current = existing.filter(state__in=[State.PENDING, State.PAUSED]).order_by("-cycle").first()
    if current is not None:
        return current
    try:
        target = policy_match(kind=kind, division_code=division_code, urgency=urgency)
    except NoPolicyTarget:
        if due_at is None:
            raise
        target = None
    due = due_at if due_at is not None else now + target.target
    lead = target.warning_lead if target else None
    cycle = (existing.aggregate(last=Max("cycle"))["last"] or 0) + 1
    try:
        with transaction.atomic():
            return Deadline.objects.create(
                subject_type=subject_type,
                subject_id=subject.pk,
                kind=kind,
                cycle=cycle,
                policy=target.policy if target else None,
                division_code=division_code,
                urgency=urgency,
                target=due - now,
                warning_lead=lead,
                is_due_fixed=due_at is not None,
                started_at=now,
                due_at=due,
                warn_at=_warn_at(due_at=due, lead=lead, now=now),
            )
    except IntegrityError:
        # Another transaction opened the same cycle first; theirs is the clock.
        return existing.get(cycle=cycle)


def deadlines_open_new(
    *, subject: Model, kinds: list[str], now, division_code: str = "", urgency: str = ""
) -> list[Deadline]:
    """Start the first cycle of several clocks for a subject created in this transaction (one policy query, one
    insert); raises NoPolicyTarget. For a subject that may already have clocks, use deadline_open."""
    targets = _policy_targets(kinds=kinds, division_code=division_code, urgency=urgency)
    missing = [kind for kind in kinds if kind not in targets]
    if missing:
        raise NoPolicyTarget(missing[0])
    subject_type = ContentType.objects.get_for_model(subject)
    return Deadline.objects.bulk_create(
        Deadline(
            subject_type=subject_type,
            subject_id=subject.pk,
            kind=kind,
            cycle=1,
            policy=targets[kind].policy,
            division_code=division_code,
            urgency=urgency,
            target=targets[kind].target,
            warning_lead=targets[kind].warning_lead,
            started_at=now,
            due_at=now + targets[kind].target,
            warn_at=_warn_at(due_at=now + targets[kind].target, lead=targets[kind].warning_lead, now=now),
        )
        for kind in kinds
    )


def _lock(deadline: Deadline) -> Deadline:
    return Deadline.objects.select_for_update(no_key=True).get(pk=deadline.pk)


def _emit(*, deadline: Deadline, event: str, now) -> None:
    """Write an outbox row for this generation (once) and queue its delivery after commit."""
    outbox, created = Outbox.objects.get_or_create(
        deadline=deadline,
        event=event,
        generation=deadline.generation,
        defaults={"created_at": now, "enqueued_at": now},
    )
    if created:
        transaction.on_commit(partial(_enqueue, [outbox.pk]))


def _breach(deadline: Deadline, *, now) -> Deadline:
    deadline.state, deadline.breached_at = State.BREACHED, now
    deadline.save(update_fields=["state", "breached_at", "met_at"])
    _emit(deadline=deadline, event=Outbox.Event.BREACH, now=now)
    return deadline


@transaction.atomic
def deadline_meet(*, deadline: Deadline, now) -> Deadline:
    """Stop the clock as met; if it was already due, it is breached instead (the timestamps decide, not commit order).

    A breach the tick recorded for a clock met *before* its due time (a met event that committed just after the tick)
    is revoked: the row goes back to met and a `breach_revoked` event is emitted.
    """
    deadline = _lock(deadline)
    if deadline.state == State.PAUSED:
        _close_pause(deadline, now=now)
        deadline.state, deadline.met_at = State.MET, now
        deadline.save(update_fields=["state", "met_at", "paused_total", "remaining", "due_at", "warn_at"])
        return deadline
    if deadline.state == State.PENDING:
        deadline.met_at = now
        if now >= deadline.due_at:
            return _breach(deadline, now=now)  # saves met_at too: met late, the resolution time is still recorded
        deadline.state = State.MET
        deadline.save(update_fields=["state", "met_at"])
        return deadline
    if deadline.state == State.BREACHED and deadline.met_at is None:
        deadline.met_at = now
        if now < deadline.due_at:
            deadline.state, deadline.breached_at = State.MET, None
            deadline.generation += 1
            deadline.save(update_fields=["state", "met_at", "breached_at", "generation"])
            _emit(deadline=deadline, event=Outbox.Event.BREACH_REVOKED, now=now)
        else:
            deadline.save(update_fields=["met_at"])  # met late: stays breached, resolution time still recorded
    return deadline


def _close_pause(deadline: Deadline, *, now):
    """Close the open pause and add it to paused_total; return when the clock effectively restarts."""
    pause = deadline.pauses.filter(resumed_at__isnull=True).first()
    if pause is None:
        return now
    # A wall clock stepped back (NTP) must not end a pause before it began, count negative time or pull the
    # deadline earlier: it may only delay.
    pause.resumed_at = max(now, pause.paused_at)
    pause.save(update_fields=["resumed_at"])
    deadline.paused_total += pause.resumed_at - pause.paused_at
    return pause.resumed_at


@transaction.atomic
def deadline_pause(*, deadline: Deadline, now, reason: str, by=None) -> Deadline:
    """Stop the clock and keep its remaining time (waiting for the customer); a clock already due is breached."""
    deadline = _lock(deadline)
    if deadline.state != State.PENDING:
        return deadline  # paused already, or stopped: pausing again must not add or lose time
    if now >= deadline.due_at:
        return _breach(deadline, now=now)
    Pause.objects.create(deadline=deadline, paused_at=now, reason=reason[:200], by=by)
    deadline.remaining = deadline.due_at - now
    deadline.state, deadline.due_at, deadline.warn_at = State.PAUSED, None, None
    deadline.generation += 1
    deadline.save(update_fields=["state", "remaining", "due_at", "warn_at", "generation"])
    return deadline


@transaction.atomic
def deadline_resume(*, deadline: Deadline, now, by=None) -> Deadline:
    """Restart a paused clock: due = now + the time it had left (never earlier than the pause began + that time)."""
    deadline = _lock(deadline)
    if deadline.state != State.PAUSED:
        return deadline
    restarted = _close_pause(deadline, now=now)
    deadline.due_at = restarted + deadline.remaining
    deadline.warn_at = (
        None if deadline.warned_at else _warn_at(due_at=deadline.due_at, lead=deadline.warning_lead, now=restarted)
    )
    deadline.state, deadline.remaining = State.PENDING, None
    deadline.generation += 1
    deadline.save(update_fields=["state", "due_at", "warn_at", "remaining", "paused_total", "generation"])
    return deadline


@transaction.atomic
def deadline_cancel(*, deadline: Deadline, now) -> Deadline:
    """Stop the clock without a verdict (the ticket was cancelled, the offer withdrawn)."""
    deadline = _lock(deadline)
    if deadline.state not in {State.PENDING, State.PAUSED}:
        return deadline
    if deadline.state == State.PAUSED:
        _close_pause(deadline, now=now)
    deadline.state, deadline.cancelled_at, deadline.due_at, deadline.warn_at = State.CANCELLED, now, None, None
    deadline.save(update_fields=["state", "cancelled_at", "due_at", "warn_at", "paused_total"])
    return deadline


def _active_elapsed(deadline: Deadline, *, now) -> timedelta:
    paused = deadline.paused_total
    if deadline.state == State.PAUSED:
        open_pause = deadline.pauses.filter(resumed_at__isnull=True).first()
        if open_pause is not None:
            paused += now - open_pause.paused_at
    return now - deadline.started_at - paused


@transaction.atomic
def deadline_recompute(*, deadline: Deadline, now, due_at=None) -> Deadline:
    """Apply a new target (the policy changed) or a new fixed due time (the appointment moved) to an open clock."""
    deadline = _lock(deadline)
    if deadline.state not in {State.PENDING, State.PAUSED}:
        return deadline
    if due_at is not None:
        deadline.is_due_fixed = True
        deadline.target = due_at - deadline.started_at - deadline.paused_total
    elif not deadline.is_due_fixed:
        try:
            target = policy_match(kind=deadline.kind, division_code=deadline.division_code, urgency=deadline.urgency)
        except NoPolicyTarget:
            return deadline  # no policy any more: keep the promise that was made
        deadline.policy, deadline.target, deadline.warning_lead = target.policy, target.target, target.warning_lead
    remaining = deadline.target - _active_elapsed(deadline, now=now)
    if deadline.state == State.PENDING:
        deadline.due_at = now + remaining
        deadline.warn_at = (
            None if deadline.warned_at else _warn_at(due_at=deadline.due_at, lead=deadline.warning_lead, now=now)
        )
    else:
        deadline.remaining = max(remaining, timedelta(0))
    deadline.generation += 1
    deadline.save(
        update_fields=[
            "policy",
            "target",
            "warning_lead",
            "is_due_fixed",
            "due_at",
            "warn_at",
            "remaining",
            "generation",
        ]
    )
    return deadline


def policy_apply(*, policy: Policy, now) -> int:
    """Recompute every open clock that uses `policy` (after its targets changed); returns how many changed."""
    changed = 0
    open_ids = list(
        Deadline.objects.filter(policy=policy, state__in=[State.PENDING, State.PAUSED], is_due_fixed=False).values_list(
            "pk", flat=True
        )
    )
    for pk in open_ids:
        deadline_recompute(deadline=Deadline(pk=pk), now=now)
        changed += 1
    return changed


# --- firing -------------------------------------------------------------------------------------------------------


def _enqueue(outbox_ids: list[int]) -> None:
    """Hand outbox rows to the delivery queue in chunks; if the broker is down, the relay re-sends them later."""
    for start in range(0, len(outbox_ids), DELIVER_CHUNK):
        chunk = outbox_ids[start : start + DELIVER_CHUNK]
        try:
            outbox_deliver_task.apply_async(kwargs={"outbox_ids": chunk})
        except (BrokerError, RedisError, OSError) as error:
            logger.warning("SLA outbox %s not queued (%s); the relay will retry", chunk, error)
            return


def _delivery_backlog() -> int:
    """Return how many delivery messages wait in the broker (0 if it cannot be asked)."""
    broker = outbox_deliver_task.app.connection_for_read()
    try:
        with broker:
            return broker.default_channel.queue_declare(queue=DELIVER_QUEUE, passive=True).message_count
    except (*broker.channel_errors, *broker.connection_errors, BrokerError, RedisError, OSError) as error:
        # A missing queue (never used, or flushed) has nothing waiting; an unreachable broker blocks enqueueing
        # anyway, and the relay's own enqueue will log that.
        logger.debug("SLA delivery backlog unknown: %s", error)
        return 0


_FIRE_SQL = """
WITH due AS (
    SELECT id FROM {deadline} WHERE state = 'pending' AND {condition}
    ORDER BY {column} LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), hit AS (
    UPDATE {deadline} AS d SET {assignment} FROM due
    WHERE d.id = due.id AND d.state = 'pending' AND {guard}
    RETURNING d.id, d.generation
)
INSERT INTO {outbox} (deadline_id, event, generation, created_at, enqueued_at, attempts, last_error)
SELECT id, %(event)s, generation, %(now)s, %(now)s, 0, '' FROM hit
ON CONFLICT (deadline_id, event, generation) DO NOTHING
RETURNING id
"""


def _fire_batch(*, event: str, now, limit: int) -> list[int]:
    tables = {"deadline": Deadline._meta.db_table, "outbox": Outbox._meta.db_table}
    if event == Outbox.Event.BREACH:
        parts = {
            "condition": "due_at <= %(now)s",
            "column": "due_at",
            "guard": "d.due_at <= %(now)s",
            "assignment": "state = 'breached', breached_at = %(now)s",
        }
    else:
        # A clock already due gets its breach, not a late warning.
        parts = {
            "condition": "warned_at IS NULL AND warn_at <= %(now)s AND due_at > %(now)s",
            "column": "warn_at",
            "guard": "d.warned_at IS NULL",
            "assignment": "warned_at = %(now)s",
        }
    with connection.cursor() as cursor:
        cursor.execute(_FIRE_SQL.format(**tables, **parts), {"now": now, "limit": limit, "event": event})
        return [row[0] for row in cursor.fetchall()]


def _relay_batch(*, now, limit: int) -> list[int]:
    table = Outbox._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} SET enqueued_at = %(now)s WHERE id IN (
                    SELECT id FROM {table} WHERE sent_at IS NULL AND enqueued_at < %(stale)s
                    ORDER BY enqueued_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
                RETURNING id""",  # noqa: S608 - table name from the model, values bound
            {"now": now, "stale": now - RELAY_AFTER, "limit": limit},
        )
        return [row[0] for row in cursor.fetchall()]


def deadline_fire_due(*, now, batch_size: int = BATCH_SIZE) -> int:
    """Fire every warning and breach due at `now`, once each, and re-queue stale outbox rows; returns events fired.

    Claims rows with FOR UPDATE SKIP LOCKED and flips them with a state-guarded UPDATE that writes the outbox row in
    the same statement, so concurrent ticks (two beats, the ticker and beat) never fire anything twice.
    """
    started = time.perf_counter()
    fired = 0
    for event in (Outbox.Event.WARNING, Outbox.Event.BREACH):
        while True:
            with transaction.atomic():
                ids = _fire_batch(event=event, now=now, limit=batch_size)
                transaction.on_commit(partial(_enqueue, ids))
            fired += len(ids)
            if len(ids) < batch_size:
                break
    # Relay only when the delivery queue is empty: rows still waiting behind a backlog were not lost, and queueing
    # them again would only make the backlog longer.
    if _delivery_backlog() == 0:
        with transaction.atomic():
            relayed = _relay_batch(now=now, limit=batch_size)
            transaction.on_commit(partial(_enqueue, relayed))
    Heartbeat.objects.update_or_create(
        name=TICK_HEARTBEAT,
        defaults={"beat_at": now, "fired": fired, "duration_ms": (time.perf_counter() - started) * 1000},
    )
    return fired


def outbox_deliver(*, outbox_id: int) -> bool:
    """Run the registered handlers for one fired event and mark it sent; False if it was already sent (or is being
    sent right now by another worker); raises HandlerFailed if a handler raised (the row stays unsent)."""
    try:
        with transaction.atomic():
            outbox = (
                Outbox.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("deadline")
                .filter(pk=outbox_id, sent_at__isnull=True)
                .first()
            )
            if outbox is None:
                return False
            # Handlers run inside this transaction: their own database writes commit together with sent_at.
            for handler in handlers_for(outbox.deadline.kind, outbox.event):
                handler(deadline=outbox.deadline, outbox=outbox)
            Outbox.objects.filter(pk=outbox.pk).update(sent_at=timezone.now(), attempts=F("attempts") + 1)
            return True
    except Exception as error:
        Outbox.objects.filter(pk=outbox_id).update(attempts=F("attempts") + 1, last_error=repr(error)[:300])
        logger.exception("SLA outbox %s: handler failed", outbox_id)
        raise HandlerFailed(outbox_id) from error


def outbox_deliver_many(*, outbox_ids: list[int]) -> int:
    """Deliver several fired events, each in its own transaction; one failing handler does not hold up the others.
    Returns how many were delivered now."""
    delivered = 0
    for outbox_id in outbox_ids:
        try:
            delivered += outbox_deliver(outbox_id=outbox_id)
        except HandlerFailed:
            continue  # recorded on the row; the relay queues it again after RELAY_AFTER
    return delivered
