"""Reads for the complaint screens: the reviewer's queue by deadline, one complaint with everything beside it, a
technician's complaints and a customer's own."""

import hmac

from django.contrib.contenttypes.models import ContentType
from django.db.models import OuterRef, Prefetch, Subquery

from accounts.roles import Role, user_roles
from complaints.models import (
    OPEN_STATUSES,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Decision,
    Evidence,
    EvidenceCheck,
    Party,
)
from dispatch import crypto
from dispatch.exceptions import InvalidPhone
from dispatch.models import Media, Technician, Ticket
from sla.models import Deadline, DeadlineKind

REVIEW_ROLES = frozenset({Role.REVIEWER, Role.MANAGER, Role.ADMIN})


def _clock(kind: str, field: str):
    return Subquery(
        Deadline.objects.filter(
            subject_type=ContentType.objects.get_for_model(Complaint), subject_id=OuterRef("pk"), kind=kind
        )
        .order_by("-cycle")
        .values(field)[:1]
    )


def complaint_list_for_queue(*, escalated_only: bool = False):
    """Return open complaints for the reviewer's queue, the earliest running deadline first (acknowledge before it is
    acknowledged, then the decision), each annotated with its clocks' due times and states."""
    queryset = (
        Complaint.objects.filter(status__in=OPEN_STATUSES)
        .select_related("ticket__technician", "ticket__division")
        .annotate(
            acknowledge_due=_clock(DeadlineKind.COMPLAINT_ACKNOWLEDGE, "due_at"),
            decision_due=_clock(DeadlineKind.COMPLAINT_DECISION, "due_at"),
            decision_state=_clock(DeadlineKind.COMPLAINT_DECISION, "state"),
            statement_due=_clock(DeadlineKind.TECHNICIAN_STATEMENT, "due_at"),
            statement_state=_clock(DeadlineKind.TECHNICIAN_STATEMENT, "state"),
        )
    )
    if escalated_only:
        queryset = queryset.filter(is_escalated=True)
    rows = list(queryset)

    def due(complaint: Complaint):
        # A paused decision clock (waiting for the customer) has no due time: it sorts last.
        when = complaint.acknowledge_due if complaint.status == ComplaintStatus.FILED else complaint.decision_due
        return (when is None, when, complaint.pk)

    for complaint in rows:
        complaint.next_due = due(complaint)[1]
    return sorted(rows, key=due)


def complaint_get_for_review(*, pk: int) -> Complaint | None:
    """Return one complaint with its ticket, statement, evidence (with signals), requests, decisions and timeline."""
    return (
        Complaint.objects.select_related(
            "ticket__technician", "ticket__division", "ticket__address", "ticket__customer", "filed_by", "statement"
        )
        .prefetch_related(
            Prefetch(
                "evidence",
                queryset=Evidence.objects.select_related("uploaded_by").prefetch_related(
                    Prefetch("checks", queryset=EvidenceCheck.objects.order_by("-level", "pk"))
                ),
            ),
            "evidence_requests",
            "reinspections__ticket",
            "reinspections__technician",
            Prefetch("decisions", queryset=Decision.objects.select_related("decided_by", "approved_by")),
            Prefetch("events", queryset=ComplaintEvent.objects.select_related("actor")),
        )
        .filter(pk=pk)
        .first()
    )


def complaint_clocks(*, complaint: Complaint) -> dict[str, Deadline]:
    """Return the complaint's latest clock of each kind, by kind."""
    rows = Deadline.objects.filter(
        subject_type=ContentType.objects.get_for_model(Complaint), subject_id=complaint.pk
    ).order_by("kind", "cycle")
    return {row.kind: row for row in rows}


def complaint_list_for_technician(*, technician: Technician):
    """Return the complaints about this technician's jobs, open ones first, newest first."""
    return (
        Complaint.objects.filter(ticket__technician=technician)
        .select_related("ticket", "statement")
        .annotate(statement_due=_clock(DeadlineKind.TECHNICIAN_STATEMENT, "due_at"))
        .order_by("-filed_at")
    )


def complaint_get_for_technician(*, technician: Technician, pk: int) -> Complaint | None:
    """Return the complaint if it is about one of this technician's jobs, else None (never another's)."""
    return (
        Complaint.objects.filter(pk=pk, ticket__technician=technician)
        .select_related("ticket", "statement")
        .prefetch_related("evidence", "evidence_requests")
        .first()
    )


def ticket_get_for_complainant(*, number: str, phone: str) -> Ticket | None:
    """Return the ticket with this number if `phone` is the customer's number, else None; the same None for a wrong
    number and a wrong phone."""
    ticket = Ticket.objects.select_related("customer", "technician", "division").filter(number=number.strip()).first()
    if ticket is None:
        return None
    try:
        e164 = crypto.normalize_phone(phone)
    except InvalidPhone:
        return None
    return ticket if hmac.compare_digest(ticket.customer.phone_index, crypto.phone_index(e164)) else None


def complaint_list_for_customer(*, ticket: Ticket):
    """Return the complaints about one ticket (the customer proved it is theirs), newest first, with decisions."""
    return (
        Complaint.objects.filter(ticket=ticket)
        .select_related("ticket")
        .prefetch_related("decisions", "evidence_requests", "evidence")
        .order_by("-filed_at")
    )


def evidence_may_open(*, user, evidence: Evidence) -> bool:
    """Return whether a signed-in user may open an original file: reviewers and managers always, the job's technician
    only files of their own side (the customer's originals carry location and device data)."""
    if user is None or not user.is_authenticated:
        return False
    if not REVIEW_ROLES.isdisjoint(user_roles(user)):
        return True
    technician = getattr(evidence.complaint.ticket, "technician", None)
    return evidence.party == Party.TECHNICIAN and technician is not None and technician.user_id == user.pk


def evidence_derived_photos(*, evidence_items, ticket: Ticket) -> dict[int, Media]:
    """Return the job's photos that `derived_from_tech_photo` signals of these evidence files point at, by pk (only
    this ticket's: a signal's params never reach another job's files)."""
    ids = {
        int(check.params["media"])
        for item in evidence_items
        for check in item.checks.all()
        if check.kind == "derived_from_tech_photo" and str(check.params.get("media", "")).isdigit()
    }
    if not ids:
        return {}
    return {
        media.pk: media
        for media in Media.objects.filter(pk__in=ids, ticket=ticket).select_related("ticket__technician")
    }
