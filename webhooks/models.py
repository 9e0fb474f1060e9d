import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from dispatch.fields import EncryptedTextField


class EventType(models.TextChoices):
    TICKET_CREATED = "ticket.created", _("Ticket created")
    TICKET_STATUS_CHANGED = "ticket.status_changed", _("Ticket status changed")
    TICKET_TECHNICIAN_ASSIGNED = "ticket.technician_assigned", _("Technician assigned")
    TICKET_COMPLETED = "ticket.completed", _("Ticket completed")
    TICKET_CANCELLED = "ticket.cancelled", _("Ticket cancelled")
    COMPLAINT_FILED = "complaint.filed", _("Complaint filed")
    COMPLAINT_STATUS_CHANGED = "complaint.status_changed", _("Complaint status changed")
    COMPLAINT_DECIDED = "complaint.decided", _("Complaint decided")
    TEST = "webhook.test", _("Test event")


class Subscriber(models.Model):
    """A system that receives signed events by HTTP POST (the brand's after-sales platform, a CRM)."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500, help_text=_("HTTPS endpoint that receives the POSTed events."))
    # The signing key: HMAC needs the key itself, so it cannot be stored hashed; it is encrypted at rest with the
    # customer-data keys instead and shown in full only once, when created or rotated (docs/webhooks.md).
    secret = EncryptedTextField(_("signing secret"), editable=False)
    event_types = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices),
        verbose_name=_("events"),
        default=list,
        blank=True,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscriber")
        verbose_name_plural = _("webhook subscribers")
        indexes = [models.Index(fields=["is_active"], name="webhooks_subscriber_active")]

    def __str__(self) -> str:
        return self.name


class WebhookEvent(models.Model):
    """One thing that happened, written in the same transaction as the change it describes (the outbox)."""

    # The idempotency id receivers see in X-Webhook-Id: the same on every retry of the event.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_type = models.CharField(_("event"), max_length=40, choices=EventType.choices)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.event_type} {self.uuid}"


class Delivery(models.Model):
    """One event for one subscriber: attempted until a 2xx answer, or dead after WEBHOOK_MAX_ATTEMPTS."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        FAILED = "failed", _("Failed, will retry")
        DELIVERED = "delivered", _("Delivered")
        DEAD = "dead", _("Dead (gave up)")

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event", "subscriber"], name="webhooks_delivery_once"),
            models.CheckConstraint(
                condition=Q(state="delivered", delivered_at__isnull=False) | ~Q(state="delivered"),
                name="webhooks_delivered_has_time",
            ),
        ]
        indexes = [
            # The relay's claim: only rows still to be sent, by when they are due.
            models.Index(
                fields=["next_attempt_at"], condition=Q(state__in=["pending", "failed"]), name="webhooks_delivery_due"
            ),
            models.Index(fields=["subscriber", "created_at"], name="webhooks_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscriber_id} ({self.state})"
