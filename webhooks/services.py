"""Outbound webhooks: events written to an outbox in the transaction of the change they describe, then POSTed,
signed, by Celery (never inside a request), with retries and backoff. See docs/webhooks.md."""

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, cast

import requests
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from configcache.memo import remembered
from dispatch.models import Ticket, TicketEvent, TicketStatus
from webhooks.models import Delivery, EventType, Subscriber, WebhookEvent
from webhooks.tasks import delivery_attempt_task

if TYPE_CHECKING:  # complaints depends on dispatch, which calls this module: no import of complaints at run time
    from complaints.models import ComplaintEvent

logger = logging.getLogger(__name__)
# Complaint statuses reached only through a person's decision (complaints.models.ComplaintStatus).
COMPLAINT_DECIDED_STATUSES = ("decided", "closed")
OPEN_STATES = (Delivery.State.PENDING, Delivery.State.FAILED)
# A receiver should refuse a timestamp further than this from its clock (replay window, docs/webhooks.md).
SIGNATURE_TOLERANCE_SECONDS = 300
USER_AGENT = "lock-dispatch-webhooks/1"
# Only these fields of a ticket or complaint leave the building: no name, phone, address or free text (a reason or a
# description may quote them). Receivers that need more look the ticket up over the API with their own key.
TICKET_FIELDS = (
    "number",
    "status",
    "division_id",
    "category",
    "urgency",
    "channel",
    "technician_id",
    "created_at",
    "appointment_start",
    "appointment_end",
    "accepted_at",
    "responded_at",
    "en_route_at",
    "on_site_at",
    "completed_at",
    "cancelled_at",
)


# ---- Signing --------------------------------------------------------------------------------------------------------


def webhook_secret_generate() -> str:
    """Return a new random signing secret (256 bits)."""
    return "whsec_" + secrets.token_urlsafe(32)


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """Return the X-Webhook-Signature value: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_signature_verify(
    *, secret: str, timestamp: str, body: bytes, signature: str, now, tolerance: int = SIGNATURE_TOLERANCE_SECONDS
) -> bool:
    """Return whether a received request is authentic and fresh: what a receiver does (docs/webhooks.md)."""
    try:
        age = abs(now.timestamp() - int(timestamp))
    except ValueError:
        return False
    if age > tolerance:
        return False
    return hmac.compare_digest(webhook_signature(secret=secret, timestamp=timestamp, body=body), signature)


# ---- Recording events (in the caller's transaction) -------------------------------------------------------------


def webhook_event_record(*, event_type: str, payload: dict, now, subscribers=None) -> WebhookEvent | None:
    """Write the event and one delivery per active subscriber of its type in the caller's transaction, and queue the
    first attempts after commit; None (nothing written) when nobody subscribes."""
    if subscribers is None:
        subscribers = _subscribers_by_type([event_type]).get(event_type, [])
    if not subscribers:
        return None
    event = WebhookEvent.objects.create(event_type=event_type, payload=payload, created_at=now)
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(event=event, subscriber_id=subscriber_id, next_attempt_at=now, created_at=now)
            for subscriber_id in subscribers
        ]
    )
    for delivery in deliveries:
        transaction.on_commit(partial(_enqueue_attempt, delivery.pk))
    return event


def _enqueue_attempt(delivery_id: int) -> None:
    try:
        delivery_attempt_task.delay(delivery_id=delivery_id)
    except (BrokerError, RedisError, OSError) as error:
        logger.warning("webhook delivery %s not queued (%s); the relay will send it", delivery_id, error)


def _subscribers_by_type(types: list[str]) -> dict[str, list[int]]:
    """Active subscribers of each of these event types, in one query; types nobody subscribes to are left out.
    Remembered in the process until a subscriber changes (configcache.memo)."""
    found = remembered(("webhooks",), ("subscribers", tuple(types)), lambda: _subscribers_by_type_read(types))
    return {event_type: list(ids) for event_type, ids in found.items()}


def _subscribers_by_type_read(types: list[str]) -> dict[str, list[int]]:
    wanted: dict[str, list[int]] = {}
    rows = Subscriber.objects.filter(is_active=True, event_types__overlap=types).values_list("pk", "event_types")
    for pk, subscribed in rows.order_by("pk"):
        for event_type in types:
            if event_type in subscribed:
                wanted.setdefault(event_type, []).append(pk)
    return wanted


def _iso(value):
    # Every time in a payload is ISO 8601 in UTC, whatever the server's time zone.
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def _ticket_types(event: TicketEvent) -> list[str]:
    if event.kind == TicketEvent.Kind.CREATED:
        return [EventType.TICKET_CREATED]
    if event.kind != TicketEvent.Kind.STATUS:
        return []
    types = [EventType.TICKET_STATUS_CHANGED]
    if event.new_status == TicketStatus.ACCEPTED and event.old_status in (TicketStatus.NEW, TicketStatus.OFFERED):
        types.append(EventType.TICKET_TECHNICIAN_ASSIGNED)  # not when a job on hold resumes
    elif event.new_status == TicketStatus.COMPLETED:
        types.append(EventType.TICKET_COMPLETED)
    elif event.new_status == TicketStatus.CANCELLED:
        types.append(EventType.TICKET_CANCELLED)
    return types


def webhook_ticket_event_record(*, event: TicketEvent) -> list[WebhookEvent]:
    """Publish a ticket's timeline event to its subscribers (creation and status changes; other kinds are internal)
    with a payload free of personal data; called by dispatch for every TicketEvent, in its transaction."""
    types = _ticket_types(event)
    if not types:
        return []
    wanted = _subscribers_by_type(types)
    if not wanted:
        return []
    # Read back from the row: the caller's in-memory ticket may not show this change yet.
    row = Ticket.objects.filter(pk=event.ticket_id).values(*TICKET_FIELDS).get()
    row["region_code"] = row.pop("division_id")
    payload = {
        "ticket": {key: _iso(value) for key, value in row.items()},
        "old_status": event.old_status,
        "new_status": event.new_status,
        "at": _iso(event.at),
    }
    recorded = [
        webhook_event_record(event_type=event_type, payload=payload, now=event.at, subscribers=subscribers)
        for event_type, subscribers in wanted.items()
    ]
    return [item for item in recorded if item is not None]


def _complaint_types(event: "ComplaintEvent") -> list[str]:
    if event.kind == event.Kind.FILED:
        return [EventType.COMPLAINT_FILED]
    if event.kind != event.Kind.STATUS:
        return []
    types = [EventType.COMPLAINT_STATUS_CHANGED]
    # Decided, or closed by the decision on the appeal.
    if event.new_status in COMPLAINT_DECIDED_STATUSES:
        types.append(EventType.COMPLAINT_DECIDED)
    return types


def webhook_complaint_event_record(*, event: "ComplaintEvent") -> list[WebhookEvent]:
    """Publish a complaint's timeline event to its subscribers (filed, status changes, decided) without personal data
    or the free-text description; called by complaints for every ComplaintEvent, in its transaction."""
    types = _complaint_types(event)
    if not types:
        return []
    wanted = _subscribers_by_type(types)
    if not wanted:
        return []
    complaint = apps.get_model("complaints", "Complaint").objects.select_related("ticket").get(pk=event.complaint_id)
    data = {
        "number": complaint.number,
        "ticket_number": complaint.ticket.number,
        "region_code": complaint.ticket.division_id,
        "status": complaint.status,
        "category": complaint.category,
        "channel": complaint.channel,
        "remedy_requested": complaint.remedy_requested,
        "filed_at": _iso(complaint.filed_at),
        "acknowledged_at": _iso(complaint.acknowledged_at),
        "decided_at": _iso(complaint.decided_at),
    }
    payload = {"complaint": data, "old_status": event.old_status, "new_status": event.new_status, "at": _iso(event.at)}
    decision = complaint.decisions.order_by("-decided_at", "-pk").first()
    if EventType.COMPLAINT_DECIDED in types and decision is not None:
        payload["decision"] = {
            "outcome": decision.outcome,
            "remedy": decision.remedy,
            "amount": str(decision.amount) if decision.amount is not None else None,
            "is_appeal": decision.is_appeal,
            "decided_at": _iso(decision.decided_at),
        }
    recorded = [
        webhook_event_record(event_type=event_type, payload=payload, now=event.at, subscribers=subscribers)
        for event_type, subscribers in wanted.items()
    ]
    return [item for item in recorded if item is not None]


@transaction.atomic
def subscriber_create(*, name: str, url: str, event_types: list[str], is_active: bool = True) -> Subscriber:
    """Create a subscriber with a new signing secret (the caller shows it once)."""
    return Subscriber.objects.create(
        name=name.strip(), url=url, event_types=list(event_types), is_active=is_active, secret=webhook_secret_generate()
    )


@transaction.atomic
def subscriber_secret_rotate(*, subscriber: Subscriber) -> str:
    """Replace the subscriber's signing secret and return the new one (the caller shows it once); deliveries not yet
    sent are signed with the new secret."""
    subscriber.secret = webhook_secret_generate()
    subscriber.save(update_fields=["secret"])
    return subscriber.secret


@transaction.atomic
def subscriber_test_send(*, subscriber: Subscriber, now=None) -> WebhookEvent:
    """Queue a test event to this one subscriber, whatever it subscribes to and even if inactive."""
    now = now or timezone.now()
    payload = {"message": "test event", "subscriber": subscriber.name, "at": _iso(now)}
    # Never None: the list of subscribers is not empty.
    return cast(
        WebhookEvent,
        webhook_event_record(event_type=EventType.TEST, payload=payload, now=now, subscribers=[subscriber.pk]),
    )


# ---- Delivering (Celery only) ---------------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    """Exponential backoff with jitter: base·2^(n-1), capped, then a random 50–100 % of it so that a receiver
    coming back after an outage is not hit by every retry in the same second."""
    delay = min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.WEBHOOK_RETRY_MAX_SECONDS)
    return timedelta(seconds=random.uniform(delay / 2, delay))  # noqa: S311 - jitter, not a secret


def _body(event: WebhookEvent) -> bytes:
    document = {"id": str(event.uuid), "type": event.event_type, "created_at": _iso(event.created_at)}
    document["data"] = event.payload
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _deliver_locked(*, delivery: Delivery, now) -> str:
    """POST one locked delivery and record the outcome; the row lock is held for the request, so no other worker can
    send it at the same time (a worker that dies mid-request releases the lock with its connection)."""
    event, subscriber = delivery.event, delivery.subscriber
    body = _body(event)
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Id": str(event.uuid),
        "X-Webhook-Event": event.event_type,
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": webhook_signature(secret=subscriber.secret, timestamp=timestamp, body=body),
    }
    delivery.attempts += 1
    delivery.last_attempt_at = now
    try:
        response = requests.post(
            subscriber.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        delivery.last_status_code, delivery.last_error = None, repr(error)[:300]
    else:
        delivery.last_status_code = response.status_code
        delivery.last_error = "" if response.ok else f"HTTP {response.status_code}: {response.text[:200]}"
    if delivery.last_status_code is not None and 200 <= delivery.last_status_code < 300:
        delivery.state, delivery.delivered_at = Delivery.State.DELIVERED, now
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.state = Delivery.State.DEAD
        logger.warning("webhook delivery %s dead after %s attempts", delivery.pk, delivery.attempts)
    else:
        delivery.state = Delivery.State.FAILED
        delivery.next_attempt_at = now + _backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "state",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "delivered_at",
            "last_status_code",
            "last_error",
        ]
    )
    return delivery.state


def _claim(*, now, delivery_id: int | None = None) -> Delivery | None:
    # SKIP LOCKED: a row another worker is sending right now is not waited for, and never sent twice at once.
    rows = Delivery.objects.select_for_update(skip_locked=True, of=("self",)).select_related("event", "subscriber")
    rows = rows.filter(state__in=OPEN_STATES, next_attempt_at__lte=now, subscriber__is_active=True)
    if delivery_id is not None:
        rows = rows.filter(pk=delivery_id)
    return rows.order_by("next_attempt_at", "pk").first()


def delivery_attempt(*, delivery_id: int, now) -> str | None:
    """Send one delivery if it is due and not being sent; returns its new state, or None when there was nothing to
    do (delivered, dead, not due yet, or another worker has it)."""
    with transaction.atomic():
        delivery = _claim(now=now, delivery_id=delivery_id)
        if delivery is None:
            return None
        return _deliver_locked(delivery=delivery, now=now)


def delivery_send_due(*, now, limit: int = 20, budget_seconds: float | None = None) -> int:
    """Send up to `limit` due deliveries, each in its own transaction, stopping once `budget_seconds` have gone by;
    returns how many were attempted."""
    # A backlog for a receiver that times out must not hold the webhooks worker (Procfile `hooks`) for minutes and
    # starve the other subscribers. What is left is due at the next run.
    stop_at = time.monotonic() + budget_seconds if budget_seconds is not None else None
    attempted = 0
    while attempted < limit and (stop_at is None or time.monotonic() < stop_at):
        with transaction.atomic():
            delivery = _claim(now=now)
            if delivery is None:
                break
            _deliver_locked(delivery=delivery, now=now)
        attempted += 1
    return attempted


@transaction.atomic
def delivery_retry_now(*, delivery: Delivery, now=None) -> bool:
    """Make a failed or dead delivery due now (one more attempt) and queue it; False if it was already delivered."""
    now = now or timezone.now()
    rows = Delivery.objects.filter(pk=delivery.pk)
    revived = rows.filter(state=Delivery.State.DEAD).update(state=Delivery.State.FAILED, next_attempt_at=now)
    if not revived and not rows.filter(state__in=OPEN_STATES).update(next_attempt_at=now):
        return False
    transaction.on_commit(partial(_enqueue_attempt, delivery.pk))
    return True
