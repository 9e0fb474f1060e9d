"""The technician's phone screens (师傅端): duty, offers, and the job from the first call to the completed repair."""

from decimal import Decimal, InvalidOperation
from functools import wraps

import phonenumbers
from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import Role
from accounts.views import role_required
from audit.models import AccessLog
from audit.services import access_log_record
from config.exceptions import ApplicationError
from dispatch import crypto
from dispatch.forms import JobCompleteForm, OfferDeclineForm, PositionForm
from dispatch.live import live_stamp_issue
from dispatch.models import InsurancePlan, Offer, Technician, Ticket, TicketEvent, TicketStatus
from dispatch.selectors import (
    offer_list_for_technician,
    ticket_clocks,
    ticket_get_for_page,
    ticket_list_for_technician,
)
from dispatch.services import (
    NEXT_STEP,
    insurance_policy_sell,
    offer_accept,
    offer_decline,
    technician_duty_set,
    technician_location_consent_withdraw,
    technician_position_record,
    ticket_complete,
    ticket_fee_quote,
    ticket_progress,
)
from sla.models import DeadlineKind

S = TicketStatus
# What the one big button says for each next step.
STEP_LABELS = {
    S.RESPONDED: gettext_lazy("I called the customer"),
    S.EN_ROUTE: gettext_lazy("On my way"),
    S.ON_SITE: gettext_lazy("Arrived"),
    S.COMPLETED: gettext_lazy("Complete the job"),
}
# One tap on the commonest reasons (太远 / 正在忙 / 不会修这种锁); anything else is typed.
DECLINE_REASONS = [
    gettext_lazy("Too far"),
    gettext_lazy("Busy with another job"),
    gettext_lazy("I can't repair this lock"),
]
SHOWN_CLOCKS = (DeadlineKind.RESPONSE, DeadlineKind.ARRIVAL)


def technician_view(view):
    """Let in technicians (403 for other roles); a technician user without a profile gets a page saying what to do."""

    @wraps(view)
    @role_required(Role.TECHNICIAN)
    def wrapped(request, *args, **kwargs):
        try:
            technician = request.user.technician
        except Technician.DoesNotExist:
            return render(request, "dispatch/technician/no_profile.html")
        return view(request, technician, *args, **kwargs)

    return wrapped


def _own_job(*, technician: Technician, number: str) -> Ticket:
    """The ticket if it is this technician's job; 404 otherwise, so nobody learns other tickets exist."""
    ticket = ticket_get_for_page(number=number)
    if ticket is None or ticket.technician_id != technician.pk:
        raise Http404
    return ticket


def _national(e164: str) -> str:
    """13812345678 rather than +8613812345678: what the technician reads out and dials."""
    number = phonenumbers.parse(e164)
    return "".join(
        ch for ch in phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL) if ch.isdigit()
    )


def _live_context(request, technician: Technician) -> dict:
    # the stamp first, then the lists: a stamp never vouches for data read before it (dispatch.live)
    stamp = live_stamp_issue(technician_id=technician.pk, session_key=request.session.session_key)
    offers = list(offer_list_for_technician(technician=technician))
    for offer in offers:
        offer.masked_phone = crypto.mask_phone(offer.ticket.customer.phone)
    jobs = list(ticket_list_for_technician(technician=technician))
    for job in jobs:
        job.next_step_label = STEP_LABELS.get(NEXT_STEP.get(job.status), "")
    return {
        "offers": offers,
        "jobs": jobs,
        "decline_reasons": DECLINE_REASONS,
        "now": timezone.now(),
        "live_stamp": stamp,
    }


@require_GET
@technician_view
def home(request, technician: Technician):
    """Duty toggle, location sharing, live offers and jobs in hand; the lists refresh themselves."""
    context = {"technician": technician, **_live_context(request, technician)}
    return render(request, "dispatch/technician/home.html", context)


@require_GET
@technician_view
def home_live(request, technician: Technician):
    """HTML fragment polled by the home page: offers and jobs, so a new offer shows up without a reload. While
    nothing changed, dispatch.live.TechnicianLiveMiddleware answers the poll with 204 before it gets here."""
    return render(request, "dispatch/technician/_live.html", _live_context(request, technician))


@require_POST
@technician_view
def duty_set(request, technician: Technician):
    """Go on or off duty."""
    is_on_duty = request.POST.get("on_duty") == "1"
    technician_duty_set(technician=technician, is_on_duty=is_on_duty)
    messages.success(request, _("You are on duty.") if is_on_duty else _("You are off duty."))
    return redirect("technician:home")


@require_POST
@technician_view
def position_record(request, technician: Technician):
    """Store the phone's position: once with consent from the home page's button, then every minute from the page's
    script (which asks for JSON)."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = PositionForm(request.POST)
    error = None
    if not form.is_valid():
        error = _("The position is not valid.")
    else:
        try:
            technician_position_record(
                technician=technician,
                lat=form.cleaned_data["lat"],
                lng=form.cleaned_data["lng"],
                consent=form.cleaned_data["consent"],
            )
        except ApplicationError as exc:
            error = exc.message
    if wants_json:
        return JsonResponse({"ok": error is None, "message": error or ""}, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Thank you: your position is shared while you are on duty."))
    return redirect("technician:home")


@require_POST
@technician_view
def position_stop(request, technician: Technician):
    """Withdraw the consent to share the phone's position."""
    technician_location_consent_withdraw(technician=technician)
    messages.success(request, _("Your position is no longer shared. Jobs are still offered to you."))
    return redirect("technician:home")


def _own_offer(*, technician: Technician, offer_id: int) -> Offer:
    # Someone else's offer is a 404: its ticket's details are none of this technician's business.
    return get_object_or_404(Offer, pk=offer_id, technician=technician)


@require_POST
@technician_view
def offer_accept_view(request, technician: Technician, offer_id: int):
    """Accept an offer and open the job; a closed or expired offer, or a full hand, says why and changes nothing."""
    offer = _own_offer(technician=technician, offer_id=offer_id)
    try:
        ticket = offer_accept(offer=offer, by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("technician:home")
    messages.success(request, _("Job %(number)s is yours. Call the customer now.") % {"number": ticket.number})
    return redirect("technician:job", number=ticket.number)


@require_POST
@technician_view
def offer_decline_view(request, technician: Technician, offer_id: int):
    """Decline an offer with a reason; the job goes to the next technician."""
    offer = _own_offer(technician=technician, offer_id=offer_id)
    form = OfferDeclineForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError(_("Give a reason."))
        offer_decline(offer=offer, by=request.user, reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.info(request, _("Offer declined."))
    return redirect("technician:home")


def _job_context(ticket: Ticket, technician: Technician) -> dict:
    clocks = ticket_clocks(ticket=ticket)
    next_step = NEXT_STEP.get(ticket.status)
    full_address = f"{ticket.division.full_name} {ticket.address.detail}"
    context = {
        "ticket": ticket,
        "technician": technician,
        "phone": ticket.customer.phone,
        "phone_national": _national(ticket.customer.phone),
        "full_address": full_address,
        "clocks": [clocks[kind] for kind in SHOWN_CLOCKS if kind in clocks],
        "next_step": next_step,
        "next_step_label": STEP_LABELS.get(next_step, ""),
        "timeline": [e for e in ticket.events.all() if e.kind in (TicketEvent.Kind.CREATED, TicketEvent.Kind.STATUS)],
        "now": timezone.now(),
    }
    if ticket.status in (S.COMPLETED, S.CLOSED):
        sold = list(ticket.policies_sold.select_related("plan"))
        sold_plans = {policy.plan_id for policy in sold}
        context["policies_sold"] = sold
        context["plans"] = [plan for plan in InsurancePlan.objects.filter(is_active=True) if plan.pk not in sold_plans]
    return context


@require_GET
@technician_view
def job(request, technician: Technician, number: str):
    """The job: who, what and where (full phone and address: the job is this technician's), the clocks, and the one
    next step."""
    ticket = _own_job(technician=technician, number=number)
    access_log_record(kind=AccessLog.Kind.ADDRESS_VIEW, by=request.user, ticket=ticket)
    return render(request, "dispatch/technician/job.html", _job_context(ticket, technician))


@require_POST
@technician_view
def job_step(request, technician: Technician, number: str):
    """Called the customer, on the way, or arrived (with the phone's position when it gave one)."""
    ticket = _own_job(technician=technician, number=number)
    to = request.POST.get("to", "")
    try:
        ticket_progress(ticket=ticket, by=request.user, to=to, lat=request.POST.get("lat"), lng=request.POST.get("lng"))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("technician:job", number=number)


def _quote(ticket: Ticket, labour_fee, parts_fee) -> dict | None:
    try:
        labour, parts = Decimal(labour_fee or 0), Decimal(parts_fee or 0)
    except (InvalidOperation, TypeError, ValueError):
        return None
    if not (labour.is_finite() and parts.is_finite()) or labour < 0 or parts < 0:
        return None
    return {
        "labour_fee": labour,
        "parts_fee": parts,
        **ticket_fee_quote(ticket=ticket, labour_fee=labour, parts_fee=parts),
    }


@require_http_methods(["GET", "POST"])
@technician_view
def job_complete(request, technician: Technician, number: str):
    """The completion form with a live fee breakdown (free first inspection, insurance cover); submitting completes
    the job."""
    ticket = _own_job(technician=technician, number=number)
    if ticket.status != S.ON_SITE and request.method == "GET":
        return redirect("technician:job", number=number)
    form = JobCompleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket_complete(
                ticket=ticket,
                by=request.user,
                work_done=data["work_done"],
                parts=data["parts"],
                labour_fee=data["labour_fee"],
                parts_fee=data["parts_fee"],
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Job %(number)s completed.") % {"number": ticket.number})
            return redirect("technician:job", number=number)
    values = form.data if form.is_bound else {}
    context = {
        "ticket": ticket,
        "technician": technician,
        "form": form,
        "quote": _quote(ticket, values.get("labour_fee"), values.get("parts_fee")),
    }
    return render(request, "dispatch/technician/complete.html", context, status=400 if form.is_bound else 200)


@require_GET
@technician_view
def job_quote(request, technician: Technician, number: str):
    """HTML fragment: the fee breakdown for the amounts typed so far."""
    ticket = _own_job(technician=technician, number=number)
    quote = _quote(ticket, request.GET.get("labour_fee"), request.GET.get("parts_fee"))
    return render(request, "dispatch/technician/_quote.html", {"ticket": ticket, "quote": quote})


@require_POST
@technician_view
def job_insurance_sell(request, technician: Technician, number: str):
    """Sell an after-sales plan to the customer on this completed job."""
    ticket = _own_job(technician=technician, number=number)
    plan_id = request.POST.get("plan", "")
    plan = InsurancePlan.objects.filter(pk=plan_id).first() if plan_id.isdigit() else None
    if plan is None:
        messages.error(request, _("Choose a plan."))
        return redirect("technician:job", number=number)
    try:
        policy = insurance_policy_sell(ticket=ticket, plan=plan, by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(plan)s sold, valid until %(date)s.")
            % {"plan": plan.name, "date": timezone.localtime(policy.valid_until).strftime("%Y-%m-%d")},
        )
    return redirect("technician:job", number=number)
