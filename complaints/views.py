"""The complaint reviewer's screens (客诉专员): the queue by deadline, the workspace with both sides and the evidence,
and the actions; plus the operator's "file a complaint" from the ticket page."""

from datetime import timedelta

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import Role, user_roles
from accounts.views import role_required
from complaints.forms import (
    ComplaintForm,
    DecisionForm,
    EvidenceRequestForm,
    NoteForm,
    ReinspectionForm,
)
from complaints.models import Complaint, Decision, Evidence, EvidenceRequest, Party
from complaints.selectors import (
    complaint_clocks,
    complaint_get_for_review,
    complaint_list_for_queue,
    evidence_derived_photos,
    evidence_may_open,
)
from complaints.services import (
    complaint_acknowledge,
    complaint_decide,
    complaint_file,
    decision_approve,
    decision_send_back,
    evidence_difference,
    evidence_open,
    evidence_request_close,
    evidence_request_create,
    reinspection_order,
    second_approval_amount,
    statement_window_open,
)
from config.exceptions import ApplicationError
from dispatch.models import Media, Ticket
from dispatch.services import media_link_issue

REVIEWERS = (Role.REVIEWER, Role.MANAGER)


@require_GET
@role_required(*REVIEWERS)
def queue(request):
    """Open complaints, the most urgent deadline first; escalated ones are flagged (managers can show only those)."""
    escalated_only = request.GET.get("escalated") == "1"
    context = {
        "complaints": complaint_list_for_queue(escalated_only=escalated_only),
        "escalated_only": escalated_only,
        "now": timezone.now(),
    }
    return render(request, "complaints/queue.html", context)


def _attach_derived_pairs(request, evidence: list[Evidence], ticket: Ticket) -> None:
    """Give each evidence file the job photos its derived_from_tech_photo signals name, each with a personal,
    logged link (files:open), so the workspace can show the two side by side."""
    photos = evidence_derived_photos(evidence_items=evidence, ticket=ticket)
    tokens = {}
    for media in photos.values():
        try:
            tokens[media.pk] = media_link_issue(media=media, by=request.user)
        except ApplicationError:
            continue
    for item in evidence:
        item.derived_pairs = []
        for check in item.checks.all():
            media_id = str(check.params.get("media", "")) if check.kind == "derived_from_tech_photo" else ""
            if media_id.isdigit() and int(media_id) in tokens:
                item.derived_pairs.append(
                    {"check": check, "media": photos[int(media_id)], "token": tokens[int(media_id)]}
                )


def _workspace_context(request, complaint: Complaint) -> dict:
    now = timezone.now()
    evidence = list(complaint.evidence.all())
    _attach_derived_pairs(request, evidence, complaint.ticket)
    decisions = list(complaint.decisions.all())
    pending = next((d for d in decisions if d.approval == Decision.Approval.PENDING), None)
    return {
        "complaint": complaint,
        "ticket": complaint.ticket,
        "statement": getattr(complaint, "statement", None),
        "customer_evidence": [e for e in evidence if e.party == Party.CUSTOMER],
        "technician_evidence": [e for e in evidence if e.party == Party.TECHNICIAN],
        "requests": list(complaint.evidence_requests.all()),
        "reinspections": list(complaint.reinspections.all()),
        "decisions": decisions,
        "pending_decision": pending,
        "clocks": complaint_clocks(complaint=complaint).values(),
        "statement_window": statement_window_open(complaint=complaint, now=now),
        "approval_amount": second_approval_amount(),
        "is_manager": Role.MANAGER in user_roles(request.user),
        "decision_form": DecisionForm(complaint=complaint),
        "request_form": EvidenceRequestForm(),
        "reinspection_form": ReinspectionForm(),
        "note_form": NoteForm(),
        "now": now,
    }


@require_GET
@role_required(*REVIEWERS)
def workspace(request, pk: int):
    """One complaint: both sides, the customer's evidence with its signals, the job's own photos and recording beside
    it, the clocks, the timeline and the actions allowed now."""
    complaint = complaint_get_for_review(pk=pk)
    if complaint is None:
        raise Http404
    return render(request, "complaints/workspace.html", _workspace_context(request, complaint))


def _done(request, pk: int, call) -> object:
    try:
        call()
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Done."))
    return redirect("complaints:workspace", pk=pk)


def _form_error(form) -> ApplicationError:
    return ApplicationError(" ".join(str(message) for errors in form.errors.values() for message in errors))


@require_POST
@role_required(*REVIEWERS)
def acknowledge(request, pk: int):
    complaint = get_object_or_404(Complaint, pk=pk)
    return _done(request, pk, lambda: complaint_acknowledge(complaint=complaint, by=request.user))


@require_POST
@role_required(*REVIEWERS)
def decide(request, pk: int):
    """Record the decision; over the approval amount it waits for a manager."""
    complaint = get_object_or_404(Complaint, pk=pk)
    form = DecisionForm(request.POST, complaint=complaint)

    def call():
        if not form.is_valid():
            raise _form_error(form)
        data = form.cleaned_data
        complaint_decide(
            complaint=complaint,
            by=request.user,
            outcome=data["outcome"],
            remedy=data["remedy"],
            amount=data["amount"],
            reason=data["reason"],
            early_reason=data["early_reason"],
            signals_cited=data["signals"],
        )

    return _done(request, pk, call)


@require_POST
@role_required(Role.MANAGER)
def approval(request, pk: int, action: str):
    """A manager approves a decision over the threshold or sends it back with a note."""
    decision = get_object_or_404(Decision, pk=pk)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    if action == "approve":
        return _done(
            request, decision.complaint_id, lambda: decision_approve(decision=decision, by=request.user, note=note)
        )
    return _done(
        request, decision.complaint_id, lambda: decision_send_back(decision=decision, by=request.user, note=note)
    )


@require_POST
@role_required(*REVIEWERS)
def request_evidence(request, pk: int):
    complaint = get_object_or_404(Complaint.objects.select_related("ticket"), pk=pk)
    form = EvidenceRequestForm(request.POST)

    def call():
        if not form.is_valid():
            raise _form_error(form)
        data = form.cleaned_data
        evidence_request_create(
            complaint=complaint,
            party=data["party"],
            instructions=data["instructions"],
            due_at=timezone.now() + timedelta(hours=data["hours"]),
            by=request.user,
        )

    return _done(request, pk, call)


@require_POST
@role_required(*REVIEWERS)
def close_request(request, pk: int):
    evidence_request = get_object_or_404(EvidenceRequest, pk=pk)
    return _done(
        request,
        evidence_request.complaint_id,
        lambda: evidence_request_close(request=evidence_request, by=request.user),
    )


@require_POST
@role_required(*REVIEWERS)
def reinspect(request, pk: int):
    complaint = get_object_or_404(Complaint, pk=pk)
    form = ReinspectionForm(request.POST)

    def call():
        if not form.is_valid():
            raise _form_error(form)
        reinspection_order(
            complaint=complaint,
            technician=form.cleaned_data["technician"],
            reason=form.cleaned_data["reason"],
            by=request.user,
        )

    return _done(request, pk, call)


@require_GET
@role_required(*REVIEWERS)
def evidence_file(request, pk: int):
    """Serve an original file to a reviewer or manager, after logging who opened it (never from a public URL)."""
    evidence = get_object_or_404(Evidence.objects.select_related("complaint__ticket__technician"), pk=pk)
    download = request.GET.get("download") == "1"
    try:
        evidence_open(evidence=evidence, by=request.user, download=download)
    except ApplicationError as error:
        raise Http404 from error
    response = FileResponse(
        evidence.file.open("rb"),
        content_type=evidence.content_type,
        as_attachment=download,
        filename=f"{evidence.complaint.number}-{evidence.pk}{evidence.file.name[evidence.file.name.rfind('.') :]}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    return response


@require_GET
@role_required(*REVIEWERS)
def evidence_display(request, pk: int):
    """Serve the stripped display copy of a photo (no EXIF/GPS, re-encoded from the pixels): what the workspace shows
    by default, so it is not logged as opening the original."""
    evidence = get_object_or_404(Evidence.objects.select_related("complaint__ticket__technician"), pk=pk)
    if not evidence.display_file or not evidence_may_open(user=request.user, evidence=evidence):
        raise Http404
    response = FileResponse(evidence.display_file.open("rb"), content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


@require_GET
@role_required(Role.REVIEWER, Role.MANAGER)
def evidence_difference_view(request, pk: int, media_id: int):
    """Where the customer's photo differs from the technician's photo a near-duplicate signal names (PNG)."""
    evidence = get_object_or_404(Evidence.objects.select_related("complaint"), pk=pk)
    media = get_object_or_404(Media, pk=media_id)
    try:
        image = evidence_difference(evidence=evidence, media=media, by=request.user)
    except ApplicationError:
        raise Http404 from None
    response = HttpResponse(image, content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
@role_required(Role.OPERATOR, Role.REVIEWER)
def file_for_ticket(request, number: str):
    """The operator files a complaint for the caller on the phone, from the ticket page."""
    ticket = get_object_or_404(Ticket.objects.select_related("technician"), number=number)
    form = ComplaintForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            complaint = complaint_file(
                ticket=ticket,
                channel=Complaint.Channel.PHONE,
                category=data["category"],
                description=data["description"],
                remedy_requested=data["remedy_requested"],
                amount_requested=data["amount_requested"],
                uploads=data["files"],
                by=request.user,
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Complaint %(number)s filed.") % {"number": complaint.number})
            if Role.REVIEWER in user_roles(request.user):
                return redirect("complaints:workspace", pk=complaint.pk)
            return redirect("dispatch:ticket", number=ticket.number)
    status = 400 if form.errors else 200
    return render(request, "complaints/file.html", {"form": form, "ticket": ticket}, status=status)
