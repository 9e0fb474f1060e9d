"""Read-only health and metrics figures, computed from PostgreSQL at request time (the source of truth, and correct
whatever the number of web processes)."""

from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Count

from config.settings import redis_url_with_db
from dispatch.models import Offer, OfferOutcome, Technician, Ticket
from sla.models import Deadline, Heartbeat, Outbox
from sla.selectors import TICK_HEARTBEAT, tick_heartbeat_age


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def health_checks(*, now) -> list[Check]:
    """Return the database, Redis (broker) and SLA-tick checks; each says what is wrong, never raises."""
    checks = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks.append(Check("database", True, "ok"))
    except DatabaseError as error:
        checks.append(Check("database", False, error.__class__.__name__))
    try:
        url = redis_url_with_db(settings.REDIS_URL, settings.REDIS_DB_BASE)  # the broker's database
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        checks.append(Check("redis", True, "ok"))
    except (redis.RedisError, OSError) as error:
        checks.append(Check("redis", False, error.__class__.__name__))
    try:
        age = tick_heartbeat_age(now=now)
    except DatabaseError:
        age = None
    alive = age is not None and age <= timedelta(seconds=settings.SLA_HEARTBEAT_ALARM_SECONDS)
    detail = "never ran" if age is None else f"last tick {age.total_seconds():.1f} s ago"
    checks.append(Check("sla_tick", alive, detail))
    return checks


def metrics_snapshot(*, now, window: timedelta = timedelta(minutes=5)) -> dict:
    """Return the figures /metrics exposes: tickets by status, open clocks by kind and state, firing lateness of the
    clocks that fired in the last `window`, the tick's age and duration, live offers, technicians on duty."""
    tickets = dict(Ticket.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    clocks = {
        (row["kind"], row["state"]): row["n"]
        for row in Deadline.objects.filter(state__in=["pending", "paused"])
        .values("kind", "state")
        .annotate(n=Count("pk"))
    }
    # Lateness: from the moment a warning or breach was due to the moment the tick recorded it.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT o.event,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY lateness),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY lateness),
                   max(lateness), count(*)
            FROM (
                SELECT o.event, EXTRACT(EPOCH FROM o.created_at - CASE WHEN o.event = 'warning'
                       THEN d.warn_at ELSE d.due_at END) AS lateness
                FROM {Outbox._meta.db_table} o JOIN {Deadline._meta.db_table} d ON d.id = o.deadline_id
                WHERE o.created_at >= %s AND o.event IN ('warning', 'breach')
            ) o
            GROUP BY o.event
            """,  # noqa: S608 - table names from the models
            [now - window],
        )
        lateness = {row[0]: {"p50": row[1], "p99": row[2], "max": row[3], "count": row[4]} for row in cursor.fetchall()}
    heartbeat = Heartbeat.objects.filter(name=TICK_HEARTBEAT).first()
    return {
        "tickets": tickets,
        "clocks": clocks,
        "lateness": lateness,
        "tick_age": (now - heartbeat.beat_at).total_seconds() if heartbeat else None,
        "tick_duration_ms": heartbeat.duration_ms if heartbeat else None,
        "outbox_unsent": Outbox.objects.filter(sent_at__isnull=True).count(),
        "offers_pending": Offer.objects.filter(outcome=OfferOutcome.PENDING).count(),
        "technicians_on_duty": Technician.objects.filter(is_active=True, is_on_duty=True).count(),
    }
