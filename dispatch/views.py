import hashlib
import json

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import Role
from accounts.views import role_required
from audit.models import AccessLog
from audit.services import access_log_record
from config.exceptions import ApplicationError
from configcache.memo import tokens_held
from dispatch import crypto
from dispatch.exceptions import DuplicateOpenTicket, InvalidPhone, OutsideServiceArea
from dispatch.forms import DispatchForm, ReasonForm, TicketForm
from dispatch.models import ALLOWED, InsurancePlan, Ticket, TicketStatus
from dispatch.selectors import (
    customer_card,
    explanation_for_display,
    offer_list_for_ticket,
    policies_in_force,
    technician_list_candidates,
    technician_list_for_dispatch,
    technician_list_on_duty,
    technician_names,
    ticket_clocks,
    ticket_get_for_page,
    ticket_list_for_board,
    ticket_province_limit,
)
from dispatch.services import (
    customer_phone_reveal,
    insurance_policy_sell,
    ticket_assign,
    ticket_cancel,
    ticket_create,
    ticket_offer,
    ticket_reassign,
    ticket_redispatch,
    ticket_resume,
    ticket_wait_customer,
)
from regions.models import Division
from regions.selectors import division_get, division_list_search, served_codes

STAFF = (Role.OPERATOR, Role.MANAGER)


def _card_context(phone: str) -> dict:
    if not phone:
        return {}
    try:
        customer, open_tickets, past, free = customer_card(phone=phone)
    except InvalidPhone as error:
        return {"phone_error": error.message}
    return {
        "card": {
            "customer": customer,
            "policies": policies_in_force(customer=customer, at=timezone.now()) if customer else [],
            "masked": crypto.mask_phone(crypto.normalize_phone(phone)),
            "open_tickets": open_tickets,
            "past": past,
            "free_inspection": free,
        }
    }


@role_required(Role.OPERATOR)
@tokens_held()  # the form's division lookup and ticket_create's configuration share one read of the tokens
def console(request):
    """Incoming call: look the caller up by number (?phone= from the telephony system too) and create the ticket."""
    phone = (request.POST.get("phone", "") if request.method == "POST" else request.GET.get("phone", "")).strip()
    # ?call= comes with the telephony screen pop (api: calls/incoming): the ticket created here is linked to that call.
    call = (request.POST.get("call") if request.method == "POST" else request.GET.get("call")) or ""
    call_id = int(call) if call.isascii() and call.isdigit() and len(call) < 19 else None
    form = TicketForm(request.POST or None, initial={"phone": phone})
    confirm = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = ticket_create(
                **{key: data[key] for key in ("phone", "name", "division", "address_detail", "category")},
                lock_brand=data["lock_brand"],
                lock_model=data["lock_model"],
                urgency=data["urgency"] or None,
                appointment_start=data["appointment_start"],
                appointment_end=data["appointment_end"],
                notes=data["notes"],
                allow_outside_area=data["allow_outside_area"],
                allow_duplicate=data["allow_duplicate"],
                call_id=call_id,
                by=request.user,
            )
        except OutsideServiceArea as error:
            form.add_error("division", error.message)
            confirm["outside"] = True
        except DuplicateOpenTicket as error:
            form.add_error(None, error.message)
            confirm["duplicate"] = error.extra["number"]
        except ApplicationError as error:
            form.add_error("phone" if isinstance(error, InvalidPhone) else None, error.message)
        else:
            messages.success(request, _("Ticket %(number)s created.") % {"number": ticket.number})
            return redirect("dispatch:ticket", number=ticket.number)
    chosen = None
    if form.is_bound and form.data.get("division"):
        chosen = division_get(code=form.data["division"])
    context = {
        "form": form,
        "phone": phone,
        "confirm": confirm,
        "chosen": chosen,
        "call_id": call_id,
        **_card_context(phone),
    }
    known = context.get("card", {}).get("customer")
    context["name_value"] = form.data.get("name") if form.is_bound else (known.name if known else "")
    return render(request, "dispatch/dispatcher/console.html", context, status=400 if form.errors else 200)


@require_GET
@role_required(Role.OPERATOR)
def division_options(request):
    """HTML fragment: counties and towns matching the typed text, each a button that fills the form's area field."""
    query = request.GET.get("area", "").strip()[:40]
    divisions = [d for d in division_list_search(query=query, limit=30) if d.level in {"county", "township"}][:12]
    context = {"query": query, "divisions": divisions, "served": served_codes(divisions=divisions)}
    return render(request, "dispatch/dispatcher/_division_options.html", context)


@role_required(*STAFF)
def ticket_page(request, number: str):
    ticket = ticket_get_for_page(number=number, provinces=ticket_province_limit(user=request.user))
    if ticket is None:
        return render(request, "dispatch/dispatcher/ticket_missing.html", {"number": number}, status=404)
    context = {
        "ticket": ticket,
        "masked": crypto.mask_phone(ticket.customer.phone),
        "clocks": ticket_clocks(ticket=ticket).values(),
        "now": timezone.now(),
        "reason_form": ReasonForm(),
        "revealed": request.session.pop(f"revealed:{ticket.pk}", None),
        "plans": InsurancePlan.objects.filter(is_active=True) if not ticket.is_open else [],
        "policies_sold": ticket.policies_sold.select_related("plan"),
        **_dispatch_context(ticket),
    }
    # The page shows the full address: every look at it is in the managers' access log.
    access_log_record(kind=AccessLog.Kind.ADDRESS_VIEW, by=request.user, ticket=ticket)
    return render(request, "dispatch/dispatcher/ticket.html", context)


def _dispatch_context(ticket: Ticket) -> dict:
    """The ticket page's dispatch panel: its offers with their reasons, and who could take it now."""
    offers = offer_list_for_ticket(ticket=ticket)
    names = technician_names(offers=offers)
    for offer in offers:
        offer.why = explanation_for_display(explanation=offer.explanation, names=names)
    can_dispatch = ticket.status in (TicketStatus.NEW, TicketStatus.OFFERED)
    return {
        "offers": offers,
        "can_dispatch": can_dispatch,
        "can_reassign": ticket.technician_id is not None and TicketStatus.NEW in ALLOWED[ticket.status],
        "ranking": technician_list_candidates(ticket=ticket, now=timezone.now()).candidates[:8] if can_dispatch else [],
        "dispatch_choices": technician_list_for_dispatch(ticket=ticket) if ticket.is_open else [],
    }


DISPATCH_ACTIONS = {
    "offer": lambda ticket, data, by: ticket_offer(ticket=ticket, technician=data["technician"], by=by),
    "assign": lambda ticket, data, by: ticket_assign(
        ticket=ticket, technician=data["technician"], by=by, reason=data["reason"]
    ),
    "reassign": lambda ticket, data, by: ticket_reassign(
        ticket=ticket, by=by, reason=data["reason"], technician=data["technician"]
    ),
    "auto": lambda ticket, data, by: ticket_redispatch(ticket=ticket, by=by),
}


@require_POST
@role_required(Role.OPERATOR)
def ticket_dispatch(request, number: str):
    """Dispatch by hand: offer to a technician, assign one who agreed on the phone, reassign, or retry automatic."""
    ticket = get_object_or_404(Ticket, number=number)
    form = DispatchForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError(" ".join(message for errors in form.errors.values() for message in errors))
        DISPATCH_ACTIONS[form.cleaned_data["action"]](ticket, form.cleaned_data, request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Done."))
    return redirect("dispatch:ticket", number=number)


ACTIONS = {
    "cancel": (ticket_cancel, True),
    "wait": (ticket_wait_customer, True),
    "resume": (ticket_resume, False),
}


@require_POST
@role_required(Role.OPERATOR)
def ticket_action(request, number: str, action: str):
    """Cancel, put on hold or resume; a refused action shows why and changes nothing."""
    ticket = get_object_or_404(Ticket, number=number)
    service, needs_reason = ACTIONS[action]
    form = ReasonForm(request.POST)
    try:
        if needs_reason:
            if not form.is_valid():
                raise ApplicationError(_("Give a reason."))
            service(ticket=ticket, by=request.user, reason=form.cleaned_data["reason"])
        else:
            service(ticket=ticket, by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("dispatch:ticket", number=number)


@require_POST
@role_required(Role.OPERATOR)
def phone_reveal(request, number: str):
    """Show the full number once, after logging who asked and why."""
    ticket = get_object_or_404(Ticket.objects.select_related("customer"), number=number)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason."))
    else:
        request.session[f"revealed:{ticket.pk}"] = customer_phone_reveal(
            ticket=ticket, by=request.user, reason=form.cleaned_data["reason"]
        )
    return redirect("dispatch:ticket", number=number)


def _board_filters(request) -> dict:
    filters = {
        "status": request.GET.get("status", ""),
        "province": request.GET.get("province", ""),
        "urgency": request.GET.get("urgency", ""),
        "soon": request.GET.get("soon") == "1",
    }
    if filters["status"] not in TicketStatus.values:
        filters["status"] = ""
    if filters["urgency"] not in Ticket.Urgency.values:
        filters["urgency"] = ""
    return filters


def _board_context(request) -> dict:
    filters = _board_filters(request)
    now = timezone.now()
    limit = ticket_province_limit(user=request.user)
    tickets = list(ticket_list_for_board(now=now, provinces=limit, **filters)[:200])
    return {"tickets": tickets, "filters": filters, "now": now}


def _on_duty_context(request) -> dict:
    province = request.GET.get("province", "")
    return {"on_duty": list(technician_list_on_duty(province=province)[:100])}


@role_required(*STAFF)
def board(request):
    """Live dispatch board: open tickets with their response countdown; the table refreshes itself every 5 s."""
    context = _board_context(request)
    provinces = Division.objects.filter(level=Division.Level.PROVINCE)
    if limit := ticket_province_limit(user=request.user):
        provinces = provinces.filter(code__in=limit)
    context["provinces"] = provinces.values_list("code", "name")
    context["statuses"] = [(value, label) for value, label in TicketStatus.choices]
    query = "?" + request.GET.urlencode() if request.GET else ""
    context["table_url"] = reverse("dispatch:board-table") + query
    context["on_duty_url"] = reverse("dispatch:board-on-duty") + query
    context.update(_on_duty_context(request))
    return render(request, "dispatch/dispatcher/board.html", context)


@require_GET
@role_required(*STAFF)
def board_table(request):
    """The board's table, polled every 5 s by every open board. One rendering is shared for BOARD_CACHE_SECONDS by
    everyone asking for the same filters, in the same language, with the same province limit: 200 operators polling
    cost one query and one rendering per interval, not 200 (docs/scaling.md)."""
    seconds = settings.BOARD_CACHE_SECONDS
    parts = [translation.get_language(), _board_filters(request), ticket_province_limit(user=request.user)]
    key = "board-table:" + hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    html = cache.get(key) if seconds else None
    if html is None:
        html = render_to_string("dispatch/dispatcher/_board_table.html", _board_context(request), request=request)
        if seconds:
            cache.set(key, html, seconds)
    return HttpResponse(html)


@require_GET
@role_required(*STAFF)
def board_on_duty(request):
    """Who is on duty, since when, with how many jobs: refreshed every 30 s, less often than the tickets."""
    return render(request, "dispatch/dispatcher/_on_duty.html", _on_duty_context(request))


@require_POST
@role_required(Role.OPERATOR)
def insurance_sell(request, number: str):
    """Sell an after-sales plan on a completed job."""
    ticket = get_object_or_404(Ticket, number=number)
    plan_id = request.POST.get("plan", "")
    plan = InsurancePlan.objects.filter(pk=plan_id).first() if plan_id.isdigit() else None
    if plan is None:
        messages.error(request, _("Choose a plan."))
        return redirect("dispatch:ticket", number=number)
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
    return redirect("dispatch:ticket", number=number)
