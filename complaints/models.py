from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _


class ComplaintStatus(models.TextChoices):
    FILED = "filed", _("Filed")
    IN_REVIEW = "in_review", _("In review")
    PENDING_APPROVAL = "pending_approval", _("Waiting for a manager's approval")
    DECIDED = "decided", _("Decided")
    APPEALED = "appealed", _("Appealed")
    CLOSED = "closed", _("Closed")


S = ComplaintStatus
# The one transition table. A decision over the approval threshold waits for a manager (PENDING_APPROVAL), who
# approves it (DECIDED, or CLOSED for the decision on an appeal) or sends it back (IN_REVIEW / APPEALED).
ALLOWED = {
    S.FILED: {S.IN_REVIEW},
    S.IN_REVIEW: {S.PENDING_APPROVAL, S.DECIDED},
    S.PENDING_APPROVAL: {S.DECIDED, S.CLOSED, S.IN_REVIEW, S.APPEALED},
    S.DECIDED: {S.APPEALED},
    S.APPEALED: {S.PENDING_APPROVAL, S.CLOSED},
    S.CLOSED: set(),
}
OPEN_STATUSES = [S.FILED, S.IN_REVIEW, S.PENDING_APPROVAL, S.APPEALED]
REVIEW_STATUSES = frozenset({S.IN_REVIEW, S.APPEALED})


class Party(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    TECHNICIAN = "technician", _("Technician")


class Remedy(models.TextChoices):
    RE_SERVICE = "re_service", _("Re-service")
    PARTIAL_REFUND = "partial_refund", _("Partial refund")
    FULL_REFUND = "full_refund", _("Full refund")
    COMPENSATION = "compensation", _("Compensation")


# Remedies that pay money carry an amount.
PAID_REMEDIES = frozenset({Remedy.PARTIAL_REFUND, Remedy.FULL_REFUND, Remedy.COMPENSATION})


class Complaint(models.Model):
    """投诉: a customer's complaint about a ticket, reviewed by a person with both sides heard."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        ONLINE = "online", _("Online")

    class Category(models.TextChoices):
        LATE_NO_SHOW = "late_no_show", _("Late or no-show")
        ATTITUDE = "attitude", _("Attitude")
        QUALITY = "quality", _("Repair quality")
        PRICE = "price", _("Price")
        DAMAGE = "damage", _("Damage")
        OTHER = "other", _("Other")

    ticket = models.ForeignKey("dispatch.Ticket", on_delete=models.PROTECT, related_name="complaints")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    description = models.TextField(_("what happened"))
    remedy_requested = models.CharField(_("remedy asked for"), max_length=16, choices=Remedy.choices)
    amount_requested = models.DecimalField(_("amount asked for"), max_digits=9, decimal_places=2, null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ComplaintStatus.choices, default=S.FILED)
    status_changed_at = models.DateTimeField()
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    filed_at = models.DateTimeField(_("filed at"))
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    is_escalated = models.BooleanField(_("escalated to a manager"), default=False)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        constraints = [
            # One complaint in progress per ticket: a second filing (the customer online while the operator types it
            # in) is refused rather than doubled.
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(status__in=["filed", "in_review", "pending_approval", "appealed"]),
                name="complaints_one_open_per_ticket",
            ),
            models.CheckConstraint(
                condition=Q(amount_requested__isnull=True) | Q(amount_requested__gte=0),
                name="complaints_amount_requested_positive",
            ),
        ]
        indexes = [models.Index(fields=["status", "filed_at"], name="complaints_status")]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"TS{self.pk:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ComplaintEvent(models.Model):
    """Append-only timeline of a complaint: every step, every SLA event and every look at an original file."""

    class Kind(models.TextChoices):
        FILED = "filed", _("Filed")
        STATUS = "status", _("Status changed")
        STATEMENT = "statement", _("Technician statement")
        EVIDENCE = "evidence", _("Evidence added")
        EVIDENCE_REQUEST = "evidence_request", _("Evidence requested")
        EVIDENCE_REQUEST_CLOSED = "evidence_request_closed", _("Evidence request closed")
        EVIDENCE_OPENED = "evidence_opened", _("Original file opened")
        REINSPECTION = "reinspection", _("Re-inspection ordered")
        DECISION = "decision", _("Decision")
        APPROVAL = "approval", _("Second approval")
        APPEAL = "appeal", _("Appeal")
        SLA = "sla", _("SLA")
        ESCALATED = "escalated", _("Escalated to a manager")

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    party = models.CharField(max_length=16, blank=True, help_text=_("customer / technician / staff"))
    kind = models.CharField(max_length=24, choices=Kind.choices)
    old_status = models.CharField(max_length=20, blank=True)
    new_status = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["complaint", "at"], name="complaints_event_complaint")]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.kind} {self.at}"

    @property
    def new_status_label(self) -> str:
        return S(self.new_status).label if self.new_status in S.values else self.new_status


class Statement(models.Model):
    """The technician's side: accepts the complaint or disputes it with their account."""

    class Position(models.TextChoices):
        ACCEPT = "accept", _("Accepts the complaint")
        DISPUTE = "dispute", _("Disputes the complaint")

    complaint = models.OneToOneField(Complaint, on_delete=models.CASCADE, related_name="statement")
    technician = models.ForeignKey("dispatch.Technician", on_delete=models.PROTECT, related_name="+")
    position = models.CharField(_("position"), max_length=8, choices=Position.choices)
    text = models.TextField(_("statement"), blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(position="accept") | ~Q(text=""), name="complaints_dispute_has_text"),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.position}"


class EvidenceRequest(models.Model):
    """The reviewer asks one side for more evidence by a deadline; for the customer the decision clock pauses."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="evidence_requests")
    party = models.CharField(_("asked of"), max_length=16, choices=Party.choices)
    instructions = models.TextField(_("instructions"))
    due_at = models.DateTimeField(_("due by"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    requested_at = models.DateTimeField()
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            # One open request per side at a time: the answer goes to the one the party sees.
            models.UniqueConstraint(
                fields=["complaint", "party"],
                condition=Q(fulfilled_at__isnull=True, closed_at__isnull=True),
                name="complaints_one_open_request_per_party",
            ),
            models.CheckConstraint(condition=Q(due_at__gt=models.F("requested_at")), name="complaints_request_due"),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} → {self.party}"

    @property
    def is_open(self) -> bool:
        return self.fulfilled_at is None and self.closed_at is None


def private_storage():
    """Evidence lives outside the web root beside the job's media, served only through permission checks."""
    return storages["private"]


class Evidence(models.Model):
    """A photo or video one side sent; the original bytes are kept unchanged (sha256) and every opening is logged."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("Photo")
        VIDEO = "video", _("Video")

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="evidence")
    party = models.CharField(_("from"), max_length=16, choices=Party.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="evidence/%Y/%m/", storage=private_storage)
    # A JPEG re-encoded from the pixels only (no EXIF/GPS/XMP), made by the check task; what the workspace shows.
    display_file = models.FileField(
        _("display copy"), upload_to="evidence/display/%Y/%m/", storage=private_storage, blank=True
    )
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("type"), max_length=40)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty for a customer uploading online."),
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))
    request = models.ForeignKey(
        EvidenceRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="evidence"
    )
    is_appeal = models.BooleanField(_("sent with the appeal"), default=False)
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return f"{self.party} {self.kind} #{self.pk}"


def _hash_chunk(shift: int):
    # The 16-bit chunk columns forensics.near_hash_sql searches: ((phash >> shift) & 65535)::integer, as in
    # bench/evidence.py. `>>` on a signed bigint is arithmetic, and the mask keeps only the 16 wanted bits.
    expression = F("phash").bitrightshift(shift) if shift else F("phash")
    return models.GeneratedField(
        expression=Cast(expression.bitand(65535), models.IntegerField()),
        output_field=models.IntegerField(),
        db_persist=True,
    )


class ImageHash(models.Model):
    """Perceptual hashes of one photo (a complaint's evidence or a job's before/after photo), searched in PostgreSQL
    for near-duplicates through the four indexed 16-bit chunks of the pHash."""

    evidence = models.OneToOneField(
        Evidence, on_delete=models.CASCADE, null=True, blank=True, related_name="image_hash"
    )
    media = models.OneToOneField(
        "dispatch.Media", on_delete=models.CASCADE, null=True, blank=True, related_name="image_hash"
    )
    # Set for evidence rows: the search for "the same photo in another complaint" excludes this complaint's own.
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    phash = models.BigIntegerField()
    phash_mirror = models.BigIntegerField()
    dhash = models.BigIntegerField()
    low_detail = models.BooleanField(default=False)
    computed_at = models.DateTimeField()
    c0 = _hash_chunk(48)
    c1 = _hash_chunk(32)
    c2 = _hash_chunk(16)
    c3 = _hash_chunk(0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(evidence__isnull=False) & Q(media__isnull=True))
                | (Q(evidence__isnull=True) & Q(media__isnull=False)),
                name="complaints_image_hash_one_source",
            ),
        ]
        indexes = [models.Index(fields=[f"c{index}"], name=f"complaints_image_hash_c{index}") for index in range(4)]

    def __str__(self) -> str:
        return f"hash of {'evidence' if self.evidence_id else 'media'} #{self.evidence_id or self.media_id}"


class EvidenceAccess(models.Model):
    """Every opening or download of an original evidence file: who and when."""

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField()
    is_download = models.BooleanField(default=False)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.evidence_id} {self.at}"


class EvidenceCheck(models.Model):
    """One signal about one evidence file (never a verdict): an AI label, editing software, capture time…"""

    class Level(models.TextChoices):
        # The forensics module's levels (complaints.forensics.Level).
        INFO = "info", _("Information")
        NOTICE = "notice", _("Worth a look")
        WARNING = "warning", _("Look closely")

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(_("signal"), max_length=40)
    level = models.CharField(_("level"), max_length=8, choices=Level.choices)
    message = models.TextField(_("message"))
    params = models.JSONField(default=dict, blank=True)
    checker_version = models.CharField(max_length=20, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        # "warning" > "notice" > "info" also alphabetically: the strongest first, as the reviewer reads them.
        ordering = ["-level", "pk"]

    def __str__(self) -> str:
        return f"{self.evidence_id} {self.kind} ({self.level})"


class Reinspection(models.Model):
    """A second visit by another technician to look at the lock: a ticket of its own, linked to the complaint."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="reinspections")
    ticket = models.OneToOneField("dispatch.Ticket", on_delete=models.PROTECT, related_name="reinspection_of")
    technician = models.ForeignKey("dispatch.Technician", on_delete=models.PROTECT, related_name="+")
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    ordered_at = models.DateTimeField()
    reason = models.CharField(_("what to check"), max_length=300)

    def __str__(self) -> str:
        return f"{self.complaint_id} → {self.ticket_id}"


class Decision(models.Model):
    """A person's decision on a complaint (or on its appeal); over the threshold it needs a manager's approval."""

    class Outcome(models.TextChoices):
        UPHELD = "upheld", _("Complaint upheld")
        PARTLY = "partly", _("Partly upheld")
        REJECTED = "rejected", _("Complaint not upheld")

    class Approval(models.TextChoices):
        NOT_NEEDED = "not_needed", _("Not needed")
        PENDING = "pending", _("Waiting for a manager")
        APPROVED = "approved", _("Approved")
        SENT_BACK = "sent_back", _("Sent back")

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="decisions")
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    remedy = models.CharField(_("remedy"), max_length=16, choices=Remedy.choices, blank=True)
    amount = models.DecimalField(_("amount"), max_digits=9, decimal_places=2, null=True, blank=True)
    reason = models.TextField(_("reason (shown to the customer)"))
    early_reason = models.CharField(
        _("why decide before the technician's statement window ends"), max_length=300, blank=True
    )
    is_appeal = models.BooleanField(default=False)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    approval = models.CharField(max_length=12, choices=Approval.choices, default=Approval.NOT_NEEDED)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.CharField(max_length=300, blank=True)
    # Signals, not verdicts: a decision that relies on a signal names it, and the customer sees which.
    signals_cited = models.ManyToManyField(
        "EvidenceCheck", blank=True, related_name="cited_by", verbose_name=_("signals relied on")
    )

    class Meta:
        ordering = ["decided_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gte=0), name="complaints_amount"),
            models.CheckConstraint(
                condition=Q(outcome="rejected") | ~Q(remedy=""), name="complaints_upheld_has_remedy"
            ),
            # The second approval is a second person.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("decided_by")),
                name="complaints_approver_not_decider",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} {self.outcome}"


class Appeal(models.Model):
    """The customer's one appeal against the decision, with new evidence."""

    complaint = models.OneToOneField(Complaint, on_delete=models.PROTECT, related_name="appeal")
    reason = models.TextField(_("why the decision is wrong"))
    filed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"appeal {self.complaint_id}"
