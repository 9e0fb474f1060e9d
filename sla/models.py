from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DeadlineKind(models.TextChoices):
    """The clocks the business promises; what starts and stops each one is decided by the app that opens it."""

    RESPONSE = "response", _("Response")
    OFFER_ACCEPT = "offer_accept", _("Offer acceptance")
    ARRIVAL = "arrival", _("Arrival on site")
    RESOLUTION = "resolution", _("Resolution")
    COMPLAINT_ACKNOWLEDGE = "complaint_acknowledge", _("Complaint acknowledgement")
    TECHNICIAN_STATEMENT = "technician_statement", _("Technician statement")
    COMPLAINT_DECISION = "complaint_decision", _("Complaint decision")


class Policy(models.Model):
    """Targets per clock; the most specific active policy matching a deadline's region and urgency applies."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    division = models.ForeignKey(
        "regions.Division",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("region"),
        help_text=_("Applies inside this division (and everything below it); empty for everywhere."),
    )
    urgency = models.CharField(
        _("urgency"), max_length=20, blank=True, help_text=_("Applies to this urgency only; empty for any.")
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Among equally specific policies, the lower number wins.")
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name


class PolicyTarget(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="targets", verbose_name=_("policy"))
    kind = models.CharField(_("clock"), max_length=32, choices=DeadlineKind.choices)
    target = models.DurationField(_("target"), help_text=_("e.g. 00:30:00 for 30 minutes"))
    warning_lead = models.DurationField(
        _("warn before"), null=True, blank=True, help_text=_("Warn this long before the target; empty for no warning.")
    )

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "kind"],
                name="sla_policy_target_unique",
                violation_error_message=_("This policy already has a target for this clock."),
            ),
            models.CheckConstraint(
                condition=Q(target__gt=timedelta(0)),
                name="sla_target_positive",
                violation_error_message=_("The target must be longer than zero."),
            ),
            models.CheckConstraint(
                condition=Q(warning_lead__isnull=True)
                | (Q(warning_lead__gt=timedelta(0)) & Q(warning_lead__lt=models.F("target"))),
                name="sla_warning_inside_target",
                violation_error_message=_("The warning must come before the target: make it shorter than the target."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.target}"


class Deadline(models.Model):
    """One clock instance for one subject (a ticket, a complaint…); the database row is the timer."""

    class State(models.TextChoices):
        PENDING = "pending", _("Running")
        PAUSED = "paused", _("Paused")
        MET = "met", _("Met")
        BREACHED = "breached", _("Breached")
        CANCELLED = "cancelled", _("Cancelled")

    # Indexed by sla_deadline_unique, which starts with (subject_type, subject_id).
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+", db_index=False)
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    kind = models.CharField(_("clock"), max_length=32, choices=DeadlineKind.choices)
    cycle = models.PositiveSmallIntegerField(_("cycle"), default=1)
    # Bumped whenever due/warn times change (pause, resume, recompute, a revoked breach): the outbox is unique per
    # (deadline, event, generation), so a fire can happen once per generation and never twice for the same one.
    generation = models.PositiveIntegerField(default=0)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PENDING)
    policy = models.ForeignKey(Policy, on_delete=models.SET_NULL, null=True, blank=True, related_name="deadlines")
    division_code = models.CharField(max_length=12, blank=True)
    urgency = models.CharField(max_length=20, blank=True)
    target = models.DurationField(_("target"))
    warning_lead = models.DurationField(null=True, blank=True)
    is_due_fixed = models.BooleanField(
        default=False, help_text=_("Due time set by the caller (an appointment), not by the policy.")
    )
    started_at = models.DateTimeField(_("started at"))
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    remaining = models.DurationField(null=True, blank=True, help_text=_("Time left, kept while paused."))
    paused_total = models.DurationField(default=timedelta(0))
    warned_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id", "kind", "cycle"], name="sla_deadline_unique"),
            models.CheckConstraint(condition=~Q(state="pending") | Q(due_at__isnull=False), name="sla_pending_has_due"),
            models.CheckConstraint(
                condition=~Q(state="paused") | (Q(due_at__isnull=True) & Q(remaining__isnull=False)),
                name="sla_paused_keeps_remaining",
            ),
            models.CheckConstraint(
                condition=~Q(state="breached") | Q(breached_at__isnull=False), name="sla_breached_at"
            ),
        ]
        indexes = [
            # The tick's claim queries read only these partial indexes: cheap with 100k open clocks.
            models.Index(fields=["due_at"], condition=Q(state="pending"), name="sla_deadline_due_pending"),
            models.Index(
                fields=["warn_at"],
                condition=Q(state="pending", warned_at__isnull=True),
                name="sla_deadline_warn_pending",
            ),
            # The managers' breach list, newest first (bench/dashboard.py: 332 -> 22 ms at 1M tickets).
            models.Index(
                models.F("due_at").desc(),
                models.F("id").desc(),
                condition=Q(state="breached"),
                name="sla_deadline_breached",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.subject_id} ({self.get_state_display()})"

    @property
    def is_open(self) -> bool:
        return self.state in {self.State.PENDING, self.State.PAUSED}

    def time_left(self, now) -> timedelta | None:
        """Time until due (negative once late); the stored remainder while paused; None once closed."""
        if self.state == self.State.PENDING:
            return self.due_at - now
        if self.state == self.State.PAUSED:
            return self.remaining
        return None


class Pause(models.Model):
    deadline = models.ForeignKey(Deadline, on_delete=models.CASCADE, related_name="pauses")
    paused_at = models.DateTimeField(_("paused at"))
    resumed_at = models.DateTimeField(_("resumed at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        constraints = [
            models.UniqueConstraint(
                fields=["deadline"], condition=Q(resumed_at__isnull=True), name="sla_one_open_pause"
            ),
            models.CheckConstraint(
                condition=Q(resumed_at__isnull=True) | Q(resumed_at__gte=models.F("paused_at")), name="sla_pause_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deadline_id}: {self.paused_at} – {self.resumed_at or '…'}"


class Outbox(models.Model):
    """A fired event waiting for its handlers; unique per (deadline, event, generation), so it exists once."""

    class Event(models.TextChoices):
        WARNING = "warning", _("Warning")
        BREACH = "breach", _("Breach")
        BREACH_REVOKED = "breach_revoked", _("Breach revoked")

    deadline = models.ForeignKey(Deadline, on_delete=models.CASCADE, related_name="outbox")
    event = models.CharField(max_length=16, choices=Event.choices)
    generation = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    enqueued_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deadline", "event", "generation"], name="sla_outbox_once"),
        ]
        indexes = [
            models.Index(fields=["enqueued_at"], condition=Q(sent_at__isnull=True), name="sla_outbox_unsent"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.deadline_id}/{self.generation}"


class Heartbeat(models.Model):
    """When a periodic process last ran; the dashboard raises an alarm when the tick's is too old."""

    name = models.CharField(max_length=40, primary_key=True)
    beat_at = models.DateTimeField()
    fired = models.PositiveIntegerField(default=0)
    duration_ms = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at}"
