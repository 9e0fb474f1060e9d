from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# The ticket clocks the dashboard reports, in the order it shows them.
TICKET_CLOCKS = ("response", "arrival", "resolution")
# The RollupCursor row of the TicketFact sync.
FACT_CURSOR = "ticket_fact"
# The RollupCursor rows of the rollups derived from the facts (exists once they were first built) and of the staffing
# rollup (position: the last DutyPeriod pk seen), and how far the sync has read the complaints' timelines.
ROLLUP_CURSOR = "rollup"
STAFFING_CURSOR = "staffing"
COMPLAINT_CURSOR = "complaint_event"
# Times to met are kept as 1-minute histograms up to this many minutes; longer ones share the last (overflow) bucket.
# Four hours, not two: the resolution clock's target is three hours, so its p90 must still land inside.
HISTOGRAM_MINUTES = 240
# The complaint clocks run for hours to days (deciding: 48 h): their buckets go up to 14 days.
COMPLAINT_HISTOGRAM_MINUTES = 14 * 24 * 60
# The complaint clocks the dashboard reports (sla DeadlineKind values), in the order it shows them.
COMPLAINT_CLOCKS = ("complaint_acknowledge", "complaint_decision")


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


class RollupLevel(models.IntegerChoices):
    """How far down the region tree a rollup row goes: the whole country, a province, a prefecture or a county."""

    NATIONAL = 0, _("Nationwide")
    PROVINCE = 1, _("Province")
    PREFECTURE = 2, _("Prefecture")
    COUNTY = 3, _("County")


def _minutes() -> ArrayField:
    return ArrayField(models.PositiveIntegerField(), default=list)


def _counts() -> ArrayField:
    return ArrayField(models.PositiveIntegerField(), default=list)


class BreakdownFigures(models.Model):
    """The figures a breakdown row shows, summed over the tickets of one rollup row."""

    tickets = models.PositiveIntegerField(default=0)
    response_met = models.PositiveIntegerField(default=0)
    response_breached = models.PositiveIntegerField(default=0)
    breaches = models.PositiveIntegerField(default=0)
    response_minutes = _minutes()  # a sparse histogram: the minute buckets present, ascending
    response_counts = _counts()  # how many tickets fell into each of those buckets
    province_code = models.CharField(max_length=12, blank=True)
    prefecture_code = models.CharField(max_length=12, blank=True)
    county_code = models.CharField(max_length=12, blank=True)

    class Meta:
        abstract = True


class RegionDayRollup(BreakdownFigures):
    """Every dashboard figure of the tickets created on one local day in one region, at every level (the codes below
    the row's level are blank). Re-derived from that day's TicketFacts by ticket_fact_sync in the same transaction."""

    day = models.DateField()
    level = models.PositiveSmallIntegerField(choices=RollupLevel.choices)
    cancelled = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    paused_seconds = models.BigIntegerField(default=0)
    paused_tickets = models.PositiveIntegerField(default=0)
    free_inspections = models.PositiveIntegerField(default=0)
    insured = models.PositiveIntegerField(default=0)
    complaints = models.PositiveIntegerField(default=0)
    response_warned = models.PositiveIntegerField(default=0)
    arrival_met = models.PositiveIntegerField(default=0)
    arrival_breached = models.PositiveIntegerField(default=0)
    arrival_warned = models.PositiveIntegerField(default=0)
    arrival_minutes = _minutes()
    arrival_counts = _counts()
    resolution_met = models.PositiveIntegerField(default=0)
    resolution_breached = models.PositiveIntegerField(default=0)
    resolution_warned = models.PositiveIntegerField(default=0)
    resolution_minutes = _minutes()
    resolution_counts = _counts()
    # The clocks of the complaints about these tickets (complaints follow their ticket's day and region).
    complaint_acknowledge_met = models.PositiveIntegerField(default=0)
    complaint_acknowledge_breached = models.PositiveIntegerField(default=0)
    complaint_acknowledge_warned = models.PositiveIntegerField(default=0)
    complaint_acknowledge_minutes = _minutes()
    complaint_acknowledge_counts = _counts()
    complaint_decision_met = models.PositiveIntegerField(default=0)
    complaint_decision_breached = models.PositiveIntegerField(default=0)
    complaint_decision_warned = models.PositiveIntegerField(default=0)
    complaint_decision_minutes = _minutes()
    complaint_decision_counts = _counts()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "level", "province_code", "prefecture_code", "county_code"],
                name="dashboard_region_day_once",
            )
        ]
        indexes = [
            models.Index(fields=["level", "province_code", "day"], name="dashboard_rday_province"),
            models.Index(fields=["level", "prefecture_code", "day"], name="dashboard_rday_prefecture"),
            models.Index(fields=["level", "county_code", "day"], name="dashboard_rday_county"),
        ]

    def __str__(self) -> str:
        return f"{self.day} L{self.level} {self.county_code or self.prefecture_code or self.province_code}"


class RegionHourRollup(BreakdownFigures):
    """The breakdown figures of the tickets created in one local hour of one day in one region (every level)."""

    day = models.DateField()
    hour = models.PositiveSmallIntegerField()
    level = models.PositiveSmallIntegerField(choices=RollupLevel.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "hour", "level", "province_code", "prefecture_code", "county_code"],
                name="dashboard_region_hour_once",
            )
        ]
        indexes = [
            models.Index(fields=["level", "province_code", "day"], name="dashboard_rhour_province"),
            models.Index(fields=["level", "prefecture_code", "day"], name="dashboard_rhour_prefecture"),
            models.Index(fields=["level", "county_code", "day"], name="dashboard_rhour_county"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.hour}h L{self.level}"


class TechnicianDayRollup(BreakdownFigures):
    """The breakdown figures of one technician's tickets created on one local day in one county."""

    day = models.DateField()
    technician = models.ForeignKey("dispatch.Technician", on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["day", "province_code"], name="dashboard_rtech_day_province"),
            models.Index(fields=["prefecture_code", "day"], name="dashboard_rtech_prefecture"),
            models.Index(fields=["county_code", "day"], name="dashboard_rtech_county"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.technician_id} {self.county_code}"


class StaffingHour(models.Model):
    """The technicians on duty during one hour slot who count for one region.

    A technician counts for a region when a division they cover lies inside it or is it (`is_exact` False; code ""
    is everyone on duty), or when they cover one of its ancestors (`is_exact` True rows, kept for provinces and
    prefectures only, the only divisions above a region a manager can pick). A page adds the rows of its region and
    of its ancestors, counting each technician once.
    """

    slot = models.DateTimeField()
    region_code = models.CharField(max_length=12, blank=True)
    is_exact = models.BooleanField(default=False)
    technicians = models.PositiveIntegerField()
    technician_ids = ArrayField(models.BigIntegerField(), default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slot", "region_code", "is_exact"], name="dashboard_staffing_hour_once")
        ]
        indexes = [models.Index(fields=["region_code", "slot"], name="dashboard_staffing_region")]

    def __str__(self) -> str:
        return f"{self.slot} {self.region_code or '*'}: {self.technicians}"
