"""Complaints: filing, both sides heard, evidence, decisions by a person, one appeal. Every write goes through here,
in one transaction with the complaint's SLA clocks; nothing here ever decides a complaint by itself."""

import logging
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from accounts.roles import Role, user_roles
from audit.models import AccessLog
from audit.services import access_log_record
from complaints import forensics
from complaints.exceptions import (
    AmountRequired,
    AppealAlreadyFiled,
    AppealEvidenceRequired,
    AppealNotAllowed,
    ComplaintAlreadyOpen,
    ComplaintChanged,
    ComplaintClosed,
    EvidenceNotAllowed,
    EvidenceRequestOpen,
    InvalidAmount,
    InvalidDueTime,
    NotADecider,
    NotAManager,
    NoTechnicianOnJob,
    NotYourComplaint,
    ReasonRequired,
    RemedyRequired,
    SameTechnician,
    SelfApproval,
    SignalNotInComplaint,
    StatementAlreadyGiven,
    StatementTextRequired,
    StatementWindowOpen,
    TransitionNotAllowed,
)
from complaints.models import (
    ALLOWED,
    PAID_REMEDIES,
    Appeal,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Decision,
    Evidence,
    EvidenceAccess,
    EvidenceCheck,
    EvidenceRequest,
    ImageHash,
    Party,
    Reinspection,
    Statement,
)
from complaints.selectors import REVIEW_ROLES, evidence_may_open
from complaints.tasks import evidence_check_task
from dispatch.models import Media, MediaAccess, Technician, Ticket
from dispatch.services import ticket_create, ticket_offer
from sla.models import Deadline, DeadlineKind
from sla.selectors import deadline_get
from sla.services import deadline_meet, deadline_open, deadline_pause, deadline_resume, deadlines_open_new
from webhooks.services import webhook_complaint_event_record

logger = logging.getLogger(__name__)
S = ComplaintStatus

# Decisions paying more than this need a manager's second approval (DESIGN §6). A deployment knob, read at call time.
DEFAULT_SECOND_APPROVAL_AMOUNT = Decimal("500")
DECIDER_ROLES = frozenset({Role.REVIEWER, Role.MANAGER})
# How long the customer has to answer a request for evidence, unless the reviewer sets another deadline.
EVIDENCE_REQUEST_HOURS = 24
# The challenge–response step (notes/evidence-forensics.md §4): a fresh, continuous video is the cheapest defence
# against generated or edited stills. Chinese, because it goes to the customer whatever the reviewer's language.
CUSTOMER_VIDEO_INSTRUCTIONS = (
    "请在 {hours} 小时内上传一段连续拍摄、中间不剪辑的视频：先拍一张手写纸条，写明工单号 {number} 和今天的日期"
    "（{date}），然后不停机地拍摄门锁的损坏部位。"
)


def second_approval_amount() -> Decimal:
    """Return the amount above which a decision needs a manager's second approval."""
    return Decimal(str(getattr(settings, "COMPLAINT_SECOND_APPROVAL_AMOUNT", DEFAULT_SECOND_APPROVAL_AMOUNT)))


def _photo_limit() -> int:
    return settings.MEDIA_MAX_PHOTO_BYTES


def _video_limit() -> int:
    return getattr(settings, "COMPLAINT_MAX_VIDEO_BYTES", settings.MEDIA_MAX_AUDIO_BYTES)


def _event(
    *, complaint: Complaint, kind: str, at, by=None, party: str = "", reason: str = "", **data
) -> ComplaintEvent:
    event = ComplaintEvent.objects.create(
        complaint=complaint,
        kind=kind,
        at=at,
        actor=by,
        party=party or ("staff" if by is not None else ""),
        reason=reason[:500],
        old_status=data.pop("old_status", ""),
        new_status=data.pop("new_status", ""),
        data=data,
    )
    webhook_complaint_event_record(event=event)  # outbound webhooks' outbox, in this transaction (docs/webhooks.md)
    return event


def _complaint_transition(*, complaint: Complaint, to: str, by, now, reason: str = "", **fields) -> Complaint:
    """Move a complaint along ALLOWED with a guarded update and record the event; raises TransitionNotAllowed or
    ComplaintChanged (someone else moved it first)."""
    old = complaint.status
    if to not in ALLOWED[old]:
        raise TransitionNotAllowed(old, to)
    if Complaint.objects.filter(pk=complaint.pk, status=old).update(status=to, status_changed_at=now, **fields) != 1:
        raise ComplaintChanged(complaint.number)
    _event(
        complaint=complaint,
        kind=ComplaintEvent.Kind.STATUS,
        at=now,
        by=by,
        reason=reason,
        old_status=old,
        new_status=to,
    )
    complaint.refresh_from_db()
    return complaint


def _lock(complaint: Complaint) -> Complaint:
    return (
        Complaint.objects.select_for_update(no_key=True, of=("self",))
        .select_related("ticket__technician")
        .get(pk=complaint.pk)
    )


def _meet(*, complaint: Complaint, kind: str, now) -> None:
    deadline = deadline_get(subject=complaint, kind=kind)
    if deadline is not None and deadline.is_open:
        deadline_meet(deadline=deadline, now=now)


# ---- Evidence intake ------------------------------------------------------------------------------------------------


def evidence_inspect(*, upload) -> forensics.IntakeResult:
    """Check one upload with the forensics intake (size cap before reading when the size is declared, type sniffed
    from the bytes, decompression-bomb guard, sha256); photos have the smaller cap. Raises an EvidenceRefused
    subclass (EvidenceTooLarge, EvidenceEmpty, EvidenceTypeNotAllowed, EvidenceTooManyPixels, EvidenceUnreadable)."""
    photo_limit, video_limit = _photo_limit(), _video_limit()
    declared = getattr(upload, "size", None)
    content_type = getattr(upload, "content_type", "") or ""
    ceiling = photo_limit if content_type.startswith("image/") and declared and declared > photo_limit else video_limit
    intake = forensics.evidence_open(data=upload, declared_name=getattr(upload, "name", "") or "", max_bytes=ceiling)
    if intake.is_image and intake.size > photo_limit:
        raise forensics.EvidenceTooLarge(photo_limit)
    return intake


def _kind(intake: forensics.IntakeResult) -> str:
    return Evidence.Kind.PHOTO if intake.is_image else Evidence.Kind.VIDEO


def _stored(uploads) -> list[tuple[forensics.IntakeResult, str, str]]:
    """Inspect every upload (so one bad file refuses them all before any is kept) and store the originals unchanged;
    returns (intake, stored name, original name) each."""
    intakes = [(upload, evidence_inspect(upload=upload)) for upload in uploads]
    storage = Evidence._meta.get_field("file").storage
    kept = []
    for upload, intake in intakes:
        # The original bytes exactly as received (the display copy without EXIF/GPS is the forensics module's).
        day = timezone.localdate()
        name = storage.save(f"evidence/{day:%Y/%m}/{intake.sha256[:16]}{intake.extension}", ContentFile(intake.data))
        kept.append((intake, name, (getattr(upload, "name", "") or "")[:120]))
    return kept


def _discard(stored) -> None:
    storage = Evidence._meta.get_field("file").storage
    for _intake, name, _original in stored:
        storage.delete(name)


def _enqueue_check(evidence_id: int) -> None:
    try:
        evidence_check_task.delay(evidence_id=evidence_id)
    except (BrokerError, RedisError, OSError) as error:
        logger.warning("evidence %s not queued for checks (%s)", evidence_id, error)


def _evidence_rows(*, complaint: Complaint, party: str, stored, by, now, is_appeal: bool = False) -> list[Evidence]:
    request = complaint.evidence_requests.filter(party=party, fulfilled_at__isnull=True, closed_at__isnull=True).first()
    rows = []
    for intake, name, original in stored:
        evidence = Evidence.objects.create(
            complaint=complaint,
            party=party,
            kind=_kind(intake),
            file=name,
            sha256=intake.sha256,
            size=intake.size,
            content_type=intake.content_type,
            uploaded_by=by,
            uploaded_at=now,
            request=request,
            is_appeal=is_appeal,
            meta={"filename": original},
        )
        _event(
            complaint=complaint,
            kind=ComplaintEvent.Kind.EVIDENCE,
            at=now,
            by=by,
            party=party,
            evidence=evidence.pk,
            evidence_kind=_kind(intake),
            sha256=intake.sha256,
            size=intake.size,
            content_type=intake.content_type,
        )
        # Signals are computed after commit, in the worker: never in the request, never blocking the upload.
        transaction.on_commit(partial(_enqueue_check, evidence.pk))
        rows.append(evidence)
    if request is not None and rows:
        EvidenceRequest.objects.filter(pk=request.pk).update(fulfilled_at=now)
        _event(
            complaint=complaint,
            kind=ComplaintEvent.Kind.EVIDENCE_REQUEST_CLOSED,
            at=now,
            by=by,
            party=party,
            request=request.pk,
            outcome="fulfilled",
        )
        if party == Party.CUSTOMER:
            _resume_decision_clock(complaint=complaint, now=now, by=by)
    return rows


# ---- Filing ---------------------------------------------------------------------------------------------------------


def _check_amount(*, remedy: str, amount: Decimal | None, required: bool) -> None:
    if amount is not None and amount < 0:
        raise InvalidAmount()
    if required and remedy in PAID_REMEDIES and amount is None:
        raise AmountRequired()


def complaint_file(
    *,
    ticket: Ticket,
    channel: str,
    category: str,
    description: str,
    remedy_requested: str,
    amount_requested: Decimal | None = None,
    uploads=(),
    by=None,
    now=None,
) -> Complaint:
    """File a complaint about a ticket, start its acknowledge and decision clocks and, when a technician worked the job,
    their statement window; keeps the customer's files. Raises ReasonRequired (no description), InvalidAmount,
    ComplaintAlreadyOpen or an evidence intake error (then nothing is kept)."""
    now = now or timezone.now()
    if not (description or "").strip():
        raise ReasonRequired()
    _check_amount(remedy=remedy_requested, amount=amount_requested, required=False)
    stored = _stored(uploads)
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    complaint = Complaint.objects.create(
                        ticket=ticket,
                        channel=channel,
                        category=category,
                        description=description.strip(),
                        remedy_requested=remedy_requested,
                        amount_requested=amount_requested,
                        status=S.FILED,
                        status_changed_at=now,
                        filed_by=by,
                        filed_at=now,
                    )
            except IntegrityError:
                raise ComplaintAlreadyOpen(ticket.number) from None
            _event(
                complaint=complaint,
                kind=ComplaintEvent.Kind.FILED,
                at=now,
                by=by,
                party="staff" if by is not None else Party.CUSTOMER,
                new_status=S.FILED,
                channel=channel,
            )
            deadlines_open_new(
                subject=complaint,
                kinds=[DeadlineKind.COMPLAINT_ACKNOWLEDGE, DeadlineKind.COMPLAINT_DECISION],
                now=now,
                division_code=ticket.division_id,
            )
            if ticket.technician_id is not None:
                # Both sides heard: the technician gets a window to answer before anyone decides.
                deadline_open(
                    subject=complaint,
                    kind=DeadlineKind.TECHNICIAN_STATEMENT,
                    now=now,
                    division_code=ticket.division_id,
                )
            _evidence_rows(complaint=complaint, party=Party.CUSTOMER, stored=stored, by=by, now=now)
    except BaseException:
        _discard(stored)
        raise
    return complaint


@transaction.atomic
def complaint_acknowledge(*, complaint: Complaint, by, now=None) -> Complaint:
    """Take a filed complaint into review and meet its acknowledge clock; raises TransitionNotAllowed."""
    now = now or timezone.now()
    complaint = _lock(complaint)
    complaint = _complaint_transition(complaint=complaint, to=S.IN_REVIEW, by=by, now=now, acknowledged_at=now)
    _meet(complaint=complaint, kind=DeadlineKind.COMPLAINT_ACKNOWLEDGE, now=now)
    return complaint


# ---- The technician's side ------------------------------------------------------------------------------------------


def _check_technician(*, complaint: Complaint, by) -> Technician:
    technician = complaint.ticket.technician
    if technician is None or technician.user_id != by.pk:
        raise NotYourComplaint()
    return technician


@transaction.atomic
def statement_submit(*, complaint: Complaint, by, position: str, text: str = "", now=None) -> Statement:
    """Record the job's technician's answer (accept, or dispute with their account) and meet their statement clock;
    raises NotYourComplaint, ComplaintClosed, StatementTextRequired or StatementAlreadyGiven."""
    now = now or timezone.now()
    complaint = _lock(complaint)
    technician = _check_technician(complaint=complaint, by=by)
    if not complaint.is_open:
        raise ComplaintClosed()
    text = (text or "").strip()
    if position == Statement.Position.DISPUTE and not text:
        raise StatementTextRequired()
    try:
        with transaction.atomic():
            statement = Statement.objects.create(
                complaint=complaint, technician=technician, position=position, text=text, submitted_at=now
            )
    except IntegrityError:
        raise StatementAlreadyGiven() from None
    _event(
        complaint=complaint,
        kind=ComplaintEvent.Kind.STATEMENT,
        at=now,
        by=by,
        party=Party.TECHNICIAN,
        reason=text,
        position=position,
    )
    _meet(complaint=complaint, kind=DeadlineKind.TECHNICIAN_STATEMENT, now=now)
    return statement


def evidence_add(*, complaint: Complaint, party: str, uploads, by=None, now=None) -> list[Evidence]:
    """Keep more photos or videos from one side (the technician only on their own job) and close that side's open
    evidence request; raises NotYourComplaint, ComplaintClosed or an evidence intake error (nothing kept)."""
    now = now or timezone.now()
    if party == Party.TECHNICIAN:
        _check_technician(complaint=Complaint.objects.select_related("ticket__technician").get(pk=complaint.pk), by=by)
    stored = _stored(uploads)
    try:
        with transaction.atomic():
            complaint = _lock(complaint)
            if not complaint.is_open:
                raise ComplaintClosed()
            return _evidence_rows(complaint=complaint, party=party, stored=stored, by=by, now=now)
    except BaseException:
        _discard(stored)
        raise


# ---- Evidence requests and re-inspection -----------------------------------------------------------------------------


def _pause_decision_clock(*, complaint: Complaint, now, by, reason: str) -> None:
    deadline = deadline_get(subject=complaint, kind=DeadlineKind.COMPLAINT_DECISION)
    if deadline is not None and deadline.state == Deadline.State.PENDING:
        deadline_pause(deadline=deadline, now=now, reason=reason, by=by)


def _resume_decision_clock(*, complaint: Complaint, now, by) -> None:
    deadline = deadline_get(subject=complaint, kind=DeadlineKind.COMPLAINT_DECISION)
    if deadline is not None and deadline.state == Deadline.State.PAUSED:
        deadline_resume(deadline=deadline, now=now, by=by)


def customer_video_instructions(*, complaint: Complaint, now, hours: int = EVIDENCE_REQUEST_HOURS) -> str:
    """Return the continuous-video instruction for the customer, with the ticket number and today's date."""
    return CUSTOMER_VIDEO_INSTRUCTIONS.format(
        hours=hours, number=complaint.ticket.number, date=f"{timezone.localdate(now):%Y-%m-%d}"
    )


@transaction.atomic
def evidence_request_create(
    *, complaint: Complaint, party: str, by, instructions: str = "", due_at=None, now=None
) -> EvidenceRequest:
    """Ask one side for more evidence by a deadline (the customer: the continuous video unless told otherwise); while
    the customer is asked, the decision clock pauses. Raises ComplaintClosed, NoTechnicianOnJob, InvalidDueTime or
    EvidenceRequestOpen."""
    now = now or timezone.now()
    complaint = _lock(complaint)
    if complaint.status not in {S.FILED, S.IN_REVIEW, S.APPEALED}:
        raise ComplaintClosed()
    if party == Party.TECHNICIAN and complaint.ticket.technician_id is None:
        raise NoTechnicianOnJob()
    due_at = due_at or now + timedelta(hours=EVIDENCE_REQUEST_HOURS)
    if due_at <= now:
        raise InvalidDueTime()
    instructions = (instructions or "").strip()
    if not instructions and party == Party.CUSTOMER:
        hours = max(1, round((due_at - now).total_seconds() / 3600))
        instructions = customer_video_instructions(complaint=complaint, now=now, hours=hours)
    if not instructions:
        raise ReasonRequired()
    if complaint.status == S.FILED:
        complaint = _acknowledge_locked(complaint=complaint, by=by, now=now)
    try:
        with transaction.atomic():
            request = EvidenceRequest.objects.create(
                complaint=complaint,
                party=party,
                instructions=instructions,
                due_at=due_at,
                requested_by=by,
                requested_at=now,
            )
    except IntegrityError:
        raise EvidenceRequestOpen() from None
    _event(
        complaint=complaint,
        kind=ComplaintEvent.Kind.EVIDENCE_REQUEST,
        at=now,
        by=by,
        reason=instructions,
        request=request.pk,
        asked=party,
        due_at=due_at.isoformat(),
    )
    if party == Party.CUSTOMER:
        # Waiting on the customer is not the reviewer's delay (as waiting_customer pauses a ticket's clocks).
        _pause_decision_clock(complaint=complaint, now=now, by=by, reason="等待客户补充证据")
    return request


@transaction.atomic
def evidence_request_close(*, request: EvidenceRequest, by, now=None) -> EvidenceRequest:
    """Stop waiting for an answer (the deadline passed, or it is no longer needed) and restart the decision clock."""
    now = now or timezone.now()
    complaint = _lock(request.complaint)
    if EvidenceRequest.objects.filter(pk=request.pk, fulfilled_at__isnull=True, closed_at__isnull=True).update(
        closed_at=now
    ):
        _event(
            complaint=complaint,
            kind=ComplaintEvent.Kind.EVIDENCE_REQUEST_CLOSED,
            at=now,
            by=by,
            request=request.pk,
            outcome="closed",
        )
        if request.party == Party.CUSTOMER:
            _resume_decision_clock(complaint=complaint, now=now, by=by)
    request.refresh_from_db()
    return request


@transaction.atomic
def reinspection_order(*, complaint: Complaint, technician: Technician, by, reason: str, now=None) -> Reinspection:
    """Send another technician to look at the lock: a new ticket for the same customer and address, offered to that
    technician through dispatch. Raises ReasonRequired, ComplaintClosed, SameTechnician or dispatch's errors."""
    now = now or timezone.now()
    if not (reason or "").strip():
        raise ReasonRequired()
    complaint = _lock(complaint)
    if not complaint.is_open:
        raise ComplaintClosed()
    original = Ticket.objects.select_related("customer", "address", "division").get(pk=complaint.ticket_id)
    if technician.pk == original.technician_id:
        raise SameTechnician()
    ticket = ticket_create(
        phone=original.customer.phone,
        division=original.division,
        address_detail=original.address.detail,
        category=original.category,
        lock_brand=original.lock_brand,
        lock_model=original.lock_model,
        notes=f"投诉 {complaint.number} 复检（原工单 {original.number}）：{reason.strip()}",
        by=by,
        now=now,
        allow_outside_area=True,
        allow_duplicate=True,
    )
    ticket_offer(ticket=ticket, technician=technician, by=by, now=now)
    reinspection = Reinspection.objects.create(
        complaint=complaint, ticket=ticket, technician=technician, ordered_by=by, ordered_at=now, reason=reason.strip()
    )
    _event(
        complaint=complaint,
        kind=ComplaintEvent.Kind.REINSPECTION,
        at=now,
        by=by,
        reason=reason.strip(),
        ticket=ticket.number,
        technician=technician.pk,
    )
    return reinspection


# ---- Decisions ------------------------------------------------------------------------------------------------------


def _acknowledge_locked(*, complaint: Complaint, by, now) -> Complaint:
    complaint = _complaint_transition(complaint=complaint, to=S.IN_REVIEW, by=by, now=now, acknowledged_at=now)
    _meet(complaint=complaint, kind=DeadlineKind.COMPLAINT_ACKNOWLEDGE, now=now)
    return complaint


def statement_window_open(*, complaint: Complaint, now) -> Deadline | None:
    """Return the technician's statement clock if they can still answer (no statement yet, window not over)."""
    if Statement.objects.filter(complaint=complaint).exists():
        return None
    deadline = deadline_get(subject=complaint, kind=DeadlineKind.TECHNICIAN_STATEMENT)
    if deadline is None or deadline.state != Deadline.State.PENDING or now >= deadline.due_at:
        return None
    return deadline


def _final_status(*, is_appeal: bool) -> str:
    return S.CLOSED if is_appeal else S.DECIDED


@transaction.atomic
def complaint_decide(
    *,
    complaint: Complaint,
    by,
    outcome: str,
    reason: str,
    remedy: str = "",
    amount: Decimal | None = None,
    early_reason: str = "",
    signals_cited=(),
    now=None,
) -> Decision:
    """Record a person's decision with the reason the customer will read and the evidence signals it relies on (of
    this complaint's own evidence; the customer sees them with the reason). Over the approval amount it waits for a
    manager; otherwise the complaint is decided and its decision clock met. Raises NotADecider, ReasonRequired,
    AmountRequired, InvalidAmount, StatementWindowOpen (the technician can still answer and no reason was recorded),
    SignalNotInComplaint or TransitionNotAllowed."""
    now = now or timezone.now()
    if by is None or DECIDER_ROLES.isdisjoint(user_roles(by)):
        raise NotADecider()
    reason, early_reason = (reason or "").strip(), (early_reason or "").strip()
    if not reason:
        raise ReasonRequired()
    if outcome == Decision.Outcome.REJECTED:
        remedy, amount = "", None
    elif not remedy:
        raise RemedyRequired()
    _check_amount(remedy=remedy, amount=amount, required=True)
    complaint = _lock(complaint)
    if complaint.status == S.FILED:
        complaint = _acknowledge_locked(complaint=complaint, by=by, now=now)
    is_appeal = complaint.status == S.APPEALED
    if complaint.status not in {S.IN_REVIEW, S.APPEALED}:
        raise TransitionNotAllowed(complaint.status, S.DECIDED)
    window = statement_window_open(complaint=complaint, now=now)
    if window is not None and not early_reason:
        raise StatementWindowOpen(f"{timezone.localtime(window.due_at):%Y-%m-%d %H:%M}")
    cited = list(signals_cited)
    if any(check.evidence.complaint_id != complaint.pk for check in cited):
        raise SignalNotInComplaint()
    needs_approval = amount is not None and amount > second_approval_amount()
    decision = Decision.objects.create(
        complaint=complaint,
        outcome=outcome,
        remedy=remedy,
        amount=amount,
        reason=reason,
        early_reason=early_reason if window is not None else "",
        is_appeal=is_appeal,
        decided_by=by,
        decided_at=now,
        approval=Decision.Approval.PENDING if needs_approval else Decision.Approval.NOT_NEEDED,
    )
    decision.signals_cited.set(cited)
    _event(
        complaint=complaint,
        kind=ComplaintEvent.Kind.DECISION,
        at=now,
        by=by,
        reason=reason,
        decision=decision.pk,
        outcome=outcome,
        remedy=remedy,
        amount=str(amount) if amount is not None else None,
        early_reason=decision.early_reason,
        needs_approval=needs_approval,
        signals_cited=[check.pk for check in cited],
    )
    if needs_approval:
        _complaint_transition(complaint=complaint, to=S.PENDING_APPROVAL, by=by, now=now)
    else:
        _complaint_transition(
            complaint=complaint, to=_final_status(is_appeal=is_appeal), by=by, now=now, decided_at=now
        )
        _meet(complaint=complaint, kind=DeadlineKind.COMPLAINT_DECISION, now=now)
    return decision


def _lock_pending_decision(decision: Decision) -> tuple[Complaint, Decision]:
    complaint = _lock(decision.complaint)
    decision = Decision.objects.select_for_update(no_key=True).get(pk=decision.pk)
    if decision.approval != Decision.Approval.PENDING or complaint.status != S.PENDING_APPROVAL:
        raise TransitionNotAllowed(complaint.status, S.DECIDED)
    return complaint, decision


def _check_approver(*, decision: Decision, by) -> None:
    if by is None or Role.MANAGER not in user_roles(by):
        raise NotAManager()
    if by.pk == decision.decided_by_id:
        raise SelfApproval()


@transaction.atomic
def decision_approve(*, decision: Decision, by, note: str = "", now=None) -> Decision:
    """Give a manager's second approval to a decision over the threshold: the complaint is decided and its decision
    clock met. Raises NotAManager, SelfApproval or TransitionNotAllowed."""
    now = now or timezone.now()
    _check_approver(decision=decision, by=by)
    complaint, decision = _lock_pending_decision(decision)
    decision.approval, decision.approved_by, decision.approved_at = Decision.Approval.APPROVED, by, now
    decision.approval_note = (note or "").strip()[:300]
    decision.save(update_fields=["approval", "approved_by", "approved_at", "approval_note"])
    _event(
        complaint=complaint,
        kind=ComplaintEvent.Kind.APPROVAL,
        at=now,
        by=by,
        reason=decision.approval_note,
        decision=decision.pk,
        approval="approved",
    )
    final = _final_status(is_appeal=decision.is_appeal)
    _complaint_transition(complaint=complaint, to=final, by=by, now=now, decided_at=now)
    _meet(complaint=complaint, kind=DeadlineKind.COMPLAINT_DECISION, now=now)
    return decision


@transaction.atomic
def decision_send_back(*, decision: Decision, by, note: str, now=None) -> Decision:
    """Refuse the second approval with a note: the complaint goes back to review. Raises ReasonRequired, NotAManager,
    SelfApproval or TransitionNotAllowed."""
    now = now or timezone.now()
    if not (note or "").strip():
        raise ReasonRequired()
    _check_approver(decision=decision, by=by)
    complaint, decision = _lock_pending_decision(decision)
    decision.approval, decision.approval_note = Decision.Approval.SENT_BACK, note.strip()[:300]
    decision.save(update_fields=["approval", "approval_note"])
    _event(
        complaint=complaint,
        kind=ComplaintEvent.Kind.APPROVAL,
        at=now,
        by=by,
        reason=decision.approval_note,
        decision=decision.pk,
        approval="sent_back",
    )
    _complaint_transition(
        complaint=complaint, to=S.APPEALED if decision.is_appeal else S.IN_REVIEW, by=by, now=now, reason=note
    )
    return decision


def complaint_appeal(*, complaint: Complaint, reason: str, uploads, now=None) -> Appeal:
    """The customer's one appeal against the decision, with at least one new file: back to review with a new decision
    clock. Raises ReasonRequired, AppealEvidenceRequired, AppealNotAllowed, AppealAlreadyFiled or an intake error."""
    now = now or timezone.now()
    if not (reason or "").strip():
        raise ReasonRequired()
    uploads = list(uploads)
    if not uploads:
        raise AppealEvidenceRequired()
    stored = _stored(uploads)
    try:
        with transaction.atomic():
            complaint = _lock(complaint)
            if Appeal.objects.filter(complaint=complaint).exists():
                raise AppealAlreadyFiled()
            if complaint.status != S.DECIDED:
                raise AppealNotAllowed(complaint.get_status_display())
            try:
                with transaction.atomic():
                    appeal = Appeal.objects.create(complaint=complaint, reason=reason.strip(), filed_at=now)
            except IntegrityError:
                raise AppealAlreadyFiled() from None
            _event(
                complaint=complaint,
                kind=ComplaintEvent.Kind.APPEAL,
                at=now,
                party=Party.CUSTOMER,
                reason=reason.strip(),
            )
            complaint = _complaint_transition(complaint=complaint, to=S.APPEALED, by=None, now=now)
            # A new cycle of the decision clock: the appeal is decided within the same promise.
            deadline_open(
                subject=complaint,
                kind=DeadlineKind.COMPLAINT_DECISION,
                now=now,
                division_code=complaint.ticket.division_id,
            )
            _evidence_rows(complaint=complaint, party=Party.CUSTOMER, stored=stored, by=None, now=now, is_appeal=True)
    except BaseException:
        _discard(stored)
        raise
    return appeal


# ---- Originals, checks, escalation -----------------------------------------------------------------------------------


@transaction.atomic
def evidence_open(*, evidence: Evidence, by, download: bool = False, now=None) -> Evidence:
    """Log that a staff member opens an original file (access log and timeline); raises EvidenceNotAllowed."""
    now = now or timezone.now()
    if not evidence_may_open(user=by, evidence=evidence):
        raise EvidenceNotAllowed()
    EvidenceAccess.objects.create(evidence=evidence, user=by, at=now, is_download=download)
    _event(
        complaint=evidence.complaint,
        kind=ComplaintEvent.Kind.EVIDENCE_OPENED,
        at=now,
        by=by,
        evidence=evidence.pk,
        download=download,
    )
    access_log_record(
        kind=AccessLog.Kind.EVIDENCE_DOWNLOAD if download else AccessLog.Kind.EVIDENCE_VIEW,
        by=by, ticket=evidence.complaint.ticket, detail=f"{evidence.complaint.number} #{evidence.pk}", now=now,
    )  # fmt: skip
    return evidence


@transaction.atomic
def evidence_checks_record(*, evidence_id: int, signals: list[dict], checker_version: str = "", now=None) -> int:
    """Store one EvidenceCheck row per signal for this checker version, once (a re-run of the same version adds
    nothing; a new version adds rows beside the old ones). Returns rows written."""
    now = now or timezone.now()
    evidence = Evidence.objects.select_for_update(no_key=True).filter(pk=evidence_id).first()
    if evidence is None or EvidenceCheck.objects.filter(evidence=evidence, checker_version=checker_version).exists():
        return 0
    rows = [
        EvidenceCheck(
            evidence=evidence,
            kind=str(signal.get("kind", ""))[:40],
            level=signal.get("level") if signal.get("level") in EvidenceCheck.Level.values else "info",
            message=str(signal.get("message", "")),
            params=signal.get("params") or {},
            checker_version=checker_version,
            computed_at=now,
        )
        for signal in signals
    ]
    EvidenceCheck.objects.bulk_create(rows)
    return len(rows)


TECHNICIAN_PHOTO_KINDS = {"photo_before": "before", "photo_after": "after"}


@transaction.atomic
def image_hash_store(
    *, hashes: forensics.ImageHashes, evidence: Evidence | None = None, media: Media | None = None, now=None
) -> ImageHash:
    """Store (or refresh) the perceptual hashes of one evidence photo or one job photo; the unique source keeps one row
    per file however often the task runs."""
    now = now or timezone.now()
    values = {
        "phash": hashes.phash,
        "phash_mirror": hashes.phash_mirror,
        "dhash": hashes.dhash,
        "low_detail": hashes.low_detail,
        "computed_at": now,
    }
    if evidence is not None:
        row, _created = ImageHash.objects.update_or_create(
            evidence=evidence, defaults={**values, "complaint_id": evidence.complaint_id}
        )
    else:
        row, _created = ImageHash.objects.update_or_create(media=media, defaults=values)
    return row


def _read(field_file) -> bytes:
    with field_file.open("rb") as handle:
        return handle.read()


def technician_photo_hashes(*, ticket: Ticket, now=None) -> tuple[forensics.HashRef, ...]:
    """Return the job's before/after photos as HashRefs, hashing (once, stored) those not hashed yet; a photo the
    checker cannot read is left out."""
    refs = []
    photos = Media.objects.filter(ticket=ticket, kind__in=TECHNICIAN_PHOTO_KINDS).select_related("image_hash")
    for media in photos.order_by("uploaded_at", "pk"):
        row = getattr(media, "image_hash", None)
        if row is None:
            try:
                hashes = forensics.perceptual_hashes(data=_read(media.file))
            except (forensics.EvidenceRefused, OSError) as error:
                logger.warning("job photo %s not hashed (%s)", media.pk, error)
                continue
            row = image_hash_store(hashes=hashes, media=media, now=now)
        if not row.low_detail:
            refs.append(forensics.HashRef(phash=row.phash, ref=str(media.pk), kind=TECHNICIAN_PHOTO_KINDS[media.kind]))
    return tuple(refs)


def _near_hash_ids(*, value: int) -> list[int]:
    sql, params = forensics.near_hash_sql(
        table=ImageHash._meta.db_table,
        value=value,
        radius=forensics.DUP_OTHER_COMPLAINT_MAX,
        columns="id",
        value_column="phash",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def other_complaint_photo_hashes(
    *, hashes: forensics.ImageHashes, complaint: Complaint
) -> tuple[forensics.HashRef, ...]:
    """Return other complaints' evidence photos within DUP_OTHER_COMPLAINT_MAX bits of this photo or of its mirror,
    found through the indexed hash chunks."""
    if hashes.low_detail:
        return ()
    ids = set(_near_hash_ids(value=hashes.phash)) | set(_near_hash_ids(value=hashes.phash_mirror))
    rows = (
        ImageHash.objects.filter(pk__in=ids, evidence__isnull=False, low_detail=False)
        .exclude(complaint=complaint)
        .select_related("complaint")
        .order_by("pk")
    )
    return tuple(
        forensics.HashRef(
            phash=row.phash,
            ref=str(row.evidence_id),
            complaint_number=row.complaint.number if row.complaint else "",
            complaint_date=f"{row.complaint.filed_at.astimezone(forensics.SHANGHAI):%Y-%m-%d}" if row.complaint else "",
        )
        for row in rows
    )


def _other_devices(evidence: Evidence) -> tuple[str, ...]:
    """The "Make Model" of the complaint's other photos, read once from each file and kept in its meta."""
    devices = []
    others = Evidence.objects.filter(complaint_id=evidence.complaint_id, kind=Evidence.Kind.PHOTO).exclude(
        pk=evidence.pk
    )
    for other in others:
        if "device" not in other.meta:
            try:
                device = forensics.file_device(data=_read(other.file))
            except (forensics.EvidenceRefused, OSError):
                device = ""
            _evidence_meta_set(evidence_id=other.pk, device=device)
            other.meta["device"] = device
        if other.meta["device"]:
            devices.append(str(other.meta["device"]))
    return tuple(devices)


@transaction.atomic
def _evidence_meta_set(*, evidence_id: int, **values) -> None:
    evidence = Evidence.objects.select_for_update(no_key=True).get(pk=evidence_id)
    evidence.meta = {**evidence.meta, **values}
    evidence.save(update_fields=["meta"])


def _evidence_context(
    evidence: Evidence, *, hashes: forensics.ImageHashes | None, now=None
) -> forensics.EvidenceContext:
    complaint = evidence.complaint
    ticket = complaint.ticket
    is_photo = hashes is not None
    return forensics.EvidenceContext(
        ticket_created_at=ticket.created_at,
        technician_arrived_at=ticket.on_site_at,
        ticket_completed_at=ticket.completed_at,
        complaint_filed_at=complaint.filed_at,
        address_lat=ticket.address.lat,
        address_lng=ticket.address.lng,
        other_devices=_other_devices(evidence) if is_photo else (),
        technician_photos=technician_photo_hashes(ticket=ticket, now=now) if is_photo else (),
        other_complaint_photos=other_complaint_photo_hashes(hashes=hashes, complaint=complaint) if is_photo else (),
    )


def evidence_display_copy_make(*, evidence: Evidence, data: bytes) -> bool:
    """Store the stripped re-encoded copy (no EXIF/GPS/XMP) beside the original, once; returns False when it already
    exists or another worker stored it first. Raises EvidenceRefused for a file that cannot be decoded."""
    if evidence.display_file:
        return False
    copy = forensics.display_copy(data=data)
    storage = Evidence._meta.get_field("display_file").storage
    day = timezone.localdate()
    name = storage.save(f"evidence/display/{day:%Y/%m}/{evidence.sha256[:16]}-{evidence.pk}.jpg", ContentFile(copy))
    # A conditional update: another worker running the same task may have stored its copy first.
    if Evidence.objects.filter(pk=evidence.pk, display_file="").update(display_file=name) != 1:
        storage.delete(name)
        return False
    evidence.display_file.name = name
    return True


def evidence_check_run(*, evidence_id: int, now=None) -> int:
    """Run the forensic checks on one stored original: store its perceptual hashes and display copy (photos), search
    the job's own photos and other complaints' photos, and record its signals once per checker version; returns rows
    written (0 when this version already checked it). A file the checker refuses gets one metadata_unreadable row."""
    now = now or timezone.now()
    evidence = (
        Evidence.objects.select_related("complaint__ticket__address", "image_hash").filter(pk=evidence_id).first()
    )
    if evidence is None:
        return 0
    version = forensics.CHECKER_VERSION
    is_photo = evidence.kind == Evidence.Kind.PHOTO
    checked = EvidenceCheck.objects.filter(evidence=evidence, checker_version=version).exists()
    hashed = not is_photo or (bool(evidence.display_file) and hasattr(evidence, "image_hash"))
    if checked and hashed:
        return 0
    data = _read(evidence.file)
    try:
        hashes = None
        if is_photo:
            hashes = forensics.perceptual_hashes(data=data)
            image_hash_store(hashes=hashes, evidence=evidence, now=now)
            evidence_display_copy_make(evidence=evidence, data=data)
        if checked:
            return 0
        context = _evidence_context(evidence, hashes=hashes, now=now)
        signals = [signal.as_dict() for signal in forensics.evidence_signals(data=data, context=context, hashes=hashes)]
    except forensics.EvidenceRefused as error:
        if checked:
            return 0
        signals = [{"kind": "metadata_unreadable", "level": "info", "message": error.message, "params": error.extra}]
    return evidence_checks_record(evidence_id=evidence.pk, signals=signals, checker_version=version, now=now)


ESCALATING_CLOCKS = frozenset({DeadlineKind.COMPLAINT_ACKNOWLEDGE, DeadlineKind.COMPLAINT_DECISION})


def complaint_clock_event(*, complaint_id: int, clock: str, event: str, outbox_id: int, due_at, at) -> bool:
    """Record a complaint clock's warning or breach on its timeline, once per outbox row; a breached acknowledge or
    decision clock escalates the complaint to the managers (a flag the queue shows). Never decides anything.
    Returns False when already recorded (a redelivery) or the complaint is gone."""
    complaint = Complaint.objects.select_for_update(no_key=True).filter(pk=complaint_id).first()
    if (
        complaint is None
        or ComplaintEvent.objects.filter(
            complaint=complaint, kind=ComplaintEvent.Kind.SLA, data__outbox=outbox_id
        ).exists()
    ):
        return False
    _event(
        complaint=complaint,
        kind=ComplaintEvent.Kind.SLA,
        at=at,
        outbox=outbox_id,
        clock=clock,
        event=event,
        due_at=due_at.isoformat() if due_at else None,
    )
    if event == "breach" and clock in ESCALATING_CLOCKS and not complaint.is_escalated:
        Complaint.objects.filter(pk=complaint.pk).update(is_escalated=True, escalated_at=at)
        _event(complaint=complaint, kind=ComplaintEvent.Kind.ESCALATED, at=at, clock=clock)
    return True


def evidence_difference(*, evidence: Evidence, media: Media, by, now=None) -> bytes:
    """Return the difference image (PNG) of a customer's photo and the job photo a `derived_from_tech_photo` signal
    names, for a reviewer or manager; logs the view of the technician's photo. Raises EvidenceNotAllowed for anyone
    else or for a pair no signal names."""
    now = now or timezone.now()
    if by is None or REVIEW_ROLES.isdisjoint(user_roles(by)):
        raise EvidenceNotAllowed()
    check = (
        evidence.checks.filter(kind="derived_from_tech_photo", params__media=str(media.pk)).first()
        if media.ticket_id == evidence.complaint.ticket_id
        else None
    )
    if check is None:
        raise EvidenceNotAllowed()
    source = evidence.display_file or evidence.file
    with source.open("rb") as customer, media.file.open("rb") as technician:
        image = forensics.difference_image(
            evidence=customer.read(), reference=technician.read(), mirrored=bool(check.params.get("mirrored"))
        )
    MediaAccess.objects.create(media=media, user=by, action=MediaAccess.Action.VIEW, at=now)
    return image
