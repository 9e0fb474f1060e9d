"""The technician's side of a complaint (师傅端): the complaints about their own jobs, and their answer — accept,
dispute with a statement, or add photos — within the statement window."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from complaints.forms import EvidenceUploadForm, StatementForm
from complaints.models import Party
from complaints.selectors import complaint_get_for_technician, complaint_list_for_technician
from complaints.services import evidence_add, statement_submit, statement_window_open
from config.exceptions import ApplicationError
from dispatch.models import Technician
from dispatch.technician import technician_view


@require_GET
@technician_view
def complaint_list(request, technician: Technician):
    """Complaints about this technician's jobs, newest first, each with the time left to answer."""
    context = {"complaints": complaint_list_for_technician(technician=technician), "now": timezone.now()}
    return render(request, "dispatch/technician/complaints.html", context)


def _own(technician: Technician, pk: int):
    complaint = complaint_get_for_technician(technician=technician, pk=pk)
    if complaint is None:
        raise Http404  # another technician's complaint: nobody learns it exists
    return complaint


@require_GET
@technician_view
def complaint_detail(request, technician: Technician, pk: int):
    """What the customer says, how much time is left, and the answer form (one main action)."""
    complaint = _own(technician, pk)
    context = {
        "complaint": complaint,
        "statement": getattr(complaint, "statement", None),
        "window": statement_window_open(complaint=complaint, now=timezone.now()),
        "customer_files": [e for e in complaint.evidence.all() if e.party == Party.CUSTOMER],
        "my_files": [e for e in complaint.evidence.all() if e.party == Party.TECHNICIAN],
        "open_request": next(
            (r for r in complaint.evidence_requests.all() if r.is_open and r.party == Party.TECHNICIAN), None
        ),
        "form": StatementForm(),
        "upload_form": EvidenceUploadForm(),
    }
    return render(request, "dispatch/technician/complaint.html", context)


@require_POST
@technician_view
def complaint_statement(request, technician: Technician, pk: int):
    complaint = _own(technician, pk)
    form = StatementForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError(" ".join(str(m) for errors in form.errors.values() for m in errors))
        statement_submit(
            complaint=complaint, by=request.user, position=form.cleaned_data["position"], text=form.cleaned_data["text"]
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your answer has been sent to the reviewer."))
    return redirect("technician:complaint", pk=pk)


@require_POST
@technician_view
def complaint_files(request, technician: Technician, pk: int):
    complaint = _own(technician, pk)
    form = EvidenceUploadForm(request.POST, request.FILES)
    try:
        if not form.is_valid() or not form.cleaned_data["files"]:
            raise ApplicationError(_("Choose at least one photo or video."))
        evidence_add(complaint=complaint, party=Party.TECHNICIAN, uploads=form.cleaned_data["files"], by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Files sent to the reviewer."))
    return redirect("technician:complaint", pk=pk)
