from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# The ticket clocks the dashboard reports, in the order it shows them.
TICKET_CLOCKS = ("response", "arrival", "resolution")
# The RollupCursor row of the TicketFact sync.
FACT_CURSOR = "ticket_fact"


class ManagerRegion(models.Model):
    """A province a regional manager may see; a manager with no rows sees the whole country."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="managed_regions")
    province = models.ForeignKey(
        "regions.Division",
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": "province"},
        verbose_name=_("province"),
    )

    class Meta:
        verbose_name = _("managed province")
        verbose_name_plural = _("managed provinces")
        constraints = [models.UniqueConstraint(fields=["user", "province"], name="dashboard_manager_region_once")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.province_id}"


class BreachReason(models.TextChoices):
    NO_TECHNICIAN = "no_technician", _("No technician in the area")
    TECHNICIAN_LATE = "technician_late", _("Technician late")
    CUSTOMER_UNREACHABLE = "customer_unreachable", _("Customer unreachable")
    SYSTEM = "system", _("System")


class BreachReview(models.Model):
    """A manager's verdict on why one breached clock was missed."""

    deadline = models.OneToOneField("sla.Deadline", on_delete=models.CASCADE, related_name="breach_review")
    reason = models.CharField(_("reason"), max_length=24, choices=BreachReason.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"))

    class Meta:
        verbose_name = _("breach review")
        verbose_name_plural = _("breach reviews")

    def __str__(self) -> str:
        return f"{self.deadline_id}: {self.reason}"


class TicketFact(models.Model):
    """One row per ticket with everything the dashboard counts, so a page reads one narrow table, not the joins.

    Kept current by dashboard.services.ticket_fact_sync (a periodic task); day and hour are in Asia/Shanghai, and a
    ticket belongs to the day and hour it was created, whenever its clocks stopped.
    """

    ticket = models.OneToOneField("dispatch.Ticket", on_delete=models.CASCADE, primary_key=True, related_name="+")
    created_at = models.DateTimeField()
    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    province_code = models.CharField(max_length=12, blank=True)
    prefecture_code = models.CharField(max_length=12, blank=True)
    county_code = models.CharField(max_length=12, blank=True)
    technician = models.ForeignKey(
        "dispatch.Technician", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=20)
    is_open = models.BooleanField()
    is_cancelled = models.BooleanField()
    is_completed = models.BooleanField()
    inspection_fee_waived = models.BooleanField()
    insurance_sold = models.BooleanField()
    # Per clock: its state ("" when it never started), active time to met in seconds (paused time left out; also
    # kept when met late), whether it warned, and how late it was met when breached.
    response_state = models.CharField(max_length=12, blank=True)
    response_seconds = models.PositiveIntegerField(null=True)
    response_warned = models.BooleanField(default=False)
    arrival_state = models.CharField(max_length=12, blank=True)
    arrival_seconds = models.PositiveIntegerField(null=True)
    arrival_warned = models.BooleanField(default=False)
    resolution_state = models.CharField(max_length=12, blank=True)
    resolution_seconds = models.PositiveIntegerField(null=True)
    resolution_warned = models.BooleanField(default=False)
    paused_seconds = models.PositiveIntegerField(default=0)
    breaches = models.PositiveSmallIntegerField(default=0)
    # Complaints filed about this ticket (any status): the dashboard counts them with the ticket's day and region.
    complaints = models.PositiveSmallIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["day", "province_code"], name="dashboard_fact_day_province"),
            models.Index(fields=["province_code", "day"], name="dashboard_fact_province_day"),
            models.Index(fields=["prefecture_code", "day"], name="dashboard_fact_prefecture_day"),
            models.Index(fields=["county_code", "day"], name="dashboard_fact_county_day"),
            models.Index(fields=["technician", "day"], name="dashboard_fact_technician_day"),
            # The sync re-reads every open ticket each run: keep that set small to find.
            models.Index(fields=["ticket"], condition=Q(is_open=True), name="dashboard_fact_open"),
            models.Index(fields=["day"], condition=Q(complaints__gt=0), name="dashboard_fact_complained"),
            # The drill-down lists tickets newest first, 100 a page (bench/dashboard.py: page 50 at 1M, 210 -> 27 ms).
            models.Index(fields=["created_at", "ticket"], name="dashboard_fact_created"),
        ]

    def __str__(self) -> str:
        return f"fact {self.ticket_id}"


class RollupCursor(models.Model):
    """How far a rollup has read a source (the last TicketEvent pk seen) and when it last ran."""

    name = models.CharField(max_length=40, primary_key=True)
    position = models.BigIntegerField(default=0)
    ran_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.position}"


class DailyReport(models.Model):
    """The daily summary for one local day, written when it was handed to the report backend (one row per day)."""

    day = models.DateField(unique=True)
    sent_at = models.DateTimeField()
    backend = models.CharField(max_length=200)
    body = models.TextField()

    class Meta:
        verbose_name = _("daily report")
        verbose_name_plural = _("daily reports")

    def __str__(self) -> str:
        return f"report {self.day}"
