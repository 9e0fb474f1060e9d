"""The public online request (线上联系客服): request form, confirmation, status look-up and the area type-ahead.

Anyone on the internet reaches these pages, so every write and every look-up is rate limited per client IP (and per
phone number or ticket number). The IP is request.META["REMOTE_ADDR"]: behind a reverse proxy, the proxy must set it
to the real client address (for example gunicorn's --forwarded-allow-ips with the proxy's X-Forwarded-For), or
all customers would share the proxy's one address and its limit.
"""

import datetime
import logging
import re

from django import forms
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from config.exceptions import ApplicationError
from dispatch import crypto
from dispatch.exceptions import DuplicateOpenTicket, InvalidPhone
from dispatch.models import Ticket, TicketStatus
from dispatch.public_services import rate_limit_hit
from dispatch.selectors import ticket_clocks, ticket_get_for_customer
from dispatch.services import ticket_create
from regions.models import Division
from regions.selectors import division_list_search, served_codes
from sla.models import DeadlineKind

logger = logging.getLogger(__name__)

# Limits as (hits, window in seconds). A family or an office behind one NAT shares an IP, so the IP limits are looser
# than the phone limit; a real customer rarely needs more than one request an hour. Only submissions that pass the
# form's own checks count, so fixing a typo costs nothing.
REQUEST_LIMIT_PER_IP = (5, 10 * 60)
REQUEST_LIMIT_PER_PHONE = (3, 60 * 60)
# A ticket number plus four digits has only 10,000 combinations: limit guesses per IP and per ticket number.
LOOKUP_LIMIT_PER_IP = (20, 10 * 60)
LOOKUP_LIMIT_PER_NUMBER = (10, 60 * 60)
# The type-ahead fires as the customer types (debounced), a few requests per word.
SEARCH_LIMIT_PER_IP = (120, 60)
SEARCH_MAX_LENGTH = 40
SEARCH_RESULTS = 10
# How far ahead a customer may book a visit.
APPOINTMENT_MAX_DAYS = 30
SESSION_TICKET_KEY = "public_request_ticket"
PUBLIC_LEVELS = {Division.Level.COUNTY, Division.Level.TOWNSHIP}
NUMBER_PATTERN = re.compile(r"^\d{8}-\d{4}$")


class _BootstrapForm(forms.Form):
    """Bootstrap classes on the text inputs (large: customers tap them on a phone), and marks on invalid ones."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if not isinstance(field.widget, forms.RadioSelect | forms.HiddenInput):
                field.widget.attrs["class"] = "form-control form-control-lg"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"
                widget.attrs["aria-invalid"] = "true"


class RequestForm(_BootstrapForm):
    ASAP = "asap"
    SCHEDULED = "scheduled"

    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=20,
        error_messages={"required": _("Enter your phone number so that we can call you back.")},
        widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"}),
    )
    name = forms.CharField(
        label=_("Your name (optional)"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    division = forms.CharField(
        max_length=12,
        error_messages={"required": _("Choose your county or town from the list.")},
        widget=forms.HiddenInput,
    )
    address_detail = forms.CharField(
        label=_("Street address"),
        max_length=200,
        error_messages={"required": _("Enter the street address (building, unit, room).")},
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    category = forms.ChoiceField(
        label=_("What is the problem?"),
        choices=Ticket.Category.choices,
        error_messages={"required": _("Choose what is wrong with the lock.")},
        widget=forms.RadioSelect,
    )
    lock_brand = forms.CharField(label=_("Lock brand (optional)"), max_length=60, required=False)
    notes = forms.CharField(
        label=_("Anything else we should know? (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    timing = forms.ChoiceField(
        label=_("When should the technician come?"),
        choices=[(ASAP, _("As soon as possible")), (SCHEDULED, _("At a time I choose"))],
        initial=ASAP,
        widget=forms.RadioSelect,
    )
    appointment_date = forms.DateField(
        label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    appointment_from = forms.TimeField(
        label=_("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    appointment_until = forms.TimeField(
        label=_("Until"), required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    # Honeypot: hidden from people by CSS, so only a bot fills it in.
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))

    def __init__(self, *args, now: datetime.datetime | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()

    @property
    def is_bot(self) -> bool:
        return bool(self.is_bound and self.data.get("website", "").strip())

    def clean_phone(self) -> str:
        try:
            return crypto.normalize_phone(self.cleaned_data["phone"])
        except InvalidPhone as error:
            raise forms.ValidationError(error.message) from error

    def clean_division(self) -> Division:
        division = Division.objects.filter(code=self.cleaned_data["division"], level__in=PUBLIC_LEVELS).first()
        if division is None:
            raise forms.ValidationError(_("Choose your county or town from the list."))
        return division

    def clean(self) -> dict:
        data = super().clean()
        data["appointment_start"] = data["appointment_end"] = None
        if data.get("timing") != self.SCHEDULED:
            return data
        day, start, end = data.get("appointment_date"), data.get("appointment_from"), data.get("appointment_until")
        if day is None or start is None or end is None:
            raise forms.ValidationError(_("Choose a date and a time window, or “As soon as possible”."))
        zone = timezone.get_current_timezone()
        starts = datetime.datetime.combine(day, start, tzinfo=zone)
        ends = datetime.datetime.combine(day, end, tzinfo=zone)
        if starts < self.now:
            self.add_error("appointment_date", _("This time has already passed. Choose a later time."))
        elif ends <= starts:
            self.add_error("appointment_until", _("The appointment must end after it starts."))
        elif starts > self.now + datetime.timedelta(days=APPOINTMENT_MAX_DAYS):
            self.add_error(
                "appointment_date",
                _("Choose a day within the next %(days)s days.") % {"days": APPOINTMENT_MAX_DAYS},
            )
        else:
            data["appointment_start"], data["appointment_end"] = starts, ends
        return data


class StatusForm(_BootstrapForm):
    number = forms.CharField(
        label=_("Ticket number"),
        max_length=13,
        error_messages={"required": _("Enter the ticket number, e.g. 20261126-0001.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "20261126-0001"}),
    )
    phone_last_four = forms.CharField(
        label=_("Last four digits of your phone number"),
        min_length=4,
        max_length=4,
        error_messages={"required": _("Enter the last four digits of the phone number you gave us.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9]{4}"}),
    )

    def clean_number(self) -> str:
        number = self.cleaned_data["number"].strip()
        if not NUMBER_PATTERN.match(number):
            raise forms.ValidationError(_("Enter the ticket number, e.g. 20261126-0001."))
        return number

    def clean_phone_last_four(self) -> str:
        digits = self.cleaned_data["phone_last_four"].strip()
        if not (len(digits) == 4 and digits.isascii() and digits.isdigit()):
            raise forms.ValidationError(_("Enter the last four digits of the phone number you gave us."))
        return digits


def _client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _over_limit(scope: str, key: str, limit: tuple[int, int]) -> bool:
    hits, window = limit
    return rate_limit_hit(scope=scope, key=key, limit=hits, window=window)


def _chosen_division(form: RequestForm) -> Division | None:
    """The division picked in the type-ahead, so the page can show it again after an error."""
    if form.is_bound and "division" in getattr(form, "cleaned_data", {}):
        return form.cleaned_data["division"]
    code = form.data.get("division", "") if form.is_bound else ""
    return Division.objects.filter(code=code[:12], level__in=PUBLIC_LEVELS).first() if code else None


def _render_form(request, form: RequestForm, *, status: int = 200, **extra):
    division = _chosen_division(form)
    context = {
        "form": form,
        "division": division,
        "division_served": division is not None and bool(served_codes(divisions=[division])),
        **extra,
    }
    return render(request, "dispatch/public/request_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def request_create(request):
    """The online request form; a valid request becomes a web ticket through ticket_create."""
    if request.method != "POST":
        return _render_form(request, RequestForm())
    form = RequestForm(request.POST)
    if form.is_bot:
        # Look like a success, so the bot learns nothing; count it against the IP all the same.
        _over_limit("request-ip", _client_ip(request), REQUEST_LIMIT_PER_IP)
        logger.info("public request honeypot filled from %s", _client_ip(request))
        return render(request, "dispatch/public/request_done.html", {"ticket": None})
    if not form.is_valid():
        return _render_form(request, form)
    data = form.cleaned_data
    # Both counters move on every attempt, so neither an IP nor a phone can probe for open tickets without limit.
    over_ip = _over_limit("request-ip", _client_ip(request), REQUEST_LIMIT_PER_IP)
    over_phone = _over_limit("request-phone", crypto.phone_index(data["phone"]), REQUEST_LIMIT_PER_PHONE)
    if over_ip or over_phone:
        return _render_form(request, form, status=429, rate_limited=True)
    try:
        ticket = ticket_create(
            phone=data["phone"],
            name=data["name"],
            division=data["division"],
            address_detail=data["address_detail"],
            category=data["category"],
            lock_brand=data["lock_brand"],
            notes=data["notes"],
            appointment_start=data["appointment_start"],
            appointment_end=data["appointment_end"],
            channel=Ticket.Channel.WEB,
            by=None,
        )
    except DuplicateOpenTicket as error:
        return _render_form(request, form, duplicate_number=error.extra["number"])
    except ApplicationError as error:
        form.add_error(None, error.message)
        return _render_form(request, form)
    request.session[SESSION_TICKET_KEY] = ticket.pk
    return redirect("public:request-done")


@require_GET
def request_done(request):
    """The confirmation page for the ticket this browser has just created."""
    pk = request.session.get(SESSION_TICKET_KEY)
    ticket = Ticket.objects.select_related("customer", "division").filter(pk=pk).first() if pk else None
    if ticket is None:
        return redirect("public:request")
    response = ticket_clocks(ticket=ticket).get(DeadlineKind.RESPONSE)
    context = {
        "ticket": ticket,
        "masked_phone": crypto.mask_phone(ticket.customer.phone),
        "response_minutes": round((response.due_at - response.started_at).total_seconds() / 60) if response else 30,
        "response_due": response.due_at if response else None,
        "status_url": f"{reverse('public:status')}?number={ticket.number}",
    }
    return render(request, "dispatch/public/request_done.html", context)


def _progress(ticket: Ticket) -> list[dict]:
    """The steps a customer recognises, each done once its timestamp is set."""
    steps = [
        (_("Request received"), ticket.created_at),
        (_("Technician assigned"), ticket.accepted_at),
        (TicketStatus.RESPONDED.label, ticket.responded_at),
        (TicketStatus.EN_ROUTE.label, ticket.en_route_at),
        (TicketStatus.ON_SITE.label, ticket.on_site_at),
        (TicketStatus.COMPLETED.label, ticket.completed_at),
    ]
    return [{"label": label, "at": at, "done": at is not None} for label, at in steps]


@require_http_methods(["GET", "POST"])
def status(request):
    """Look a ticket up by its number and the last four digits of the phone; one answer for every wrong pair."""
    if request.method != "POST":
        return render(
            request, "dispatch/public/status.html", {"form": StatusForm(initial={"number": request.GET.get("number")})}
        )
    form = StatusForm(request.POST)
    if not form.is_valid():
        return render(request, "dispatch/public/status.html", {"form": form})
    number = form.cleaned_data["number"]
    over_ip = _over_limit("lookup-ip", _client_ip(request), LOOKUP_LIMIT_PER_IP)
    over_number = _over_limit("lookup-number", number, LOOKUP_LIMIT_PER_NUMBER)
    if over_ip or over_number:
        return render(request, "dispatch/public/status.html", {"form": form, "rate_limited": True}, status=429)
    ticket = ticket_get_for_customer(number=number, phone_last_four=form.cleaned_data["phone_last_four"])
    context = {"form": form, "ticket": ticket, "not_found": ticket is None}
    if ticket is not None:
        context["progress"] = _progress(ticket)
    return render(request, "dispatch/public/status.html", context)


@require_GET
def area_search(request):
    """HTML fragment for the address type-ahead: counties and townships only, each marked served or not."""
    if _over_limit("search-ip", _client_ip(request), SEARCH_LIMIT_PER_IP):
        return render(request, "dispatch/public/_area_results.html", {"rate_limited": True}, status=429)
    query = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    # Ask for more than we show: prefectures and provinces that match are dropped here.
    found = division_list_search(query=query, limit=SEARCH_RESULTS * 5) if query else []
    divisions = [division for division in found if division.level in PUBLIC_LEVELS][:SEARCH_RESULTS]
    context = {"query": query, "divisions": divisions, "served": served_codes(divisions=divisions)}
    return render(request, "dispatch/public/_area_results.html", context)
