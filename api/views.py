"""The REST API v1: one APIView per operation, thin: validate, call one service or selector, answer (docs/api.md)."""

import re

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Role, user_roles
from api.authentication import IntegrationKeyAuthentication
from api.models import Scope
from api.permissions import HasScope
from api.selectors import is_service_account, offer_get_pending_for, ticket_get_for_api, ticket_list_for_api
from api.throttling import ApiRateThrottle
from complaints.models import Complaint, Remedy
from complaints.services import complaint_file
from dispatch import crypto
from dispatch.exceptions import InvalidPhone
from dispatch.models import Technician, Ticket, TicketStatus
from dispatch.selectors import ACTIVE_JOB_STATUSES, customer_card, policies_in_force
from dispatch.services import (
    offer_accept,
    offer_decline,
    ticket_assign,
    ticket_cancel,
    ticket_complete,
    ticket_create,
    ticket_offer,
    ticket_progress,
    ticket_reassign,
    ticket_redispatch,
    ticket_resume,
    ticket_wait_customer,
)
from regions.api.views import DivisionOutput
from regions.models import Division
from regions.selectors import SEARCH_LIMIT, division_get, division_list_search, served_codes

MAX_PAGE = 200
MAX_ID = 2**63 - 1  # PostgreSQL bigint: a larger id is refused as input, not sent to the database
TICKET_NUMBER = re.compile(r"^[0-9]{8}-[0-9]{4,6}$")


class ApiView(APIView):
    """Base of every v1 operation: key or session authentication, one scope per operation, per-key rate limit, the
    one error shape (config/api.py)."""

    authentication_classes = [IntegrationKeyAuthentication, SessionAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ApiRateThrottle]
    parser_classes = [JSONParser]
    unified_errors = True
    required_scope: str = ""
    query_serializer = None

    def query(self, request) -> dict:
        # A plain dict, not the QueryDict: DRF reads an empty form value of an optional field as "not given", so
        # ?region= would be accepted as no filter at all, where the schema (and a client's typo) wants a 400.
        params = self.query_serializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        return params.validated_data


class StaffOnly(HasScope):
    """Dispatch operations (cancel, hold, offer, assign…): operators and administrators, or an integration's service
    account; a technician moves only their own job, through the technician operations."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if is_service_account(request.user) or not {Role.OPERATOR, Role.ADMIN}.isdisjoint(user_roles(request.user)):
            return True
        self.message = exceptions.PermissionDenied.default_detail
        return False


# ---- Output shapes ------------------------------------------------------------------------------------------------


class CustomerOutput(serializers.Serializer):
    phone_masked = serializers.CharField(help_text="138****5678")
    name = serializers.CharField(allow_blank=True)


class AddressOutput(serializers.Serializer):
    division = serializers.CharField(source="division_id")
    path = serializers.CharField(source="division.full_name")
    detail = serializers.CharField()


class TechnicianBrief(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()


class TicketOutput(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    channel = serializers.ChoiceField(choices=Ticket.Channel.choices)
    category = serializers.ChoiceField(choices=Ticket.Category.choices)
    urgency = serializers.ChoiceField(choices=Ticket.Urgency.choices)
    division = serializers.CharField(source="division_id")
    division_path = serializers.CharField(source="division.full_name")
    lock_brand = serializers.CharField(allow_blank=True)
    lock_model = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    status_changed_at = serializers.DateTimeField()
    appointment_start = serializers.DateTimeField(allow_null=True)
    appointment_end = serializers.DateTimeField(allow_null=True)
    inspection_fee_waived = serializers.BooleanField()
    technician = TechnicianBrief(allow_null=True)
    customer = serializers.SerializerMethodField()

    def get_customer(self, ticket: Ticket) -> CustomerOutput:
        # Masked as on the operator's screens; the full number is revealed only there, with a logged reason.
        return {"phone_masked": crypto.mask_phone(ticket.customer.phone), "name": ticket.customer.name}


class TicketDetailOutput(TicketOutput):
    address = AddressOutput()
    notes = serializers.CharField(allow_blank=True)
    fee = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    on_site_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)


# ---- Tickets -------------------------------------------------------------------------------------------------------


class TicketListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
    region = serializers.RegexField(r"^[0-9]{2,12}$", required=False, help_text="A division code: itself and within")
    created_from = serializers.DateTimeField(required=False)
    created_to = serializers.DateTimeField(required=False)
    phone = serializers.CharField(max_length=32, required=False, help_text="The customer's number")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)

    def validate_phone(self, value: str) -> str:
        try:
            return crypto.phone_index(crypto.normalize_phone(value))
        except InvalidPhone as error:
            raise serializers.ValidationError(str(error.message)) from None


class TicketCreateInput(serializers.Serializer):
    phone = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    division = serializers.RegexField(r"^[0-9]{6,12}$", help_text="County or town code (see /api/v1/regions)")
    address_detail = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=Ticket.Category.choices)
    lock_brand = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    lock_model = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    urgency = serializers.ChoiceField(choices=Ticket.Urgency.choices, required=False, allow_null=True, default=None)
    appointment_start = serializers.DateTimeField(required=False, allow_null=True, default=None)
    appointment_end = serializers.DateTimeField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    allow_outside_area = serializers.BooleanField(required=False, default=False)
    allow_duplicate = serializers.BooleanField(required=False, default=False)
    call = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_ID,
        help_text="The incoming call this ticket is for",
    )

    def validate_division(self, value: str) -> Division:
        division = division_get(code=value)
        if division is None:
            raise serializers.ValidationError(_("Choose the county or town from the list."))
        return division


class TicketsApi(ApiView):
    """GET: the tickets the caller may see, filtered. POST: create a ticket, as the operator console does."""

    query_serializer = TicketListQuery

    def get_permissions(self):
        self.required_scope = Scope.TICKETS_CREATE if self.request.method == "POST" else Scope.TICKETS_READ
        return super().get_permissions()

    @extend_schema(
        operation_id="tickets_list",
        responses=inline_serializer(
            "TicketPage", {"count": serializers.IntegerField(), "results": TicketOutput(many=True)}
        ),
    )
    def get(self, request):
        params = self.query(request)
        tickets = ticket_list_for_api(
            user=request.user,
            status=params.get("status", ""),
            division=params.get("region", ""),
            created_from=params.get("created_from"),
            created_to=params.get("created_to"),
            phone_index=params.get("phone", ""),
        )
        page = tickets[params["offset"] : params["offset"] + params["limit"]]
        return Response({"count": tickets.count(), "results": TicketOutput(page, many=True).data})

    @extend_schema(operation_id="tickets_create", request=TicketCreateInput, responses={201: TicketDetailOutput})
    def post(self, request):
        data = TicketCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        call_id = values.pop("call")
        # Answered from the objects the service just made (customer, address, division): no second read, no decrypting.
        ticket = ticket_create(**values, call_id=call_id, channel=Ticket.Channel.API, by=request.user)
        return Response(TicketDetailOutput(ticket).data, status=status.HTTP_201_CREATED)


def _ticket_or_404(request, number: str) -> Ticket:
    ticket = ticket_get_for_api(user=request.user, number=number) if TICKET_NUMBER.match(number) else None
    if ticket is None:
        raise exceptions.NotFound(_("There is no such ticket."))
    return ticket


class TicketDetailApi(ApiView):
    required_scope = Scope.TICKETS_READ

    @extend_schema(operation_id="tickets_retrieve", responses=TicketDetailOutput)
    def get(self, request, number: str):
        return Response(TicketDetailOutput(_ticket_or_404(request, number)).data)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class NoInput(serializers.Serializer):
    pass


class TechnicianField(serializers.PrimaryKeyRelatedField):
    """A technician's id; out-of-range numbers are "not found" like any unknown id."""

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool) and not 0 < data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class TechnicianInput(serializers.Serializer):
    technician = TechnicianField(queryset=Technician.objects.filter(is_active=True))


class AssignInput(TechnicianInput):
    reason = serializers.CharField(max_length=200)


class ReassignInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
    technician = TechnicianField(
        queryset=Technician.objects.filter(is_active=True), required=False, allow_null=True, default=None
    )


class ArriveInput(serializers.Serializer):
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True, default=None)
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True, default=None)


class CompleteInput(serializers.Serializer):
    work_done = serializers.CharField(max_length=2000)
    parts = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    labour_fee = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0, default=0)
    parts_fee = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0, default=0)


class TransitionApi(ApiView):
    """POST /api/v1/tickets/{number}/<transition>: one allowed move of the transition table, through its service."""

    required_scope = Scope.TICKETS_TRANSITION
    input_serializer = NoInput
    error_codes = ("409",)

    # The operation's service call, (ticket, data, by) -> None: set for each operation by for_service (TRANSITIONS).
    service = None

    def post(self, request, number: str):
        ticket = _ticket_or_404(request, number)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.service(ticket, data.validated_data, request.user)
        after = ticket_get_for_api(user=request.user, number=number)
        if after is None:  # a technician who declined no longer sees the ticket: answer it as it now is, once
            ticket.refresh_from_db()
            after = ticket
        return Response(TicketDetailOutput(after).data)

    @classmethod
    def for_service(cls, name: str, doc: str, input_serializer, service, *, staff: bool):
        """Build the operation's view class (TicketCancelApi…): its input, permission, service call and schema."""

        def post(self, request, number: str):
            return TransitionApi.post(self, request, number)

        post = extend_schema(
            operation_id=f"tickets_{name}",
            summary=doc,
            request=input_serializer if input_serializer is not NoInput else None,
            responses=TicketDetailOutput,
        )(post)
        return type(
            f"Ticket{name.title()}Api",
            (cls,),
            {
                "__doc__": doc,
                "__module__": __name__,
                "input_serializer": input_serializer,
                "service": staticmethod(service),
                "permission_classes": [StaffOnly] if staff else [HasScope],
                "post": post,
            },
        )


def _own_offer(ticket: Ticket, by):
    offer = offer_get_pending_for(ticket=ticket, user=by)
    if offer is None:
        raise exceptions.NotFound(_("You have no open offer for this ticket."))
    return offer


TRANSITIONS = {
    # name: (summary, input, service call, staff only)
    "accept": (
        "The technician accepts the ticket offered to them.",
        NoInput,
        lambda ticket, data, by: offer_accept(offer=_own_offer(ticket, by), by=by),
        False,
    ),
    "decline": (
        "The technician declines the ticket offered to them (with a reason); it goes to the next candidate.",
        ReasonInput,
        lambda ticket, data, by: offer_decline(offer=_own_offer(ticket, by), by=by, reason=data["reason"]),
        False,
    ),
    "cancel": (
        "Cancel the ticket (with a reason); its clocks stop.",
        ReasonInput,
        lambda ticket, data, by: ticket_cancel(ticket=ticket, by=by, reason=data["reason"]),
        True,
    ),
    "wait": (
        "Put the ticket on hold for the customer; its clocks pause.",
        ReasonInput,
        lambda ticket, data, by: ticket_wait_customer(ticket=ticket, by=by, reason=data["reason"]),
        True,
    ),
    "resume": (
        "Take the ticket off hold, back to where it was.",
        NoInput,
        lambda ticket, data, by: ticket_resume(ticket=ticket, by=by),
        True,
    ),
    "offer": (
        "Offer the ticket to a technician.",
        TechnicianInput,
        lambda ticket, data, by: ticket_offer(ticket=ticket, technician=data["technician"], by=by),
        True,
    ),
    "assign": (
        "Give the ticket to a technician who agreed on the phone.",
        AssignInput,
        lambda ticket, data, by: ticket_assign(
            ticket=ticket, technician=data["technician"], by=by, reason=data["reason"]
        ),
        True,
    ),
    "reassign": (
        "Take the ticket off its technician and offer it again.",
        ReassignInput,
        lambda ticket, data, by: ticket_reassign(
            ticket=ticket, by=by, reason=data["reason"], technician=data["technician"]
        ),
        True,
    ),
    "redispatch": (
        "Retry automatic dispatch.",
        NoInput,
        lambda ticket, data, by: ticket_redispatch(ticket=ticket, by=by),
        True,
    ),
    "respond": (
        "The job's technician called the customer (meets the response clock).",
        NoInput,
        lambda ticket, data, by: ticket_progress(ticket=ticket, by=by, to=TicketStatus.RESPONDED),
        False,
    ),
    "depart": (
        "The job's technician is on the way.",
        NoInput,
        lambda ticket, data, by: ticket_progress(ticket=ticket, by=by, to=TicketStatus.EN_ROUTE),
        False,
    ),
    "arrive": (
        "The job's technician arrived (with the phone's position when known).",
        ArriveInput,
        lambda ticket, data, by: ticket_progress(
            ticket=ticket, by=by, to=TicketStatus.ON_SITE, lat=data["lat"], lng=data["lng"]
        ),
        False,
    ),
    "complete": (
        "The job's technician completed the repair, with the fee.",
        CompleteInput,
        lambda ticket, data, by: ticket_complete(ticket=ticket, by=by, **data),
        False,
    ),
}
TRANSITION_VIEWS = {
    name: TransitionApi.for_service(name, doc, input_serializer, service, staff=staff)
    for name, (doc, input_serializer, service, staff) in TRANSITIONS.items()
}


# ---- Customers, regions, technicians -------------------------------------------------------------------------------


class CustomerLookupQuery(serializers.Serializer):
    phone = serializers.CharField(max_length=32)


class CustomerLookupApi(ApiView):
    """Look a caller up by phone (the console's blind-index lookup): masked number, history, free inspection."""

    required_scope = Scope.CUSTOMERS_READ
    query_serializer = CustomerLookupQuery

    class OutputSerializer(serializers.Serializer):
        known = serializers.BooleanField()
        phone_masked = serializers.CharField()
        name = serializers.CharField(allow_blank=True)
        free_inspection = serializers.BooleanField(help_text="The next ticket's first inspection is free")
        open_tickets = TicketOutput(many=True)
        past_tickets = TicketOutput(many=True)
        policies = inline_serializer(
            "PolicyOutput",
            {"plan": serializers.CharField(), "valid_until": serializers.DateTimeField()},
            many=True,
        )

    @extend_schema(operation_id="customers_lookup", responses=OutputSerializer)
    def get(self, request):
        phone = self.query(request)["phone"]
        try:
            customer, open_tickets, past, free = customer_card(phone=phone)
        except InvalidPhone as error:
            raise exceptions.ValidationError({"phone": [error.message]}) from None
        policies = policies_in_force(customer=customer, at=timezone.now()) if customer else []
        body = {
            "known": customer is not None,
            "phone_masked": crypto.mask_phone(crypto.normalize_phone(phone)),
            "name": customer.name if customer else "",
            "free_inspection": free,
            "open_tickets": [_with_customer(ticket, customer) for ticket in open_tickets],
            "past_tickets": [_with_customer(ticket, customer) for ticket in past],
            "policies": [{"plan": policy.plan.name, "valid_until": policy.valid_until} for policy in policies],
        }
        return Response(self.OutputSerializer(body).data)


def _with_customer(ticket: Ticket, customer) -> Ticket:
    ticket.customer = customer  # the card's tickets are all this customer's: no query per ticket
    return ticket


class RegionSearchQuery(serializers.Serializer):
    q = serializers.CharField(max_length=40, help_text="Part of a place name or its pinyin initials")
    limit = serializers.IntegerField(min_value=1, max_value=50, default=SEARCH_LIMIT)


class RegionSearchApi(ApiView):
    """Counties and towns by Chinese name or pinyin initials, with whether we serve them."""

    required_scope = Scope.REGIONS_READ
    query_serializer = RegionSearchQuery

    OutputSerializer = DivisionOutput  # the same rows as the console's type-ahead API

    @extend_schema(
        operation_id="regions_search",
        responses=inline_serializer("RegionPage", {"results": OutputSerializer(many=True)}),
    )
    def get(self, request):
        params = self.query(request)
        divisions = division_list_search(query=params["q"], limit=params["limit"])
        output = self.OutputSerializer(divisions, many=True, context={"served": served_codes(divisions=divisions)})
        return Response({"results": output.data})


class TechnicianStatusQuery(serializers.Serializer):
    on_duty = serializers.BooleanField(required=False, allow_null=True, default=None)
    region = serializers.RegexField(r"^[0-9]{2,12}$", required=False, help_text="Technicians covering this division")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=100)


class TechnicianStatusApi(ApiView):
    """Employed technicians: on duty or not, since when, and how many jobs they hold now."""

    required_scope = Scope.TECHNICIANS_READ
    query_serializer = TechnicianStatusQuery

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="pk")
        name = serializers.CharField()
        is_on_duty = serializers.BooleanField()
        duty_changed_at = serializers.DateTimeField(allow_null=True)
        current_jobs = serializers.IntegerField()
        capacity = serializers.IntegerField()

    @extend_schema(
        operation_id="technicians_status",
        responses=inline_serializer("TechnicianPage", {"results": OutputSerializer(many=True)}),
    )
    def get(self, request):
        params = self.query(request)
        technicians = Technician.objects.filter(is_active=True)
        if params["on_duty"] is not None:
            technicians = technicians.filter(is_on_duty=params["on_duty"])
        if params.get("region"):
            code = params["region"]
            technicians = technicians.filter(
                Q(coverage__code=code) | Q(coverage__ancestor_codes__contains=[code])
            ).distinct()
        technicians = technicians.annotate(
            current_jobs=Count("tickets", filter=Q(tickets__status__in=ACTIVE_JOB_STATUSES), distinct=True)
        ).order_by("name", "pk")[: params["limit"]]
        return Response({"results": self.OutputSerializer(technicians, many=True).data})


# ---- Complaints ----------------------------------------------------------------------------------------------------


class ComplaintOutput(serializers.Serializer):
    number = serializers.CharField()
    ticket = serializers.CharField(source="ticket.number")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    category = serializers.CharField()
    remedy_requested = serializers.CharField()
    filed_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)


class ComplaintFileApi(ApiView):
    """File a complaint about a ticket, for the customer (the after-sales platform, or the call center's CRM)."""

    required_scope = Scope.COMPLAINTS_WRITE
    error_codes = ("409",)

    class InputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=Complaint.Channel.choices, default=Complaint.Channel.ONLINE)
        category = serializers.ChoiceField(choices=Complaint.Category.choices)
        description = serializers.CharField(max_length=4000)
        remedy_requested = serializers.ChoiceField(choices=Remedy.choices)
        amount_requested = serializers.DecimalField(
            max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
        )

    @extend_schema(operation_id="complaints_file", request=InputSerializer, responses={201: ComplaintOutput})
    def post(self, request, number: str):
        ticket = Ticket.objects.filter(number=number).first() if TICKET_NUMBER.match(number) else None
        if ticket is None:
            raise exceptions.NotFound(_("There is no such ticket."))
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        complaint = complaint_file(ticket=ticket, **data.validated_data, by=request.user)
        return Response(ComplaintOutput(complaint).data, status=status.HTTP_201_CREATED)


class ComplaintStatusApi(ApiView):
    """A complaint's status, by its number (TS000042)."""

    required_scope = Scope.COMPLAINTS_READ

    @extend_schema(operation_id="complaints_retrieve", responses=ComplaintOutput)
    def get(self, request, number: str):
        digits = number.upper().removeprefix("TS")
        complaint = None
        if digits.isdigit() and len(digits) <= 12:
            complaint = Complaint.objects.select_related("ticket").filter(pk=int(digits)).first()
        if complaint is None:
            raise exceptions.NotFound(_("There is no such complaint."))
        return Response(ComplaintOutput(complaint).data)


class NotFoundApi(ApiView):
    """Any other path under /api/v1/: a 404 in the error shape rather than an HTML page."""

    permission_classes = []
    authentication_classes = []
    throttle_classes = []
    schema = None  # not an operation: left out of the OpenAPI document

    def initial(self, request, *args, **kwargs):
        raise exceptions.NotFound()
