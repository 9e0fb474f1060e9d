"""The customer's complaint pages (线上投诉): file online with the ticket number and phone, then follow the complaint,
answer an evidence request, read the decision and its reason, and appeal once.

Anyone on the internet reaches these pages: every attempt to prove a ticket is rate limited per client IP and per
ticket number, as dispatch/public.py does. Proving the ticket (number + full phone) grants this browser session access
to that ticket's complaints only.
"""

import logging

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from complaints.forms import AppealForm, EvidenceUploadForm, LookupForm, PublicComplaintForm
from complaints.models import Complaint, ComplaintStatus, Decision, Party
from complaints.selectors import complaint_list_for_customer, ticket_get_for_complainant
from complaints.services import complaint_appeal, complaint_file, evidence_add
from config.exceptions import ApplicationError
from dispatch.models import Ticket
from dispatch.public_services import rate_limit_hit

logger = logging.getLogger(__name__)

# (hits, window in seconds). A ticket number plus a phone is hard to guess, but the pages still must not be an oracle.
PROVE_LIMIT_PER_IP = (20, 10 * 60)
PROVE_LIMIT_PER_NUMBER = (10, 60 * 60)
SESSION_KEY = "complaint_tickets"


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _over_limit(request, number: str) -> bool:
    over_ip = rate_limit_hit(
        scope="complaint-ip", key=_client_ip(request), limit=PROVE_LIMIT_PER_IP[0], window=PROVE_LIMIT_PER_IP[1]
    )
    over_number = rate_limit_hit(
        scope="complaint-number", key=number.strip(), limit=PROVE_LIMIT_PER_NUMBER[0], window=PROVE_LIMIT_PER_NUMBER[1]
    )
    return over_ip or over_number


def _grant(request, ticket: Ticket) -> None:
    granted = set(request.session.get(SESSION_KEY, []))
    granted.add(ticket.pk)
    request.session[SESSION_KEY] = sorted(granted)


def _granted_ticket(request, pk: int) -> Ticket:
    """The ticket, if this session proved it is the customer's; 404 otherwise (nobody learns it exists)."""
    if pk not in request.session.get(SESSION_KEY, []):
        raise Http404
    return Ticket.objects.get(pk=pk)


@require_http_methods(["GET", "POST"])
def file(request):
    """File a complaint online: ticket number + phone prove it is the customer's ticket."""
    form = PublicComplaintForm(
        request.POST or None, request.FILES or None, initial={"number": request.GET.get("number")}
    )
    context = {"form": form}
    if request.method != "POST" or not form.is_valid():
        return render(request, "complaints/public/file.html", context, status=400 if form.errors else 200)
    data = form.cleaned_data
    if data["website"].strip():
        logger.info("complaint honeypot filled from %s", _client_ip(request))
        return render(request, "complaints/public/file.html", {"form": PublicComplaintForm(), "sent": True})
    if _over_limit(request, data["number"]):
        return render(request, "complaints/public/file.html", {**context, "rate_limited": True}, status=429)
    ticket = ticket_get_for_complainant(number=data["number"], phone=data["phone"])
    if ticket is None:
        return render(request, "complaints/public/file.html", {**context, "not_found": True}, status=404)
    try:
        complaint = complaint_file(
            ticket=ticket,
            channel=Complaint.Channel.ONLINE,
            category=data["category"],
            description=data["description"],
            remedy_requested=data["remedy_requested"],
            amount_requested=data["amount_requested"],
            uploads=data["files"],
        )
    except ApplicationError as error:
        form.add_error(None, error.message)
        return render(request, "complaints/public/file.html", context, status=400)
    _grant(request, ticket)
    return redirect("complaint_public:ticket", pk=complaint.ticket_id)


@require_http_methods(["GET", "POST"])
def lookup(request):
    """Follow a complaint: ticket number + phone, then the ticket's complaints."""
    form = LookupForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "complaints/public/lookup.html", {"form": form})
    number = form.cleaned_data["number"]
    if _over_limit(request, number):
        return render(request, "complaints/public/lookup.html", {"form": form, "rate_limited": True}, status=429)
    ticket = ticket_get_for_complainant(number=number, phone=form.cleaned_data["phone"])
    if ticket is None:
        return render(request, "complaints/public/lookup.html", {"form": form, "not_found": True}, status=404)
    _grant(request, ticket)
    return redirect("complaint_public:ticket", pk=ticket.pk)


def _ticket_context(ticket: Ticket) -> dict:
    complaints = list(complaint_list_for_customer(ticket=ticket))
    for complaint in complaints:
        # The customer sees decisions that stand: not one still waiting for a manager or sent back.
        complaint.visible_decisions = [
            d
            for d in complaint.decisions.all()
            if d.approval in (Decision.Approval.NOT_NEEDED, Decision.Approval.APPROVED)
        ]
        complaint.open_request = next(
            (r for r in complaint.evidence_requests.all() if r.is_open and r.party == Party.CUSTOMER), None
        )
        # DECIDED happens once: after an appeal the complaint ends CLOSED, so one appeal is all the page offers.
        complaint.can_appeal = complaint.status == ComplaintStatus.DECIDED
    return {
        "ticket": ticket,
        "complaints": complaints,
        "upload_form": EvidenceUploadForm(),
        "appeal_form": AppealForm(),
    }


@require_http_methods(["GET"])
def ticket_complaints(request, pk: int):
    """The customer's complaints about one ticket: status, evidence requests, decisions with their reasons."""
    ticket = _granted_ticket(request, pk)
    return render(request, "complaints/public/ticket.html", _ticket_context(ticket))


def _own_complaint(request, complaint_pk: int) -> Complaint:
    complaint = Complaint.objects.select_related("ticket").filter(pk=complaint_pk).first()
    if complaint is None:
        raise Http404
    _granted_ticket(request, complaint.ticket_id)
    return complaint


@require_POST
def upload(request, pk: int):
    """More photos or videos from the customer (the answer to an evidence request)."""
    complaint = _own_complaint(request, pk)
    form = EvidenceUploadForm(request.POST, request.FILES)
    error = None
    if not form.is_valid() or not form.cleaned_data["files"]:
        error = (
            " ".join(str(m) for errors in form.errors.values() for m in errors)
            or EvidenceUploadForm.base_fields["files"].label
        )
    else:
        try:
            evidence_add(complaint=complaint, party=Party.CUSTOMER, uploads=form.cleaned_data["files"])
        except ApplicationError as failure:
            error = failure.message
    if error:
        context = {**_ticket_context(complaint.ticket), "error": error}
        return render(request, "complaints/public/ticket.html", context, status=400)
    return redirect("complaint_public:ticket", pk=complaint.ticket_id)


@require_POST
def appeal(request, pk: int):
    """The one appeal against the decision, with new evidence."""
    complaint = _own_complaint(request, pk)
    form = AppealForm(request.POST, request.FILES)
    error = None
    if not form.is_valid():
        error = " ".join(str(m) for errors in form.errors.values() for m in errors)
    else:
        try:
            complaint_appeal(
                complaint=complaint, reason=form.cleaned_data["reason"], uploads=form.cleaned_data["files"]
            )
        except ApplicationError as failure:
            error = failure.message
    if error:
        context = {**_ticket_context(complaint.ticket), "error": error}
        return render(request, "complaints/public/ticket.html", context, status=400)
    return redirect("complaint_public:ticket", pk=complaint.ticket_id)
