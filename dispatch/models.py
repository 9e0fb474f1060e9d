from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from dispatch.fields import EncryptedTextField


class Customer(models.Model):
    """A caller, identified by phone number; the number, name and addresses are encrypted at rest."""

    phone_index = models.CharField(max_length=64, help_text=_("HMAC of the E.164 number"))
    phone = EncryptedTextField(_("phone"))
    name = EncryptedTextField(_("name"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # A constraint rather than unique=True: only exact lookups, so no second (LIKE) index to keep up to date.
        constraints = [models.UniqueConstraint(fields=["phone_index"], name="dispatch_customer_phone_unique")]

    def __str__(self) -> str:
        return f"customer #{self.pk}"


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    division = models.ForeignKey("regions.Division", on_delete=models.PROTECT, related_name="+", db_index=False)
    detail = EncryptedTextField(_("street address"))
    # Where the address is, when known (the customer's browser on the public form, the telephony system, a map pick).
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        indexes = [models.Index(fields=["division"], name="dispatch_address_division")]  # without a LIKE twin

    def __str__(self) -> str:
        return f"address #{self.pk}"


class TicketStatus(models.TextChoices):
    NEW = "new", _("Waiting for dispatch")
    OFFERED = "offered", _("Offered")
    ACCEPTED = "accepted", _("Accepted")
    RESPONDED = "responded", _("Customer contacted")
    EN_ROUTE = "en_route", _("On the way")
    ON_SITE = "on_site", _("On site")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for customer")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


S = TicketStatus
# The one transition table (DESIGN §4). waiting_customer returns to the status it came from (status_before_wait).
ALLOWED = {
    S.NEW: {S.OFFERED, S.ACCEPTED, S.WAITING_CUSTOMER, S.CANCELLED},
    S.OFFERED: {S.NEW, S.ACCEPTED, S.CANCELLED},
    S.ACCEPTED: {S.RESPONDED, S.EN_ROUTE, S.NEW, S.WAITING_CUSTOMER, S.CANCELLED},
    S.RESPONDED: {S.EN_ROUTE, S.NEW, S.WAITING_CUSTOMER, S.CANCELLED},
    S.EN_ROUTE: {S.ON_SITE, S.WAITING_CUSTOMER, S.CANCELLED},
    S.ON_SITE: {S.COMPLETED, S.WAITING_CUSTOMER},
    S.WAITING_CUSTOMER: {S.NEW, S.ACCEPTED, S.RESPONDED, S.EN_ROUTE, S.ON_SITE, S.CANCELLED},
    S.COMPLETED: {S.CLOSED},
    S.CLOSED: set(),
    S.CANCELLED: set(),
}
OPEN_STATUSES = [s for s in S if s not in {S.COMPLETED, S.CLOSED, S.CANCELLED}]


class Ticket(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        WEB = "web", _("Online form")
        API = "api", _("Telephony / API")

    class Category(models.TextChoices):
        LOCKED_OUT = "locked_out", _("Locked out")
        BIOMETRIC = "biometric", _("Fingerprint or face not recognised")
        POWER = "power", _("Battery or power")
        MECHANICAL = "mechanical", _("Mechanical fault")
        INSTALLATION = "installation", _("Installation")
        OTHER = "other", _("Other")

    class Urgency(models.TextChoices):
        NORMAL = "normal", _("Normal")
        URGENT = "urgent", _("Urgent")

    number = models.CharField(_("number"), max_length=16)  # unique: dispatch_ticket_number_unique
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    address = models.ForeignKey(Address, on_delete=models.PROTECT, related_name="tickets")
    division = models.ForeignKey("regions.Division", on_delete=models.PROTECT, related_name="+", db_index=False)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    category = models.CharField(_("problem"), max_length=16, choices=Category.choices)
    lock_brand = models.CharField(_("lock brand"), max_length=60, blank=True)
    lock_model = models.CharField(_("lock model"), max_length=60, blank=True)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    status = models.CharField(_("status"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW)
    status_before_wait = models.CharField(max_length=20, choices=TicketStatus.choices, blank=True)
    status_changed_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    appointment_start = models.DateTimeField(_("appointment from"), null=True, blank=True)
    appointment_end = models.DateTimeField(_("appointment until"), null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    en_route_at = models.DateTimeField(null=True, blank=True)
    on_site_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    inspection_fee_waived = models.BooleanField(_("first inspection free"), default=False)
    fee_waiver_reason = models.CharField(max_length=200, blank=True)
    fee = models.DecimalField(_("fee"), max_digits=9, decimal_places=2, null=True, blank=True)
    insurance_policy = models.ForeignKey(
        "InsurancePolicy",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="covered_tickets",
        verbose_name=_("covered by"),
        help_text=_("The after-sales policy that covers this job's fees."),
    )
    notes = models.TextField(_("notes"), blank=True)
    technician = models.ForeignKey(
        "Technician",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("technician"),
        db_index=False,  # dispatch_ticket_technician (technician, status) serves every lookup by technician
    )
    needs_manual_dispatch = models.BooleanField(
        _("needs manual dispatch"), default=False, help_text=_("Auto-dispatch found nobody or ran out of offers.")
    )
    dispatch_note = models.CharField(_("dispatch note"), max_length=200, blank=True)
    arrival_lat = models.FloatField(null=True, blank=True)
    arrival_lng = models.FloatField(null=True, blank=True)
    arrival_distance_m = models.PositiveIntegerField(
        _("distance from the address on arrival (m)"), null=True, blank=True
    )
    work_done = models.TextField(_("work done"), blank=True)
    parts = models.CharField(_("parts used"), max_length=300, blank=True)
    inspection_fee = models.DecimalField(_("inspection fee"), max_digits=9, decimal_places=2, null=True, blank=True)
    labour_fee = models.DecimalField(_("labour"), max_digits=9, decimal_places=2, null=True, blank=True)
    parts_fee = models.DecimalField(_("parts"), max_digits=9, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        # Every index is paid for on each ticket created: no LIKE twins (numbers and division codes are looked up
        # exactly) and no single-column index that a composite one already leads with.
        constraints = [
            models.UniqueConstraint(fields=["number"], name="dispatch_ticket_number_unique"),
            # 首次免费上门检测: one free first inspection per customer, even for two tickets created at the same
            # moment; a cancelled ticket gives it back.
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(inspection_fee_waived=True) & ~Q(status="cancelled"),
                name="dispatch_one_free_inspection",
            ),
            models.CheckConstraint(
                condition=Q(appointment_end__isnull=True)
                | (Q(appointment_start__isnull=False) & Q(appointment_end__gt=models.F("appointment_start"))),
                name="dispatch_appointment_window",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["new", "offered", "cancelled"])
                | Q(technician__isnull=False)
                | Q(status="waiting_customer", status_before_wait__in=["new", "offered"]),
                name="dispatch_worked_ticket_has_technician",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="dispatch_ticket_status"),
            models.Index(fields=["technician", "status"], name="dispatch_ticket_technician"),
            models.Index(fields=["division"], name="dispatch_ticket_division"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketEvent(models.Model):
    """Append-only timeline: every status change and every reveal of personal data writes one."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        STATUS = "status", _("Status changed")
        PII_REVEAL = "pii_reveal", _("Personal data revealed")
        SLA = "sla", _("SLA")
        INSURANCE = "insurance", _("Insurance sold")
        OFFER = "offer", _("Offer")
        DISPATCH = "dispatch", _("Dispatch")
        MEDIA = "media", _("Photo or recording")

    # Indexed by dispatch_event_ticket (ticket, at).
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events", db_index=False)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    old_status = models.CharField(max_length=20, blank=True)
    new_status = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["ticket", "at"], name="dispatch_event_ticket")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.at}"

    @property
    def new_status_label(self) -> str:
        return TicketStatus(self.new_status).label if self.new_status in TicketStatus.values else self.new_status


class TicketCounter(models.Model):
    """Last number issued per day (Asia/Shanghai), for 20261125-0042; bumped with one upsert, so never twice."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class InsurancePlan(models.Model):
    """售后服务保险: an after-sales plan the business sells on a completed job."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    price = models.DecimalField(_("price"), max_digits=8, decimal_places=2)
    duration_days = models.PositiveIntegerField(_("valid for (days)"))
    covered_categories = ArrayField(
        models.CharField(max_length=16, choices=Ticket.Category.choices),
        verbose_name=_("covered problems"),
        help_text=_("Later jobs with one of these problems have their fees waived."),
    )
    description = models.TextField(_("what is covered"), blank=True)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("insurance plan")
        verbose_name_plural = _("insurance plans")
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="dispatch_plan_price"),
            models.CheckConstraint(condition=models.Q(duration_days__gt=0), name="dispatch_plan_duration"),
        ]

    def __str__(self) -> str:
        return self.name


class InsurancePolicy(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="policies")
    plan = models.ForeignKey(InsurancePlan, on_delete=models.PROTECT, related_name="policies")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="policies_sold", help_text=_("The job it was sold on.")
    )
    sold_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    purchased_at = models.DateTimeField(_("purchased at"))
    valid_until = models.DateTimeField(_("valid until"))
    price = models.DecimalField(_("price paid"), max_digits=8, decimal_places=2)

    class Meta:
        verbose_name = _("insurance policy")
        verbose_name_plural = _("insurance policies")
        constraints = [
            # A plan is sold once per job.
            models.UniqueConstraint(fields=["ticket", "plan"], name="dispatch_policy_once_per_job"),
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("purchased_at")), name="dispatch_policy_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} #{self.pk}"


class Notification(models.Model):
    """A message to the customer about their ticket, written in the ticket's transaction and sent after commit."""

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Request received")
        ASSIGNED = "assigned", _("Technician assigned")
        EN_ROUTE = "en_route", _("Technician on the way")
        COMPLETED = "completed", _("Repair completed")

    # Indexed by dispatch_notification_once (ticket, kind).
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notifications", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    body = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    queued_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            # Never twice: one message of each kind per ticket.
            models.UniqueConstraint(fields=["ticket", "kind"], name="dispatch_notification_once"),
        ]
        indexes = [models.Index(fields=["queued_at"], condition=Q(sent_at__isnull=True), name="dispatch_notify_unsent")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class Skill(models.Model):
    """What a technician can repair: a kind of problem (the ticket's category) or a lock brand."""

    class Kind(models.TextChoices):
        CATEGORY = "category", _("Problem")
        BRAND = "brand", _("Lock brand")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Technician(models.Model):
    """A repair technician (师傅): who they are, what and where they repair, how much at once, and where they are."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="technician")
    name = models.CharField(_("name"), max_length=40)
    phone = models.CharField(_("phone"), max_length=20, help_text=_("E.164, e.g. +8613800138000"))
    skills = models.ManyToManyField(Skill, blank=True, related_name="technicians", verbose_name=_("skills"))
    coverage = models.ManyToManyField(
        "regions.Division",
        blank=True,
        related_name="+",
        verbose_name=_("coverage"),
        help_text=_("Divisions served; a county covers all its townships."),
    )
    capacity = models.PositiveSmallIntegerField(_("concurrent jobs"), default=2)
    rating = models.DecimalField(_("rating"), max_digits=2, decimal_places=1, default=5)
    is_active = models.BooleanField(_("employed"), default=True)
    is_on_duty = models.BooleanField(_("on duty"), default=False)
    duty_changed_at = models.DateTimeField(null=True, blank=True)
    location_consent_at = models.DateTimeField(_("location sharing agreed at"), null=True, blank=True)
    last_lat = models.FloatField(null=True, blank=True)
    last_lng = models.FloatField(null=True, blank=True)
    last_seen_at = models.DateTimeField(_("position seen at"), null=True, blank=True)
    last_job_at = models.DateTimeField(_("last job accepted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("technician")
        verbose_name_plural = _("technicians")
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="dispatch_technician_capacity"),
            models.CheckConstraint(condition=Q(rating__gte=0) & Q(rating__lte=5), name="dispatch_technician_rating"),
        ]
        indexes = [models.Index(fields=["is_on_duty"], condition=Q(is_active=True), name="dispatch_on_duty")]

    def __str__(self) -> str:
        return self.name


class DutyPeriod(models.Model):
    """One stretch on duty, from the phone's toggle: operators see today's shifts, managers count staffing."""

    technician = models.ForeignKey(Technician, on_delete=models.CASCADE, related_name="duty_periods")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["technician"], condition=Q(ended_at__isnull=True), name="dispatch_one_open_duty_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.technician_id} {self.started_at}"


class DispatchRule(models.Model):
    """How tickets in a region are offered: one technician at a time (best score first) or to all at once (抢单)."""

    class Mode(models.TextChoices):
        BEST = "best", _("Best technician first")
        BATCHED = "batched", _("Batched: the best overall assignment of waiting tickets every few seconds")
        GRAB = "grab", _("Grab mode: offer to all, first accept wins")

    division = models.OneToOneField(
        "regions.Division", on_delete=models.CASCADE, related_name="+", verbose_name=_("region")
    )
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, default=Mode.BEST)

    class Meta:
        verbose_name = _("dispatch rule")
        verbose_name_plural = _("dispatch rules")

    def __str__(self) -> str:
        return f"{self.division_id}: {self.mode}"


class OfferOutcome(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    RELEASED = "released", _("Released (reassigned)")


class Offer(models.Model):
    """A job offered to one technician, with an accept window kept by an SLA deadline and the reasons for the choice."""

    class Mode(models.TextChoices):
        AUTO = "auto", _("Auto-dispatch")
        GRAB = "grab", _("Grab mode")
        MANUAL = "manual", _("Operator")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="offers")
    technician = models.ForeignKey(Technician, on_delete=models.PROTECT, related_name="offers")
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices)
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    offered_at = models.DateTimeField(_("offered at"))
    expires_at = models.DateTimeField(_("expires at"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=OfferOutcome.choices, default="pending")
    answered_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    score = models.FloatField(_("score"), null=True, blank=True)
    explanation = models.JSONField(
        default=dict, blank=True, help_text=_("Candidates considered, their score parts, and who was left out and why.")
    )

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["-offered_at", "-pk"]
        constraints = [
            # Never double-booked: at most one accepted technician per ticket, one live offer per technician and ticket.
            models.UniqueConstraint(fields=["ticket"], condition=Q(outcome="accepted"), name="dispatch_one_accepted"),
            models.UniqueConstraint(
                fields=["ticket", "technician"], condition=Q(outcome="pending"), name="dispatch_one_pending_offer"
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("offered_at")), name="dispatch_offer_window"),
        ]
        indexes = [
            models.Index(fields=["technician", "outcome"], name="dispatch_offer_technician"),
        ]

    def __str__(self) -> str:
        return f"offer #{self.pk} {self.ticket_id} → {self.technician_id}"

    def is_expired(self, now) -> bool:
        return now >= self.expires_at


def private_storage():
    """Photos and recordings live outside the web root and are served only through permission-checked links."""
    return storages["private"]


class Media(models.Model):
    """A photo, recording or video of a job, kept outside the web root; its sha256 proves the bytes are unchanged."""

    class Kind(models.TextChoices):
        PHOTO_BEFORE = "photo_before", _("Photo before")
        PHOTO_AFTER = "photo_after", _("Photo after")
        RECORDING = "recording", _("Repair recording")
        VIDEO = "video", _("Video")

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="media")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    client_id = models.UUIDField(_("upload id"), unique=True, help_text=_("Made by the phone; a retry finds the row."))
    file = models.FileField(_("file"), upload_to="media/%Y/%m/", storage=private_storage)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("type"), max_length=40)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))
    captured_at = models.DateTimeField(_("captured at"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("length (s)"), null=True, blank=True)
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("photo or recording")
        verbose_name_plural = _("photos and recordings")
        ordering = ["uploaded_at", "pk"]
        indexes = [models.Index(fields=["ticket", "kind"], name="dispatch_media_ticket")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class MediaAccess(models.Model):
    """Every playback or download of a photo or recording: who, when, how."""

    class Action(models.TextChoices):
        LINK = "link", _("Link issued")
        VIEW = "view", _("Viewed or played")
        DOWNLOAD = "download", _("Downloaded")

    media = models.ForeignKey(Media, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=8, choices=Action.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.media_id} {self.action} {self.at}"
