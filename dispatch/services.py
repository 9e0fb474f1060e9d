"""Customers and tickets: every write goes through here, in one transaction with the ticket's SLA clocks."""

import logging
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from config.exceptions import ApplicationError
from dispatch import crypto
from dispatch.exceptions import (
    DuplicateOpenTicket,
    InsuranceNotSellable,
    OutsideServiceArea,
    ReasonRequired,
    TicketChanged,
    TransitionNotAllowed,
)
from dispatch.models import (
    ALLOWED,
    OPEN_STATUSES,
    Address,
    Customer,
    InsurancePlan,
    InsurancePolicy,
    Notification,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketStatus,
)
from dispatch.notify import NotificationFailed, get_backend
from dispatch.selectors import policy_covering
from dispatch.tasks import notification_send_task
from regions.models import Division
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
)

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
    return _customer_get_or_create(phone=phone, name=name)[0]


def _customer_get_or_create(*, phone: str, name: str) -> tuple[Customer, bool]:
    e164 = crypto.normalize_phone(phone)
    customer, created = Customer.objects.get_or_create(
        phone_index=crypto.phone_index(e164), defaults={"phone": e164, "name": name.strip()}
    )
    if not created and name.strip() and not customer.name:
        customer.name = name.strip()
        customer.save(update_fields=["name"])
    return customer, created


def _next_number(*, now) -> str:
    """Issue the next ticket number of the day, 20261125-0042, with one atomic upsert."""
    day = timezone.localdate(now)
    table = TicketCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "  # noqa: S608 - table name from the model
            f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [day],
        )
        (number,) = cursor.fetchone()
    return f"{day:%Y%m%d}-{number:04d}"


def _event(*, ticket: Ticket, kind: str, at, by=None, reason: str = "", **data) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        at=at,
        actor=by,
        reason=reason[:300],
        old_status=data.pop("old_status", ""),
        new_status=data.pop("new_status", ""),
        data=data,
    )


@transaction.atomic
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
) -> Ticket:
    """Create a ticket and start its response and resolution clocks; waives the first inspection for a new customer.

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
    customer, is_new_caller = _customer_get_or_create(phone=phone, name=name)
    if is_new_caller:
        # Created in this transaction: nobody else can see the row before we commit (a simultaneous call from the same
        # number waits on the unique index and then finds our ticket), so there is no history to check or lock.
        waived = True
    else:
        # One ticket creation per customer at a time: the free-inspection and duplicate checks must see each other.
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
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
    _event(ticket=ticket, kind=TicketEvent.Kind.CREATED, at=now, by=by, new_status=S.NEW, waived=waived)
    deadlines_open_new(
        subject=ticket,
        kinds=[DeadlineKind.RESPONSE, DeadlineKind.RESOLUTION],
        now=now,
        division_code=division.code,
        urgency=urgency,
    )
    ticket.number = _next_number(now=now)
    Ticket.objects.filter(pk=ticket.pk).update(number=ticket.number)
    notification_queue(ticket=ticket, kind=Notification.Kind.RECEIVED, now=now, is_new_ticket=True)
    return ticket


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
    ticket.refresh_from_db()
    if to in NOTIFY_ON:
        notification_queue(ticket=ticket, kind=NOTIFY_ON[to], now=now)
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
    return ticket


@transaction.atomic
def ticket_cancel(*, ticket: Ticket, by, reason: str, now=None) -> Ticket:
    """Cancel an open ticket with a reason and stop its clocks; raises ReasonRequired or TransitionNotAllowed."""
    if not (reason or "").strip():
        raise ReasonRequired()
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    return _ticket_transition(ticket=ticket, to=S.CANCELLED, by=by, now=now or timezone.now(), reason=reason.strip())


@transaction.atomic
def ticket_wait_customer(*, ticket: Ticket, by, reason: str, now=None) -> Ticket:
    """Put the ticket on hold for the customer (not home, asked to rebook): its clocks pause; raises ReasonRequired."""
    if not (reason or "").strip():
        raise ReasonRequired()
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
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
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
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
    _event(
        ticket=ticket,
        kind=TicketEvent.Kind.PII_REVEAL,
        at=now or timezone.now(),
        by=by,
        reason=reason.strip(),
        field="phone",
    )
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
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
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
