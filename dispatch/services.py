"""Customers and tickets: every write goes through here, in one transaction with the ticket's SLA clocks."""

import logging
import math
import uuid
from datetime import timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from audit.models import AccessLog
from audit.services import access_log_record
from config.exceptions import ApplicationError
from configcache.memo import tokens_held
from dispatch import crypto
from dispatch.exceptions import (
    DuplicateOpenTicket,
    InsuranceNotSellable,
    InvalidPosition,
    LocationConsentRequired,
    MediaChecksumMismatch,
    MediaClientIdTaken,
    MediaLinkExpired,
    MediaLinkInvalid,
    MediaNotAllowed,
    MediaUploadClosed,
    NoCandidate,
    NotYourJob,
    OfferClosed,
    OfferExpired,
    OutsideServiceArea,
    ReasonRequired,
    TechnicianAtCapacity,
    TechnicianUnavailable,
    TicketChanged,
    TransitionNotAllowed,
)
from dispatch.live import technician_live_changed
from dispatch.media import media_inspect
from dispatch.models import (
    ALLOWED,
    OPEN_STATUSES,
    Address,
    Customer,
    DispatchRule,
    DutyPeriod,
    InsurancePlan,
    InsurancePolicy,
    Media,
    MediaAccess,
    Notification,
    Offer,
    OfferOutcome,
    Skill,
    Technician,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketStatus,
)
from dispatch.notify import NotificationFailed, get_backend
from dispatch.selectors import (
    SCORE_WEIGHTS,
    dispatch_mode_for,
    distance_km,
    media_may_view,
    policy_covering,
    technician_list_candidates,
    technician_loads,
)
from dispatch.tasks import notification_send_task, ticket_dispatch_task
from privacy.services import binding_follow_ticket
from regions.models import Division, ServiceArea
from regions.selectors import division_list_nearest_served, is_served
from sla.models import DeadlineKind
from sla.selectors import deadline_list_open
from sla.services import (
    deadline_cancel,
    deadline_meet,
    deadline_open,
    deadline_pause,
    deadline_resume,
    deadlines_open_new,
    policy_match,
)
from telephony.services import call_ticket_link
from webhooks.services import webhook_ticket_event_record

logger = logging.getLogger(__name__)
S = TicketStatus
# Customer messages (Chinese: they go to the customer's phone whatever the operator's language).
SIGNATURE = "【智能锁维修】"
MESSAGES = {
    Notification.Kind.RECEIVED: "您的报修已受理，工单号 {number}。师傅将在 30 分钟内与您联系。",
    Notification.Kind.ASSIGNED: "工单 {number} 已安排师傅{technician}上门{eta}，请保持电话畅通。",
    Notification.Kind.EN_ROUTE: "师傅已出发，正在前往您处（工单 {number}）。",
    Notification.Kind.COMPLETED: "工单 {number} 已完工，感谢您的信任。如有问题请致电客服。",
}
NOTIFY_ON = {
    S.ACCEPTED: Notification.Kind.ASSIGNED,
    S.EN_ROUTE: Notification.Kind.EN_ROUTE,
    S.COMPLETED: Notification.Kind.COMPLETED,
}
STAGE_FIELDS = {
    S.ACCEPTED: "accepted_at",
    S.RESPONDED: "responded_at",
    S.EN_ROUTE: "en_route_at",
    S.ON_SITE: "on_site_at",
    S.COMPLETED: "completed_at",
    S.CLOSED: "closed_at",
    S.CANCELLED: "cancelled_at",
}
# Which clocks a status meets: the response promise is kept once the technician has contacted the customer (or is
# already on the way or there); arrival when on site; resolution when the repair is completed.
MEETS = {
    S.RESPONDED: {DeadlineKind.RESPONSE},
    S.EN_ROUTE: {DeadlineKind.RESPONSE},
    S.ON_SITE: {DeadlineKind.RESPONSE, DeadlineKind.ARRIVAL},
    S.COMPLETED: {DeadlineKind.RESPONSE, DeadlineKind.ARRIVAL, DeadlineKind.RESOLUTION},
}


def customer_get_or_create(*, phone: str, name: str = "") -> Customer:
    """Return the customer with this phone number, creating them if new; raises InvalidPhone."""
    with transaction.atomic():
        return _customer_get_or_create_locked(phone=phone, name=name)[0]


def _customer_get_or_create_locked(*, phone: str, name: str) -> tuple[Customer, bool]:
    """Return the caller and whether they were created now; a known caller's row is locked until commit (one ticket
    creation per customer at a time: the free-inspection and duplicate checks must see each other). Raises InvalidPhone.

    A new caller costs one statement, `INSERT … ON CONFLICT (phone_index) DO NOTHING`, instead of a read, a savepoint,
    the insert and its release. A simultaneous call from the same number waits on the unique index until the first
    transaction ends, then finds nothing inserted and reads (and locks) the committed row."""
    e164 = crypto.normalize_phone(phone)
    customer = Customer(phone_index=crypto.phone_index(e164), phone=e164, name=name.strip())
    meta = Customer._meta
    fields = [meta.get_field(field) for field in ("phone_index", "phone", "name", "created_at")]
    values = [field.get_db_prep_save(field.pre_save(customer, add=True), connection) for field in fields]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "  # noqa: S608 - names from the model
            f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({quote(fields[0].column)}) DO NOTHING "
            f"RETURNING {quote(meta.pk.column)}",
            values,
        )
        inserted = cursor.fetchone()
    if inserted is not None:
        customer.pk = inserted[0]
        customer._state.adding, customer._state.db = False, connection.alias
        return customer, True
    customer = Customer.objects.select_for_update(no_key=True).get(phone_index=customer.phone_index)
    if name.strip() and not customer.name:
        customer.name = name.strip()
        customer.save(update_fields=["name"])
    return customer, False


def _number_issue(*, ticket: Ticket, now) -> str:
    """Give the ticket the next number of the day, 20261125-0042, and return it: one statement that bumps the day's
    counter (an atomic upsert, its row locked until commit) and writes the number into the ticket."""
    day = timezone.localdate(now)
    counters, tickets = TicketCounter._meta.db_table, Ticket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH issued AS (INSERT INTO {counters} (day, last) VALUES (%s, 1) "  # noqa: S608 - names from the models
            f"ON CONFLICT (day) DO UPDATE SET last = {counters}.last + 1 RETURNING last) "
            f"UPDATE {tickets} SET number = %s || '-' || "
            "lpad(issued.last::text, greatest(4, length(issued.last::text)), '0') "  # 0042, and 12345 past 9999
            f"FROM issued WHERE {tickets}.id = %s RETURNING {tickets}.number",
            [day, f"{day:%Y%m%d}", ticket.pk],
        )
        (number,) = cursor.fetchone()
    return number


def _event(*, ticket: Ticket, kind: str, at, by=None, reason: str = "", **data) -> TicketEvent:
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        at=at,
        actor=by,
        reason=reason[:300],
        old_status=data.pop("old_status", ""),
        new_status=data.pop("new_status", ""),
        data=data,
    )
    webhook_ticket_event_record(event=event)  # outbound webhooks' outbox, in this transaction (docs/webhooks.md)
    return event


@transaction.atomic
@tokens_held()  # the division's service area, the SLA policy and the webhook subscribers: one read of the tokens
def ticket_create(
    *,
    phone: str,
    division: Division,
    address_detail: str,
    category: str,
    by=None,
    now=None,
    name: str = "",
    channel: str = Ticket.Channel.PHONE,
    urgency: str | None = None,
    lock_brand: str = "",
    lock_model: str = "",
    appointment_start=None,
    appointment_end=None,
    notes: str = "",
    allow_outside_area: bool = False,
    allow_duplicate: bool = False,
    call_id: int | None = None,
) -> Ticket:
    """Create a ticket and start its response and resolution clocks; waives the first inspection for a new customer.
    With `call_id` (the screen pop's incoming call) the call is linked to the ticket, unless it already has one.

    Raises InvalidPhone, OutsideServiceArea (unless allowed), DuplicateOpenTicket (an open ticket for the same phone
    and address, unless allowed) or ApplicationError for a missing address or a bad appointment window.
    """
    now = now or timezone.now()
    detail = (address_detail or "").strip()
    if not detail:
        raise ApplicationError(_("Enter the street address (building, unit, room)."))
    if appointment_end is not None and (appointment_start is None or appointment_end <= appointment_start):
        raise ApplicationError(_("The appointment must end after it starts."))
    if not allow_outside_area and not is_served(division):
        nearest = division_list_nearest_served(division=division)
        raise OutsideServiceArea(division.full_name, [d.full_name for d in nearest])
    customer, is_new_caller = _customer_get_or_create_locked(phone=phone, name=name)
    if is_new_caller:
        # Created in this transaction: nobody else can see the row before we commit (a simultaneous call from the same
        # number waits on the unique index and then finds our ticket), so there is no history to check.
        waived = True
    else:
        open_tickets = customer.tickets.filter(status__in=OPEN_STATUSES).select_related("address")
        if not allow_duplicate:
            for open_ticket in open_tickets:
                if open_ticket.division_id == division.code and open_ticket.address.detail == detail:
                    raise DuplicateOpenTicket(open_ticket.number)
        is_new_customer = not customer.tickets.filter(status__in=[S.COMPLETED, S.CLOSED]).exists()
        already_free = customer.tickets.filter(inspection_fee_waived=True).exclude(status=S.CANCELLED).exists()
        waived = is_new_customer and not already_free
    # 售后服务保险: a policy in force that covers this problem waives the job's fees.
    policy = None if is_new_caller else policy_covering(customer=customer, category=category, at=now)
    reasons = ["首次上门检测免费（新客户）"] if waived else []
    if policy is not None:
        reasons.append(
            f"售后保险「{policy.plan.name}」覆盖，有效期至 {timezone.localtime(policy.valid_until):%Y-%m-%d}"
        )
    address = Address.objects.create(customer=customer, division=division, detail=detail)
    if urgency is None:
        urgency = Ticket.Urgency.URGENT if category == Ticket.Category.LOCKED_OUT else Ticket.Urgency.NORMAL
    ticket = Ticket.objects.create(
        # The real number is issued last, just before commit: the day's counter row stays locked until commit, so
        # taking it first would make every concurrent ticket creation wait for this whole transaction.
        number=f"~{uuid.uuid4().hex[:15]}",
        customer=customer,
        address=address,
        division=division,
        channel=channel,
        category=category,
        urgency=urgency,
        lock_brand=lock_brand.strip(),
        lock_model=lock_model.strip(),
        appointment_start=appointment_start,
        appointment_end=appointment_end,
        notes=notes.strip(),
        created_by=by,
        created_at=now,
        status_changed_at=now,
        inspection_fee_waived=waived,
        fee_waiver_reason="；".join(reasons),
        insurance_policy=policy,
    )
    deadlines_open_new(
        subject=ticket,
        kinds=[DeadlineKind.RESPONSE, DeadlineKind.RESOLUTION],
        now=now,
        division_code=division.code,
        urgency=urgency,
    )
    ticket.number = _number_issue(ticket=ticket, now=now)
    # Recorded once the number is issued: the event (and its webhook) carries the real number.
    _event(ticket=ticket, kind=TicketEvent.Kind.CREATED, at=now, by=by, new_status=S.NEW, waived=waived)
    notification_queue(ticket=ticket, kind=Notification.Kind.RECEIVED, now=now, is_new_ticket=True)
    if call_id is not None:
        call_ticket_link(call_id=call_id, ticket=ticket)
    # 安排师傅: offered to a technician once the ticket is committed (the sweep catches it if the broker is down).
    transaction.on_commit(partial(_enqueue_dispatch, ticket.pk))
    return ticket


def _enqueue_dispatch(ticket_id: int) -> None:
    try:
        ticket_dispatch_task.delay(ticket_id=ticket_id)
    except (BrokerError, RedisError, OSError) as error:
        logger.warning("ticket %s not queued for dispatch (%s); the sweep will pick it up", ticket_id, error)


def _ticket_transition(*, ticket: Ticket, to: str, by, now, reason: str = "", **fields) -> Ticket:
    """Move a ticket along ALLOWED with a guarded update, record the event and follow with its SLA clocks."""
    old = ticket.status
    if to not in ALLOWED[old]:
        raise TransitionNotAllowed(old, to)
    updates = {"status": to, "status_changed_at": now, **fields}
    if to in STAGE_FIELDS:
        updates[STAGE_FIELDS[to]] = now
    # Another operator, the technician or a timer may have moved it first.
    if Ticket.objects.filter(pk=ticket.pk, status=old).update(**updates) != 1:
        raise TicketChanged(ticket.number)
    _event(ticket=ticket, kind=TicketEvent.Kind.STATUS, at=now, by=by, reason=reason, old_status=old, new_status=to)
    old_technician_id = ticket.technician_id
    ticket.refresh_from_db()
    technician_live_changed(old_technician_id, ticket.technician_id)  # their phones' job lists
    binding_follow_ticket(ticket=ticket, old_status=old, new_status=to)  # privacy number, bound/released after commit
    clocks = deadline_list_open(subject=ticket)
    if to == S.ACCEPTED and not any(clock.kind == DeadlineKind.ARRIVAL for clock in clocks):
        # Arrival: by the appointment if one was booked (and is still ahead), else the policy's target (90 min).
        appointment = ticket.appointment_start if ticket.appointment_start and ticket.appointment_start > now else None
        clocks.append(
            deadline_open(
                subject=ticket,
                kind=DeadlineKind.ARRIVAL,
                now=now,
                division_code=ticket.division_id,
                urgency=ticket.urgency,
                due_at=appointment,
            )
        )
    elif to == S.NEW:
        # Back to dispatch (offer declined, technician dropped the job): the next technician gets a fresh arrival clock.
        for clock in [c for c in clocks if c.kind == DeadlineKind.ARRIVAL]:
            deadline_cancel(deadline=clock, now=now)
            clocks.remove(clock)
    if to == S.CANCELLED:
        for clock in clocks:
            deadline_cancel(deadline=clock, now=now)
    elif to == S.WAITING_CUSTOMER:
        for clock in clocks:
            deadline_pause(deadline=clock, now=now, reason=reason, by=by)
    else:
        if old == S.WAITING_CUSTOMER:
            for clock in clocks:
                deadline_resume(deadline=clock, now=now, by=by)
        for clock in clocks:
            if clock.kind in MEETS.get(to, ()):
                deadline_meet(deadline=clock, now=now)
    if to in NOTIFY_ON:
        extra = {}
        if to == S.ACCEPTED and ticket.technician_id:
            arrival = next((c for c in clocks if c.kind == DeadlineKind.ARRIVAL), None)
            extra = {"technician": ticket.technician.name, "eta": arrival.due_at if arrival else None}
        notification_queue(ticket=ticket, kind=NOTIFY_ON[to], now=now, **extra)
    return ticket


@transaction.atomic
def ticket_cancel(*, ticket: Ticket, by, reason: str, now=None) -> Ticket:
    """Cancel an open ticket with a reason and stop its clocks; a live offer is withdrawn, so it leaves the
    technician's phone at once. Raises ReasonRequired or TransitionNotAllowed."""
    if not (reason or "").strip():
        raise ReasonRequired()
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
    _withdraw_pending(ticket=ticket, now=now, by=by)  # undone with the rest if the cancel is not allowed
    return _ticket_transition(ticket=ticket, to=S.CANCELLED, by=by, now=now, reason=reason.strip())


@transaction.atomic
def ticket_wait_customer(*, ticket: Ticket, by, reason: str, now=None) -> Ticket:
    """Put the ticket on hold for the customer (not home, asked to rebook): its clocks pause; raises ReasonRequired."""
    if not (reason or "").strip():
        raise ReasonRequired()
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
    return _ticket_transition(
        ticket=ticket,
        to=S.WAITING_CUSTOMER,
        by=by,
        now=now or timezone.now(),
        reason=reason.strip(),
        status_before_wait=ticket.status,
    )


@transaction.atomic
def ticket_resume(*, ticket: Ticket, by, now=None) -> Ticket:
    """Take the ticket off hold, back to the status it had; its clocks resume with the time they had left."""
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
    if ticket.status != S.WAITING_CUSTOMER:
        raise TransitionNotAllowed(ticket.status, ticket.status)
    return _ticket_transition(
        ticket=ticket, to=ticket.status_before_wait, by=by, now=now or timezone.now(), status_before_wait=""
    )


@transaction.atomic
def customer_phone_reveal(*, ticket: Ticket, by, reason: str, now=None) -> str:
    """Return the customer's full phone number and log who saw it, when and why; raises ReasonRequired."""
    if not (reason or "").strip():
        raise ReasonRequired()
    now = now or timezone.now()
    _event(
        ticket=ticket,
        kind=TicketEvent.Kind.PII_REVEAL,
        at=now,
        by=by,
        reason=reason.strip(),
        field="phone",
    )
    access_log_record(kind=AccessLog.Kind.PHONE_REVEAL, by=by, ticket=ticket, detail=reason.strip(), now=now)
    return ticket.customer.phone


def customer_keys_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypt every customer's phone, name and addresses with the newest key; returns rows rewritten.

    Put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), run this, then drop the old keys.
    """
    rewritten = 0
    for model, fields in ((Customer, ["phone", "name"]), (Address, ["detail"])):
        for start in range(0, model.objects.count() + batch_size, batch_size):
            with transaction.atomic():
                rows = list(model.objects.select_for_update().order_by("pk")[start : start + batch_size])
                # Reading decrypts with any configured key; saving encrypts with the first one.
                for row in rows:
                    row.save(update_fields=fields)
                rewritten += len(rows)
    return rewritten


@transaction.atomic
def insurance_policy_sell(*, ticket: Ticket, plan: InsurancePlan, by, now=None) -> InsurancePolicy:
    """Sell an after-sales plan on a completed job; raises InsuranceNotSellable (job not done, plan withdrawn, sold)."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
    if ticket.status not in {S.COMPLETED, S.CLOSED}:
        raise InsuranceNotSellable(_("Insurance can only be sold on a completed job."))
    if not plan.is_active:
        raise InsuranceNotSellable(_("This plan is no longer on sale."))
    if InsurancePolicy.objects.filter(ticket=ticket, plan=plan).exists():
        raise InsuranceNotSellable(_("This plan was already sold on this job."))
    policy = InsurancePolicy.objects.create(
        customer_id=ticket.customer_id,
        plan=plan,
        ticket=ticket,
        sold_by=by,
        purchased_at=now,
        valid_until=now + timedelta(days=plan.duration_days),
        price=plan.price,
    )
    _event(ticket=ticket, kind=TicketEvent.Kind.INSURANCE, at=now, by=by, plan=plan.name, policy=policy.pk)
    return policy


def notification_queue(
    *, ticket: Ticket, kind: str, now, technician: str = "", eta=None, is_new_ticket: bool = False
) -> Notification | None:
    """Write a customer message for this ticket (once per kind) and send it after commit; None if already written."""
    eta_text = f"，预计 {timezone.localtime(eta):%H:%M} 到达" if eta else ""
    body = SIGNATURE + MESSAGES[kind].format(number=ticket.number, technician=technician, eta=eta_text)
    if is_new_ticket:  # nothing can exist yet for a ticket made in this transaction; the constraint still guards
        notification = Notification.objects.create(ticket=ticket, kind=kind, body=body, created_at=now, queued_at=now)
    else:
        notification, created = Notification.objects.get_or_create(
            ticket=ticket, kind=kind, defaults={"body": body, "created_at": now, "queued_at": now}
        )
        if not created:
            return None
    transaction.on_commit(partial(_enqueue_notification, notification.pk))
    return notification


def _enqueue_notification(notification_id: int) -> None:
    try:
        notification_send_task.delay(notification_id=notification_id)
    except (BrokerError, RedisError, OSError) as error:
        logger.warning("notification %s not queued (%s); the relay will retry", notification_id, error)


def notification_send(*, notification_id: int) -> bool:
    """Send one notification through the configured backend and mark it sent; False if already sent (or being sent);
    raises NotificationFailed, after recording the attempt, when the provider did not take it."""
    failure = None
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket__customer")
            .filter(pk=notification_id, sent_at__isnull=True)
            .first()
        )
        if notification is None:
            return False
        notification.attempts += 1
        try:
            get_backend().send(
                phone=notification.ticket.customer.phone,
                body=notification.body,
                idempotency_key=f"notification-{notification.pk}",
            )
        except (NotificationFailed, ConnectionError, TimeoutError, OSError) as error:
            notification.last_error = repr(error)[:300]
            failure = error
        else:
            notification.sent_at = timezone.now()
        notification.save(update_fields=["attempts", "last_error", "sent_at"])
    if failure is not None:
        raise NotificationFailed(str(failure)) from failure
    return True


def notification_relay(*, now) -> int:
    """Queue again the notifications still unsent NOTIFICATION_RELAY_SECONDS after they were queued."""
    stale = now - timedelta(seconds=settings.NOTIFICATION_RELAY_SECONDS)
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True, queued_at__lt=stale)
            .values_list("pk", flat=True)[:500]
        )
        Notification.objects.filter(pk__in=ids).update(queued_at=now)
        for notification_id in ids:
            transaction.on_commit(partial(_enqueue_notification, notification_id))
    return len(ids)


# ---- Catalogue and demo set-up -------------------------------------------------------------------------------------

SKILL_CATALOGUE = [
    *((code, str(label), Skill.Kind.CATEGORY) for code, label in Ticket.Category.choices),
    ("brand-deschmann", "德施曼", Skill.Kind.BRAND),
    ("brand-kaadas", "凯迪仕", Skill.Kind.BRAND),
    ("brand-xiaomi", "小米", Skill.Kind.BRAND),
    ("brand-dessmann", "帝仕曼", Skill.Kind.BRAND),
    ("brand-yale", "耶鲁", Skill.Kind.BRAND),
]


def skill_catalogue_ensure() -> int:
    """Create the skills for every problem category and the common brands, leaving admin edits alone; returns how
    many were created."""
    created = 0
    for code, name, kind in SKILL_CATALOGUE:
        created += Skill.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})[1]
    return created


@transaction.atomic
def technician_demo_ensure(*, user, name: str = "王师傅（演示）") -> Technician:
    """Give a demo user a technician profile covering every service area with every skill; development only."""
    technician, _created = Technician.objects.get_or_create(
        user=user, defaults={"name": name, "phone": "+8613900000000", "capacity": 3}
    )
    technician.skills.set(Skill.objects.all())
    technician.coverage.set(ServiceArea.objects.filter(is_active=True).values_list("division_id", flat=True))
    return technician


# ---- Technicians --------------------------------------------------------------------------------------------------


@transaction.atomic
def technician_duty_set(*, technician: Technician, is_on_duty: bool, now=None) -> Technician:
    """Go on or off duty from the phone; opens or closes the shift operators see. Going off duty keeps jobs in hand."""
    now = now or timezone.now()
    technician = Technician.objects.select_for_update(no_key=True).get(pk=technician.pk)
    if technician.is_on_duty == is_on_duty:
        return technician
    technician.is_on_duty = is_on_duty
    technician.duty_changed_at = now
    if is_on_duty:
        DutyPeriod.objects.create(technician=technician, started_at=now)
    else:
        DutyPeriod.objects.filter(technician=technician, ended_at__isnull=True).update(ended_at=now)
        # A position is only kept while on duty: off duty, where the technician is is nobody's business.
        technician.last_lat = technician.last_lng = technician.last_seen_at = None
    technician.save(update_fields=["is_on_duty", "duty_changed_at", "last_lat", "last_lng", "last_seen_at"])
    return technician


@transaction.atomic
def technician_position_record(
    *, technician: Technician, lat: float, lng: float, consent: bool = False, now=None
) -> Technician:
    """Store the phone's position while on duty; raises LocationConsentRequired (never agreed) or InvalidPosition."""
    now = now or timezone.now()
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError):
        raise InvalidPosition() from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or math.isnan(lat) or math.isnan(lng):
        raise InvalidPosition()
    technician = Technician.objects.select_for_update(no_key=True).get(pk=technician.pk)
    if technician.location_consent_at is None:
        if not consent:
            raise LocationConsentRequired()
        technician.location_consent_at = now
    if not technician.is_on_duty:
        return technician
    technician.last_lat, technician.last_lng, technician.last_seen_at = lat, lng, now
    technician.save(update_fields=["location_consent_at", "last_lat", "last_lng", "last_seen_at"])
    return technician


@transaction.atomic
def technician_location_consent_withdraw(*, technician: Technician) -> Technician:
    """Stop sharing the phone's position: the consent and the last position are erased; jobs are still offered, by
    coverage and load, without distance."""
    technician = Technician.objects.select_for_update(no_key=True).get(pk=technician.pk)
    technician.location_consent_at = None
    technician.last_lat = technician.last_lng = technician.last_seen_at = None
    technician.save(update_fields=["location_consent_at", "last_lat", "last_lng", "last_seen_at"])
    return technician


# ---- Offers and dispatch --------------------------------------------------------------------------------------------


def _offer_create(
    *, ticket: Ticket, technician_id: int, mode: str, now, by=None, score=None, explanation=None
) -> Offer:
    """Write one offer and start its accept window (the policy's offer_accept target, 5 minutes by default)."""
    window = policy_match(kind=DeadlineKind.OFFER_ACCEPT, division_code=ticket.division_id, urgency=ticket.urgency)
    offer = Offer.objects.create(
        ticket=ticket,
        technician_id=technician_id,
        mode=mode,
        offered_by=by,
        offered_at=now,
        expires_at=now + window.target,
        score=score,
        explanation=explanation or {},
    )
    technician_live_changed(technician_id)
    deadline_open(
        subject=offer,
        kind=DeadlineKind.OFFER_ACCEPT,
        now=now,
        division_code=ticket.division_id,
        urgency=ticket.urgency,
        due_at=offer.expires_at,
    )
    _event(
        ticket=ticket,
        kind=TicketEvent.Kind.OFFER,
        at=now,
        by=by,
        offer=offer.pk,
        technician=technician_id,
        outcome="offered",
        mode=mode,
    )
    return offer


def _offer_close(*, offer: Offer, outcome: str, now, by=None, reason: str = "") -> None:
    """Close a pending offer and stop its accept window (met when answered, cancelled when withdrawn)."""
    offer.outcome = outcome
    offer.answered_at = now
    offer.reason = reason[:200]
    offer.save(update_fields=["outcome", "answered_at", "reason"])
    technician_live_changed(offer.technician_id)
    for clock in deadline_list_open(subject=offer):
        if outcome in (OfferOutcome.ACCEPTED, OfferOutcome.DECLINED):
            deadline_meet(deadline=clock, now=now)
        else:
            deadline_cancel(deadline=clock, now=now)
    _event(
        ticket=offer.ticket,
        kind=TicketEvent.Kind.OFFER,
        at=now,
        by=by,
        reason=reason,
        offer=offer.pk,
        technician=offer.technician_id,
        outcome=outcome,
    )


def _flag_for_operator(*, ticket: Ticket, now, note: str) -> None:
    if ticket.needs_manual_dispatch and ticket.dispatch_note == note:
        return  # already flagged for this reason: the sweep retrying must not fill the timeline
    Ticket.objects.filter(pk=ticket.pk).update(needs_manual_dispatch=True, dispatch_note=note)
    ticket.needs_manual_dispatch, ticket.dispatch_note = True, note
    _event(ticket=ticket, kind=TicketEvent.Kind.DISPATCH, at=now, reason=note, flagged=True)


NO_CANDIDATE = "没有可派的师傅（不在岗、不覆盖该区域、技能不符或已满单）"
OFFERS_EXHAUSTED = "已派单 {n} 次未被接单"


def _dispatch_next(*, ticket: Ticket, now, by=None) -> list[Offer]:
    """Offer a NEW ticket (locked by the caller) to the next candidate, or to every candidate in grab mode; flag it
    for an operator when nobody is left or it has been refused DISPATCH_MAX_OFFERS times (an operator asking again
    is not held to that cap)."""
    failed = ticket.offers.filter(outcome__in=[OfferOutcome.DECLINED, OfferOutcome.EXPIRED]).count()
    if by is None and failed >= settings.DISPATCH_MAX_OFFERS:
        _flag_for_operator(ticket=ticket, now=now, note=OFFERS_EXHAUSTED.format(n=failed))
        return []
    ranking = technician_list_candidates(ticket=ticket, now=now)
    if not ranking.candidates:
        _flag_for_operator(ticket=ticket, now=now, note=NO_CANDIDATE)
        return []
    if dispatch_mode_for(division=ticket.division) == DispatchRule.Mode.GRAB:
        mode, chosen = Offer.Mode.GRAB, ranking.candidates
    else:
        mode, chosen = Offer.Mode.AUTO, ranking.candidates[:1]
    offers = [
        _offer_create(
            ticket=ticket,
            technician_id=candidate.technician_id,
            mode=mode,
            now=now,
            by=by,
            score=candidate.score,
            explanation=ranking.explanation(chosen=candidate),
        )
        for candidate in chosen
    ]
    if ticket.needs_manual_dispatch:
        Ticket.objects.filter(pk=ticket.pk).update(needs_manual_dispatch=False, dispatch_note="")
    _ticket_transition(ticket=ticket, to=S.OFFERED, by=by, now=now)
    return offers


def _waiting_for_dispatch(*, now, settle_seconds: int = 0):
    """New tickets without a live offer that auto-dispatch may still place (not refused too often)."""
    return Ticket.objects.filter(status=S.NEW, created_at__lte=now - timedelta(seconds=settle_seconds)).filter(
        Q(needs_manual_dispatch=False) | Q(dispatch_note=NO_CANDIDATE)
    )


@transaction.atomic
def ticket_dispatch_auto(*, ticket_id: int, now) -> list[Offer]:
    """Offer a new ticket to the best candidate(s); returns the offers made, none if the ticket has moved on, already
    has a live offer, was flagged for an operator (then the flag says why) or, in a batched-mode region, waits for
    the next batch with the other tickets waiting in its province."""
    ticket = (
        Ticket.objects.select_for_update(no_key=True).select_related("division", "address").filter(pk=ticket_id).first()
    )
    if ticket is None or ticket.status != S.NEW:
        return []
    if dispatch_mode_for(division=ticket.division) == DispatchRule.Mode.BATCHED:
        province = ticket.division.ancestor_codes[0] if ticket.division.ancestor_codes else ticket.division_id
        others = _waiting_for_dispatch(now=now).exclude(pk=ticket.pk)
        if others.filter(Q(division__ancestor_codes__contains=[province]) | Q(division_id=province)).exists():
            return []
        # Nothing else is waiting: a batch of one is the greedy choice, so offer it now rather than in 10 seconds.
    return _dispatch_next(ticket=ticket, now=now)


@transaction.atomic
def ticket_redispatch(*, ticket: Ticket, by, now=None) -> list[Offer]:
    """Run auto-dispatch again for a ticket waiting for an operator (someone came on duty, the refusals were
    cleared up by phone); raises TransitionNotAllowed (not waiting) or NoCandidate, changing nothing."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update(no_key=True).select_related("division", "address").get(pk=ticket.pk)
    if ticket.status != S.NEW:
        raise TransitionNotAllowed(ticket.status, S.OFFERED)
    offers = _dispatch_next(ticket=ticket, now=now, by=by)
    if not offers:
        raise NoCandidate()
    return offers


def dispatch_sweep(*, now, settle_seconds: int = 10, limit: int = 200) -> int:
    """Dispatch new tickets without a live offer: those whose task was lost and those nobody could take before;
    returns the offers made. Tickets refused too often stay with the operators."""
    ids = list(
        _waiting_for_dispatch(now=now, settle_seconds=settle_seconds)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(len(ticket_dispatch_auto(ticket_id=ticket_id, now=now)) for ticket_id in ids)


# Scores of a technician's second free slot count as if the first were taken (the load part of the score).
_SLOT_LOAD_WEIGHT = SCORE_WEIGHTS["load"]
_INFEASIBLE = -1e6


@transaction.atomic
def dispatch_batch(*, now, limit: int = 200) -> list[Offer]:
    """Offer the waiting tickets of batched-mode regions together, so that the total score is highest: each ticket
    gets at most one technician slot and each free slot at most one ticket (optimal assignment). A ticket whose
    candidates' slots all went to others waits for the next batch; one with no candidate is flagged as usual.
    Returns the offers made.

    bench/dispatch_sim.py measured why: at an evening backlog, offering one ticket at a time, oldest first, can use up
    the only technician another waiting ticket could have had (docs/benchmarks.md, "Dispatch").
    """
    # scipy is heavy to import and only this beat-driven task needs it: web processes never load it.
    from scipy.optimize import linear_sum_assignment

    modes: dict[str, str] = {}
    batch = []
    # Tickets another worker is placing right now (an answer, a sweep) are skipped, not waited for.
    for ticket in (
        _waiting_for_dispatch(now=now)
        .select_for_update(no_key=True, skip_locked=True, of=("self",))
        .select_related("division", "address")
        .order_by("created_at")[:limit]
    ):
        if ticket.division_id not in modes:
            modes[ticket.division_id] = dispatch_mode_for(division=ticket.division)
        if modes[ticket.division_id] == DispatchRule.Mode.BATCHED:
            batch.append(ticket)
    offers: list[Offer] = []
    rankings = [technician_list_candidates(ticket=ticket, now=now) for ticket in batch]
    involved = {c.technician_id: c for ranking in rankings for c in ranking.candidates}
    pending = dict(
        Offer.objects.filter(technician_id__in=involved, outcome=OfferOutcome.PENDING)
        .values("technician_id")
        .annotate(n=Count("pk"))
        .values_list("technician_id", "n")
    )
    columns = [
        (technician_id, slot)
        for technician_id, candidate in sorted(involved.items())
        for slot in range(max(candidate.capacity - candidate.load - pending.get(technician_id, 0), 0))
    ]
    slots: dict[int, list[int]] = {}
    for column, (technician_id, _slot) in enumerate(columns):
        slots.setdefault(technician_id, []).append(column)
    matrix = [[_INFEASIBLE] * len(columns) for _ in batch]
    for row, ranking in enumerate(rankings):
        for candidate in ranking.candidates:
            for column in slots.get(candidate.technician_id, []):
                matrix[row][column] = candidate.score - _SLOT_LOAD_WEIGHT * columns[column][1] / candidate.capacity
    chosen: dict[int, int] = {}
    if batch and columns:
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        chosen = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if matrix[r][c] > _INFEASIBLE}
    for row, ticket in enumerate(batch):
        if row not in chosen:
            if not rankings[row].candidates:
                offers += _dispatch_next(ticket=ticket, now=now)  # nobody eligible at all: flagged, as one at a time
            continue
        technician_id = columns[chosen[row]][0]
        candidate = next(c for c in rankings[row].candidates if c.technician_id == technician_id)
        offers.append(
            _offer_create(
                ticket=ticket,
                technician_id=technician_id,
                mode=Offer.Mode.AUTO,
                now=now,
                score=candidate.score,
                explanation=rankings[row].explanation(chosen=candidate),
            )
        )
        if ticket.needs_manual_dispatch:
            Ticket.objects.filter(pk=ticket.pk).update(needs_manual_dispatch=False, dispatch_note="")
        _ticket_transition(ticket=ticket, to=S.OFFERED, by=None, now=now)
    return offers


def _lock_offer(offer: Offer) -> tuple[Ticket, Offer]:
    # Ticket first, then offer, then technician, everywhere: one order, so two answers never deadlock.
    ticket = Ticket.objects.select_for_update(no_key=True).select_related("division", "address").get(pk=offer.ticket_id)
    offer = Offer.objects.select_for_update(no_key=True).select_related("technician").get(pk=offer.pk)
    offer.ticket = ticket
    return ticket, offer


def _take_job(*, ticket: Ticket, technician: Technician, now, by, reason: str = "") -> Ticket:
    """Give the ticket to the technician if they have room (technician row locked, so two accepts are counted one
    after the other); raises TechnicianAtCapacity or TechnicianUnavailable."""
    technician = Technician.objects.select_for_update(no_key=True).get(pk=technician.pk)
    if not technician.is_active:
        raise TechnicianUnavailable(technician.name)
    if technician_loads(technician_ids=[technician.pk]).get(technician.pk, 0) >= technician.capacity:
        raise TechnicianAtCapacity(technician.name, technician.capacity)
    technician.last_job_at = now
    technician.save(update_fields=["last_job_at"])
    for other in ticket.offers.select_for_update(no_key=True).filter(outcome=OfferOutcome.PENDING):
        _offer_close(offer=other, outcome=OfferOutcome.WITHDRAWN, now=now)
    return _ticket_transition(
        ticket=ticket,
        to=S.ACCEPTED,
        by=by,
        now=now,
        reason=reason,
        technician=technician,
        needs_manual_dispatch=False,
        dispatch_note="",
    )


@transaction.atomic
def offer_accept(*, offer: Offer, by, now=None) -> Ticket:
    """Accept an offer for its technician: the ticket becomes theirs and the other offers are withdrawn; raises
    NotYourJob, OfferClosed (answered, withdrawn), OfferExpired (even before the tick noticed) or
    TechnicianAtCapacity."""
    now = now or timezone.now()
    ticket, offer = _lock_offer(offer)
    if offer.technician.user_id != by.pk:
        raise NotYourJob()
    if offer.outcome != OfferOutcome.PENDING:
        raise OfferClosed(offer.get_outcome_display())
    if offer.is_expired(now):
        raise OfferExpired()
    _offer_close(offer=offer, outcome=OfferOutcome.ACCEPTED, now=now, by=by)
    return _take_job(ticket=ticket, technician=offer.technician, now=now, by=by)


@transaction.atomic
def offer_decline(*, offer: Offer, by, reason: str, now=None) -> Offer:
    """Decline an offer with a reason; the ticket goes to the next candidate. Raises ReasonRequired, NotYourJob or
    OfferClosed."""
    now = now or timezone.now()
    if not (reason or "").strip():
        raise ReasonRequired()
    ticket, offer = _lock_offer(offer)
    if offer.technician.user_id != by.pk:
        raise NotYourJob()
    if offer.outcome != OfferOutcome.PENDING:
        raise OfferClosed(offer.get_outcome_display())
    _offer_close(offer=offer, outcome=OfferOutcome.DECLINED, now=now, by=by, reason=reason.strip())
    _after_offer_lost(ticket=ticket, now=now)
    return offer


@transaction.atomic
def offer_expire(*, offer_id: int, now) -> bool:
    """Expire an unanswered offer whose window has passed (called by the accept clock's breach); the ticket goes to
    the next candidate. Returns False if the offer was answered or withdrawn first, so a repeat does nothing."""
    offer = Offer.objects.filter(pk=offer_id).first()
    if offer is None:
        return False
    ticket, offer = _lock_offer(offer)
    if offer.outcome != OfferOutcome.PENDING or not offer.is_expired(now):
        return False
    _offer_close(offer=offer, outcome=OfferOutcome.EXPIRED, now=now)
    _after_offer_lost(ticket=ticket, now=now)
    return True


def _after_offer_lost(*, ticket: Ticket, now) -> None:
    """Once no live offer is left (grab mode waits for all), put the ticket back and offer it to the next one."""
    if ticket.status != S.OFFERED or ticket.offers.filter(outcome=OfferOutcome.PENDING).exists():
        return
    ticket = _ticket_transition(ticket=ticket, to=S.NEW, by=None, now=now)
    _dispatch_next(ticket=ticket, now=now)


def _withdraw_pending(*, ticket: Ticket, now, by) -> None:
    for offer in ticket.offers.select_for_update(no_key=True).filter(outcome=OfferOutcome.PENDING):
        _offer_close(offer=offer, outcome=OfferOutcome.WITHDRAWN, now=now, by=by)


@transaction.atomic
def ticket_offer(*, ticket: Ticket, technician: Technician, by, now=None) -> Offer:
    """Offer the ticket to a technician an operator chose (from the ranking or anyone); live offers are withdrawn.
    Raises TransitionNotAllowed (already taken) or TechnicianUnavailable."""
    now = now or timezone.now()
    ticket = Ticket.objects.select_for_update(no_key=True).select_related("division", "address").get(pk=ticket.pk)
    if ticket.status not in (S.NEW, S.OFFERED):
        raise TransitionNotAllowed(ticket.status, S.OFFERED)
    if not technician.is_active:
        raise TechnicianUnavailable(technician.name)
    _withdraw_pending(ticket=ticket, now=now, by=by)
    ranking = technician_list_candidates(ticket=ticket, now=now)
    ranked = next((c for c in ranking.candidates if c.technician_id == technician.pk), None)
    offer = _offer_create(
        ticket=ticket,
        technician_id=technician.pk,
        mode=Offer.Mode.MANUAL,
        now=now,
        by=by,
        score=ranked.score if ranked else None,
        explanation=ranking.explanation(chosen=ranked),
    )
    Ticket.objects.filter(pk=ticket.pk).update(needs_manual_dispatch=False, dispatch_note="")
    if ticket.status == S.NEW:
        _ticket_transition(ticket=ticket, to=S.OFFERED, by=by, now=now)
    return offer


@transaction.atomic
def ticket_assign(*, ticket: Ticket, technician: Technician, by, reason: str, now=None) -> Ticket:
    """Give the ticket straight to a technician who agreed on the phone with the operator; raises ReasonRequired,
    TransitionNotAllowed, TechnicianAtCapacity or TechnicianUnavailable."""
    now = now or timezone.now()
    if not (reason or "").strip():
        raise ReasonRequired()
    ticket = Ticket.objects.select_for_update(no_key=True).select_related("division", "address").get(pk=ticket.pk)
    if ticket.status not in (S.NEW, S.OFFERED):
        raise TransitionNotAllowed(ticket.status, S.ACCEPTED)
    _withdraw_pending(ticket=ticket, now=now, by=by)
    ticket = _take_job(ticket=ticket, technician=technician, now=now, by=by, reason=reason.strip())
    # The record of who gave the job to whom; the unique "one accepted offer per ticket" rule covers it too.
    offer = Offer.objects.create(
        ticket=ticket,
        technician=technician,
        mode=Offer.Mode.MANUAL,
        offered_by=by,
        offered_at=now,
        expires_at=now + timedelta(seconds=1),
        outcome=OfferOutcome.ACCEPTED,
        answered_at=now,
        reason=reason.strip()[:200],
    )
    _event(
        ticket=ticket,
        kind=TicketEvent.Kind.OFFER,
        at=now,
        by=by,
        reason=reason.strip(),
        offer=offer.pk,
        technician=technician.pk,
        outcome="assigned",
    )
    return ticket


@transaction.atomic
def ticket_reassign(*, ticket: Ticket, by, reason: str, technician: Technician | None = None, now=None) -> Ticket:
    """Take the ticket off its technician (before they set off) with a reason and offer it again: to the technician
    given, or by auto-dispatch. Raises ReasonRequired or TransitionNotAllowed."""
    now = now or timezone.now()
    if not (reason or "").strip():
        raise ReasonRequired()
    ticket = Ticket.objects.select_for_update(no_key=True).select_related("division", "address").get(pk=ticket.pk)
    if S.NEW not in ALLOWED[ticket.status] or ticket.technician_id is None:
        raise TransitionNotAllowed(ticket.status, S.NEW)
    for offer in ticket.offers.select_for_update(no_key=True).filter(outcome=OfferOutcome.ACCEPTED):
        _offer_close(offer=offer, outcome=OfferOutcome.RELEASED, now=now, by=by, reason=reason.strip())
    ticket = _ticket_transition(ticket=ticket, to=S.NEW, by=by, now=now, reason=reason.strip(), technician=None)
    if technician is not None:
        ticket_offer(ticket=ticket, technician=technician, by=by, now=now)
    else:
        _dispatch_next(ticket=ticket, now=now)
    ticket.refresh_from_db()
    return ticket


# ---- The technician's job -------------------------------------------------------------------------------------------

# The one next step the phone shows for each status (DESIGN §2: one primary action per screen).
NEXT_STEP = {S.ACCEPTED: S.RESPONDED, S.RESPONDED: S.EN_ROUTE, S.EN_ROUTE: S.ON_SITE, S.ON_SITE: S.COMPLETED}


def _lock_own_job(*, ticket: Ticket, by) -> Ticket:
    ticket = (
        Ticket.objects.select_for_update(no_key=True, of=("self",))
        .select_related("technician", "address")
        .get(pk=ticket.pk)
    )
    if ticket.technician is None or ticket.technician.user_id != by.pk:
        raise NotYourJob()
    return ticket


@transaction.atomic
def ticket_progress(*, ticket: Ticket, by, to: str, lat=None, lng=None, now=None) -> Ticket:
    """Move the technician's own job one step: responded (called the customer: meets the 30-minute response clock),
    on the way, or arrived (with the phone's position and its distance from the address when both are known). Raises
    NotYourJob, TransitionNotAllowed or InvalidPosition."""
    now = now or timezone.now()
    ticket = _lock_own_job(ticket=ticket, by=by)
    if to not in (S.RESPONDED, S.EN_ROUTE, S.ON_SITE):
        raise TransitionNotAllowed(ticket.status, to)
    fields = {}
    if to == S.ON_SITE and lat not in (None, "") and lng not in (None, ""):
        try:
            lat, lng = float(lat), float(lng)
        except (TypeError, ValueError):
            raise InvalidPosition() from None
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise InvalidPosition()
        fields = {"arrival_lat": lat, "arrival_lng": lng}
        address = ticket.address
        if address.lat is not None and address.lng is not None:
            fields["arrival_distance_m"] = round(distance_km(lat, lng, address.lat, address.lng) * 1000)
    return _ticket_transition(ticket=ticket, to=to, by=by, now=now, **fields)


def ticket_fee_quote(*, ticket: Ticket, labour_fee: Decimal, parts_fee: Decimal) -> dict[str, Decimal]:
    """Return the inspection fee, the total and what the customer pays: the first inspection is free for a new
    customer (首次免费上门检测), and an after-sales policy covering the problem waives every fee."""
    inspection = Decimal("0.00") if ticket.inspection_fee_waived else Decimal(settings.INSPECTION_FEE)
    total = inspection + labour_fee + parts_fee
    payable = Decimal("0.00") if ticket.insurance_policy_id else total
    return {"inspection_fee": inspection, "total": total, "payable": payable}


@transaction.atomic
def ticket_complete(
    *,
    ticket: Ticket,
    by,
    work_done: str,
    parts: str = "",
    labour_fee: Decimal = Decimal("0"),
    parts_fee: Decimal = Decimal("0"),
    now=None,
) -> Ticket:
    """Record the repair and the fee (free inspection and insurance applied) and complete the job, meeting its clocks.
    Raises NotYourJob, TransitionNotAllowed or ApplicationError (no description, a negative amount)."""
    now = now or timezone.now()
    if not (work_done or "").strip():
        raise ApplicationError(_("Describe the work done."))
    if labour_fee < 0 or parts_fee < 0:
        raise ApplicationError(_("Amounts cannot be negative."))
    ticket = _lock_own_job(ticket=ticket, by=by)
    quote = ticket_fee_quote(ticket=ticket, labour_fee=labour_fee, parts_fee=parts_fee)
    return _ticket_transition(
        ticket=ticket,
        to=S.COMPLETED,
        by=by,
        now=now,
        work_done=work_done.strip(),
        parts=parts.strip()[:300],
        inspection_fee=quote["inspection_fee"],
        labour_fee=labour_fee,
        parts_fee=parts_fee,
        fee=quote["payable"],
    )


# ---- Photos and repair recordings -----------------------------------------------------------------------------------

# A job takes photos and recordings from acceptance until it is completed, on hold for the customer too.
MEDIA_OPEN_STATUSES = frozenset({S.ACCEPTED, S.RESPONDED, S.EN_ROUTE, S.ON_SITE, S.WAITING_CUSTOMER, S.COMPLETED})
MEDIA_LINK_SALT = "dispatch.media.link"


class _MediaLinkSigner(signing.TimestampSigner):
    """A TimestampSigner on the operation's clock (read once, movable in tests) rather than time.time()."""

    def __init__(self, *, now) -> None:
        super().__init__(salt=MEDIA_LINK_SALT)
        self.now = now

    def timestamp(self) -> str:
        return signing.b62_encode(int(self.now.timestamp()))

    def unsign(self, value: str, max_age: float | None = None) -> str:
        payload, timestamp = signing.Signer.unsign(self, value).rsplit(self.sep, 1)
        age = self.now.timestamp() - signing.b62_decode(timestamp)
        if max_age is not None and age > max_age:
            raise signing.SignatureExpired(f"link age {age:.0f}s > {max_age}s")
        return payload


def _media_check_uploader(*, ticket: Ticket, by) -> None:
    if ticket.technician_id is None or ticket.technician.user_id != by.pk:
        raise NotYourJob()
    if ticket.status not in MEDIA_OPEN_STATUSES:
        raise MediaUploadClosed(ticket.get_status_display())


def _media_kept(*, ticket: Ticket, client_id, by) -> Media | None:
    """The row an earlier attempt with this client_id left, if any (the phone retries until it hears back)."""
    media = Media.objects.filter(client_id=client_id).first()
    if media is None:
        return None
    if media.ticket_id != ticket.pk:
        raise MediaClientIdTaken()
    if media.uploaded_by_id != by.pk:
        raise NotYourJob()
    return media


def media_upload(
    *,
    ticket: Ticket,
    kind: str,
    upload,
    client_id,
    by,
    sha256: str | None = None,
    captured_at=None,
    duration_seconds: int | None = None,
    now=None,
) -> tuple[Media, bool]:
    """Keep a photo or recording from the job's technician, once per client_id (a retry returns the row already
    kept and created=False) and write a MEDIA event. Raises NotYourJob, MediaUploadClosed, MediaClientIdTaken,
    MediaTooLarge, MediaEmpty, MediaTypeNotAllowed or MediaChecksumMismatch (the declared sha256 is not the bytes')."""
    now = now or timezone.now()
    kept = _media_kept(ticket=ticket, client_id=client_id, by=by)
    if kept is not None:
        return kept, False
    # Refuse a stranger before reading or storing a byte; checked again under the ticket lock below.
    _media_check_uploader(ticket=Ticket.objects.select_related("technician").get(pk=ticket.pk), by=by)
    intake = media_inspect(upload=upload, kind=kind)
    declared = (sha256 or "").strip().lower()
    if declared and declared != intake.sha256:
        raise MediaChecksumMismatch(declared, intake.sha256)
    media = Media(
        ticket_id=ticket.pk,
        kind=kind,
        client_id=client_id,
        sha256=intake.sha256,
        size=intake.size,
        content_type=intake.content_type,
        uploaded_by=by,
        uploaded_at=now,
        captured_at=captured_at,
        duration_seconds=duration_seconds if duration_seconds and duration_seconds > 0 else None,
        meta={
            "filename": (getattr(upload, "name", "") or "")[:120],
            "browser_type": (getattr(upload, "content_type", "") or "")[:80],
        },
    )
    # Not one transaction for the whole call: hashing and writing up to MEDIA_MAX_AUDIO_BYTES happen before the
    # ticket row is locked, so the lock lasts only for the insert.
    media.file.save(f"{client_id}{intake.extension}", upload, save=False)
    created = False
    try:
        with transaction.atomic():
            locked = (
                Ticket.objects.select_for_update(no_key=True, of=("self",))
                .select_related("technician")
                .get(pk=ticket.pk)
            )
            _media_check_uploader(ticket=locked, by=by)  # the job may have moved on while the file was written
            try:
                with transaction.atomic():
                    media.save(force_insert=True)
            except IntegrityError:
                # A parallel retry with the same client_id got there first: theirs is the one kept.
                kept = _media_kept(ticket=locked, client_id=client_id, by=by)
                if kept is None:
                    raise
                return kept, False
            _event(
                ticket=locked,
                kind=TicketEvent.Kind.MEDIA,
                at=now,
                by=by,
                media=media.pk,
                media_kind=kind,
                sha256=intake.sha256,
                size=intake.size,
                content_type=intake.content_type,
            )
            created = True
    finally:
        if not created:
            media.file.storage.delete(media.file.name)
    return media, True


def media_link_issue(*, media: Media, by, now=None) -> str:
    """Return a signed link token for this user that expires after MEDIA_LINK_SECONDS and log it; raises
    MediaNotAllowed."""
    now = now or timezone.now()
    if not media_may_view(user=by, media=media):
        raise MediaNotAllowed()
    MediaAccess.objects.create(media=media, user=by, action=MediaAccess.Action.LINK, at=now)
    return _MediaLinkSigner(now=now).sign(f"{media.pk}.{by.pk}")


def media_open(*, token: str, by, action: str, now=None) -> Media:
    """Return the file a link points at for its user and log the view or download; raises MediaLinkInvalid (forged,
    unknown file), MediaLinkExpired or MediaNotAllowed (another user's link, or no longer allowed to see it)."""
    now = now or timezone.now()
    if action not in (MediaAccess.Action.VIEW, MediaAccess.Action.DOWNLOAD):
        raise ValueError(action)
    try:
        payload = _MediaLinkSigner(now=now).unsign(token, max_age=settings.MEDIA_LINK_SECONDS)
    except signing.SignatureExpired:
        raise MediaLinkExpired() from None
    except signing.BadSignature:
        raise MediaLinkInvalid() from None
    media_id, _dot, user_id = payload.partition(".")
    if user_id != str(by.pk):
        raise MediaNotAllowed()  # links are personal: every access is logged against the one who asked for it
    media = Media.objects.select_related("ticket__technician").filter(pk=media_id).first()
    if media is None:
        raise MediaLinkInvalid()
    # Checked again: a technician taken off the job, or a role removed, since the link was issued.
    if not media_may_view(user=by, media=media):
        raise MediaNotAllowed()
    MediaAccess.objects.create(media=media, user=by, action=action, at=now)
    access_log_record(
        kind=AccessLog.Kind.MEDIA_VIEW if action == MediaAccess.Action.VIEW else AccessLog.Kind.MEDIA_DOWNLOAD,
        by=by, ticket=media.ticket, detail=media.get_kind_display(), now=now,
    )  # fmt: skip
    return media
