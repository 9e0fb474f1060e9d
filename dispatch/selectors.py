import hmac
import math
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role, user_roles
from dashboard.models import ManagerRegion
from dispatch import crypto
from dispatch.models import (
    OPEN_STATUSES,
    Customer,
    DispatchRule,
    InsurancePolicy,
    Media,
    Offer,
    OfferOutcome,
    Skill,
    Technician,
    Ticket,
    TicketStatus,
)
from regions.models import Division
from sla.models import Deadline


def ticket_clocks(*, ticket: Ticket) -> dict[str, Deadline]:
    """Return the ticket's latest clock of each kind, by kind."""
    rows = Deadline.objects.filter(
        subject_type=ContentType.objects.get_for_model(Ticket), subject_id=ticket.pk
    ).order_by("kind", "cycle")
    return {row.kind: row for row in rows}


def customer_card(*, phone: str):
    """Return (customer or None, open tickets, past tickets, is the first inspection free) for a caller's number;
    raises InvalidPhone."""
    e164 = crypto.normalize_phone(phone)
    customer = Customer.objects.filter(phone_index=crypto.phone_index(e164)).first()
    if customer is None:
        return None, [], [], True
    tickets = list(customer.tickets.select_related("division").order_by("-created_at")[:20])
    open_tickets = [t for t in tickets if t.status in OPEN_STATUSES]
    past = [t for t in tickets if t.status not in OPEN_STATUSES]
    # The same rule ticket_create applies, over all the customer's tickets, not only the ones listed.
    has_completed = customer.tickets.filter(status__in=[TicketStatus.COMPLETED, TicketStatus.CLOSED]).exists()
    free_used = customer.tickets.filter(inspection_fee_waived=True).exclude(status=TicketStatus.CANCELLED).exists()
    return customer, open_tickets, past, not has_completed and not free_used


def ticket_province_limit(*, user) -> tuple[str, ...]:
    """Return the provinces whose tickets this user may see on the staff screens and through the API: a regional
    manager (a manager linked to provinces in the admin, and not also an operator or administrator) sees only
    theirs. Empty: no limit."""
    roles = user_roles(user)
    if Role.MANAGER not in roles or Role.OPERATOR in roles or Role.ADMIN in roles:
        return ()
    return tuple(ManagerRegion.objects.filter(user=user).order_by("province_id").values_list("province_id", flat=True))


def tickets_in_provinces(tickets, *, provinces: tuple[str, ...]):
    """Keep the tickets inside these provinces (all of them when `provinces` is empty)."""
    if not provinces:
        return tickets
    return tickets.filter(Q(division_id__in=provinces) | Q(division__ancestor_codes__overlap=list(provinces)))


def ticket_get_for_page(*, number: str, provinces: tuple[str, ...] = ()) -> Ticket | None:
    """Return a ticket with what its page shows, in a few queries; None outside `provinces` (when given)."""
    tickets = Ticket.objects.select_related("customer", "address", "division", "created_by", "technician")
    return (
        tickets_in_provinces(tickets, provinces=provinces)
        .prefetch_related("events__actor")
        .filter(number=number)
        .first()
    )


def ticket_list_for_board(
    *,
    now,
    status: str = "",
    province: str = "",
    urgency: str = "",
    soon: bool = False,
    provinces: tuple[str, ...] = (),
):
    """Return open tickets for the live board, oldest first, each annotated with its response clock's state, due time
    and when the tick warned about it; `soon` keeps only those breached or due within 10 minutes; `provinces` is a
    regional manager's limit (ticket_province_limit)."""
    clocks = Deadline.objects.filter(
        subject_type=ContentType.objects.get_for_model(Ticket), subject_id=OuterRef("pk"), kind="response"
    ).order_by("-cycle")
    tickets = (
        Ticket.objects.filter(status__in=OPEN_STATUSES)
        .select_related("division", "technician")
        .annotate(
            response_state=Subquery(clocks.values("state")[:1]),
            response_due=Subquery(clocks.values("due_at")[:1]),
            response_remaining=Subquery(clocks.values("remaining")[:1]),
            response_warned=Subquery(clocks.values("warned_at")[:1]),
        )
        .order_by("created_at")
    )
    tickets = tickets_in_provinces(tickets, provinces=provinces)
    if status:
        tickets = tickets.filter(status=status)
    if province:
        tickets = tickets.filter(Q(division__ancestor_codes__contains=[province]) | Q(division_id=province))
    if urgency:
        tickets = tickets.filter(urgency=urgency)
    if soon:
        tickets = tickets.filter(
            Q(response_state="breached") | Q(response_state="pending", response_due__lte=now + timedelta(minutes=10))
        )
    return tickets


def policy_covering(*, customer, category: str, at):
    """Return the customer's policy in force at `at` that covers this problem (the one ending soonest), or None."""
    return (
        InsurancePolicy.objects.filter(
            customer=customer, purchased_at__lte=at, valid_until__gt=at, plan__covered_categories__contains=[category]
        )
        .select_related("plan")
        .order_by("valid_until")
        .first()
    )


def policies_in_force(*, customer, at) -> list:
    """Return the customer's policies in force at `at`, with their plans."""
    return list(
        InsurancePolicy.objects.filter(customer=customer, purchased_at__lte=at, valid_until__gt=at)
        .select_related("plan")
        .order_by("valid_until")
    )


def ticket_get_for_customer(*, number: str, phone_last_four: str) -> Ticket | None:
    """Return the ticket with this number if the customer's phone ends in `phone_last_four`, else None.

    A wrong number and a wrong phone give the same None, so the answer never tells whether a number exists.
    """
    ticket = Ticket.objects.select_related("customer", "division").filter(number=number.strip()).first()
    if ticket is None:
        return None
    # The phone is decrypted when the customer row loads; compare in constant time all the same.
    return ticket if hmac.compare_digest(ticket.customer.phone[-4:], phone_last_four) else None


# ---- Dispatch: who gets the job, and why -----------------------------------------------------------------------
# The score (docs/dispatch.md): each part is between 0 and 1, weighted, summed; highest first, ties to the technician
# idle longest, then the lower id so the order never depends on the database.
SCORE_WEIGHTS = {"distance": 0.35, "coverage": 0.20, "load": 0.20, "fairness": 0.15, "rating": 0.10}
BRAND_BONUS = 0.05
DISTANCE_HORIZON_KM = 30.0  # farther than this scores 0 for distance
FAIRNESS_HORIZON_HOURS = 8.0  # idle this long (or never had a job) scores 1
# A township coverage says "this is my patch"; a province coverage says "I go anywhere, if I must".
COVERAGE_SCORE = {"township": 1.0, "county": 0.7, "prefecture": 0.4, "province": 0.2}
# Jobs a technician is holding: accepted and not finished (a job on hold for the customer still takes a slot).
ACTIVE_JOB_STATUSES = [
    TicketStatus.ACCEPTED,
    TicketStatus.RESPONDED,
    TicketStatus.EN_ROUTE,
    TicketStatus.ON_SITE,
    TicketStatus.WAITING_CUSTOMER,
]


class Exclusion:
    OFF_DUTY = "off_duty"
    AT_CAPACITY = "at_capacity"
    MISSING_SKILL = "missing_skill"
    DECLINED = "declined"
    EXPIRED = "expired"
    ALREADY_OFFERED = "already_offered"
    RELEASED = "released"

    LABELS = {
        OFF_DUTY: _("off duty"),
        AT_CAPACITY: _("at capacity"),
        MISSING_SKILL: _("lacks the skill"),
        DECLINED: _("declined this ticket"),
        EXPIRED: _("let the offer expire"),
        ALREADY_OFFERED: _("offer pending"),
        RELEASED: _("was taken off this ticket"),
    }


@dataclass
class Candidate:
    technician_id: int
    name: str
    score: float
    parts: dict[str, float]
    distance_km: float | None
    load: int
    capacity: int
    covered_by: str

    def as_json(self) -> dict:
        return {
            "technician": self.technician_id,
            "name": self.name,
            "score": round(self.score, 4),
            "parts": {key: round(value, 4) for key, value in self.parts.items()},
            "distance_km": None if self.distance_km is None else round(self.distance_km, 2),
            "load": self.load,
            "capacity": self.capacity,
            "covered_by": self.covered_by,
        }


@dataclass
class Ranking:
    candidates: list[Candidate] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)
    required_skill: str = ""

    def explanation(self, *, chosen: Candidate | None = None, limit: int = 10) -> dict:
        return {
            "chosen": chosen.technician_id if chosen else None,
            "required_skill": self.required_skill,
            "weights": SCORE_WEIGHTS,
            "considered": [candidate.as_json() for candidate in self.candidates[:limit]],
            "considered_total": len(self.candidates),
            "excluded": self.excluded[:limit],
            "excluded_total": len(self.excluded),
        }


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Return the great-circle distance between two points in kilometres (haversine)."""
    lat1, lng1, lat2, lng2 = map(math.radians, (lat1, lng1, lat2, lng2))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def technician_loads(*, technician_ids) -> dict[int, int]:
    """Return each technician's jobs in hand (accepted, not finished)."""
    rows = (
        Ticket.objects.filter(technician_id__in=technician_ids, status__in=ACTIVE_JOB_STATUSES)
        .values("technician_id")
        .annotate(n=Count("pk"))
    )
    return {row["technician_id"]: row["n"] for row in rows}


def technician_list_candidates(*, ticket: Ticket, now) -> Ranking:
    """Rank the technicians who may get this ticket and say why every other technician covering its area may not.

    Candidates are employed, on duty, cover the ticket's division (directly or through a parent), have the skill for
    its problem (when the catalogue defines one), hold fewer jobs and live offers than their capacity, and have not
    declined, let expire or been taken off this ticket. Seven small queries whatever the number of technicians.
    """
    division = ticket.division
    path = [*division.ancestor_codes, division.code]  # province first, the ticket's own division last
    coverage_rows = Technician.coverage.through.objects.filter(
        division_id__in=path, technician__is_active=True
    ).values_list("technician_id", "division_id")
    covered_by: dict[int, str] = {}
    for technician_id, code in coverage_rows:
        # The most specific division the technician covers on the ticket's path.
        if path.index(code) >= path.index(covered_by.get(technician_id, path[0])):
            covered_by[technician_id] = code
    ranking = Ranking()
    if not covered_by:
        return ranking
    levels = dict(Division.objects.filter(code__in=set(covered_by.values())).values_list("code", "level"))
    technicians = {
        technician.pk: technician
        for technician in Technician.objects.filter(pk__in=covered_by).only(
            "name", "capacity", "rating", "is_on_duty", "last_lat", "last_lng", "last_seen_at", "last_job_at"
        )
    }
    skill = Skill.objects.filter(kind=Skill.Kind.CATEGORY, code=ticket.category).first()
    brand = (ticket.lock_brand or "").strip().lower()
    skill_holders = set()
    brand_holders = set()
    if skill is not None or brand:
        wanted = Q(skill__code=skill.code) if skill is not None else Q(pk__in=[])
        if brand:
            wanted |= Q(skill__kind=Skill.Kind.BRAND, skill__name__iexact=brand)
        for technician_id, kind in Technician.skills.through.objects.filter(
            wanted, technician_id__in=technicians
        ).values_list("technician_id", "skill__kind"):
            if kind == Skill.Kind.CATEGORY:
                skill_holders.add(technician_id)
            else:
                brand_holders.add(technician_id)
    ranking.required_skill = skill.code if skill is not None else ""
    loads = technician_loads(technician_ids=list(technicians))
    pending = dict(
        Offer.objects.filter(technician_id__in=technicians, outcome=OfferOutcome.PENDING)
        .values("technician_id")
        .annotate(n=Count("pk"))
        .values_list("technician_id", "n")
    )
    history = dict(
        Offer.objects.filter(
            ticket=ticket,
            outcome__in=[OfferOutcome.DECLINED, OfferOutcome.EXPIRED, OfferOutcome.RELEASED, OfferOutcome.PENDING],
        ).values_list("technician_id", "outcome")
    )
    position_fresh_since = now - timedelta(minutes=settings.DISPATCH_POSITION_FRESH_MINUTES)
    address = ticket.address
    for technician_id, technician in technicians.items():
        load = loads.get(technician_id, 0)
        outcome = history.get(technician_id)
        reason = None
        if outcome is not None:
            reason = {
                OfferOutcome.DECLINED: Exclusion.DECLINED,
                OfferOutcome.EXPIRED: Exclusion.EXPIRED,
                OfferOutcome.RELEASED: Exclusion.RELEASED,
                OfferOutcome.PENDING: Exclusion.ALREADY_OFFERED,
            }[outcome]
        elif not technician.is_on_duty:
            reason = Exclusion.OFF_DUTY
        elif skill is not None and technician_id not in skill_holders:
            reason = Exclusion.MISSING_SKILL
        elif load + pending.get(technician_id, 0) >= technician.capacity:
            reason = Exclusion.AT_CAPACITY
        if reason is not None:
            ranking.excluded.append({"technician": technician_id, "name": technician.name, "reason": reason})
            continue
        distance = None
        if (
            address.lat is not None
            and technician.last_lat is not None
            and technician.last_seen_at is not None
            and technician.last_seen_at >= position_fresh_since
        ):
            distance = distance_km(address.lat, address.lng, technician.last_lat, technician.last_lng)
        idle_hours = (
            FAIRNESS_HORIZON_HOURS
            if technician.last_job_at is None
            else (now - technician.last_job_at).total_seconds() / 3600
        )
        # An unknown distance scores the middle, so neither a hidden nor a missing position is an advantage.
        parts = {
            "distance": 0.5 if distance is None else max(0.0, 1 - distance / DISTANCE_HORIZON_KM),
            "coverage": COVERAGE_SCORE[levels[covered_by[technician_id]]],
            "load": 1 - load / technician.capacity,
            "fairness": min(max(idle_hours, 0.0), FAIRNESS_HORIZON_HOURS) / FAIRNESS_HORIZON_HOURS,
            "rating": float(technician.rating) / 5,
        }
        score = sum(SCORE_WEIGHTS[key] * value for key, value in parts.items())
        if technician_id in brand_holders:
            parts["brand"] = 1.0
            score += BRAND_BONUS
        ranking.candidates.append(
            Candidate(
                technician_id=technician_id,
                name=technician.name,
                score=score,
                parts=parts,
                distance_km=distance,
                load=load,
                capacity=technician.capacity,
                covered_by=covered_by[technician_id],
            )
        )
    ranking.candidates.sort(key=lambda c: (-c.score, -c.parts["fairness"], c.technician_id))
    ranking.excluded.sort(key=lambda row: row["technician"])
    return ranking


def dispatch_mode_for(*, division: Division) -> str:
    """Return the dispatch mode of the most specific rule on the division's path (best technician first if none)."""
    path = [*division.ancestor_codes, division.code]
    rules = dict(DispatchRule.objects.filter(division_id__in=path).values_list("division_id", "mode"))
    for code in reversed(path):
        if code in rules:
            return rules[code]
    return DispatchRule.Mode.BEST


def offer_list_for_technician(*, technician: Technician):
    """Return the technician's live offers, soonest to expire first, with what the offer card shows."""
    return (
        Offer.objects.filter(technician=technician, outcome=OfferOutcome.PENDING)
        .select_related("ticket__division", "ticket__customer")
        .order_by("expires_at")
    )


def ticket_list_for_technician(*, technician: Technician):
    """Return the technician's jobs in hand, oldest first."""
    return (
        Ticket.objects.filter(technician=technician, status__in=ACTIVE_JOB_STATUSES)
        .select_related("division", "address")
        .order_by("accepted_at")
    )


def offer_list_for_ticket(*, ticket: Ticket) -> list[Offer]:
    """Return the ticket's offers, newest first, with their technicians and who made them."""
    return list(ticket.offers.select_related("technician", "offered_by").order_by("-offered_at", "-pk"))


def technician_names(*, offers) -> dict[int, str]:
    """Return the names of every technician the offers' explanations mention, in one query."""
    ids = set()
    for offer in offers:
        ids.update(row["technician"] for row in offer.explanation.get("considered", []))
        ids.update(row["technician"] for row in offer.explanation.get("excluded", []))
    return dict(Technician.objects.filter(pk__in=ids).values_list("pk", "name"))


def explanation_for_display(*, explanation: dict, names: dict[int, str]) -> dict:
    """Return an offer's stored explanation with current names and translated exclusion reasons ("why this one")."""
    if not explanation:
        return {}
    return {
        **explanation,
        "considered": [
            {**row, "name": names.get(row["technician"], row.get("name", ""))}
            for row in explanation.get("considered", [])
        ],
        "excluded": [
            {
                **row,
                "name": names.get(row["technician"], row.get("name", "")),
                "label": Exclusion.LABELS.get(row["reason"], row["reason"]),
            }
            for row in explanation.get("excluded", [])
        ],
    }


def technician_list_for_dispatch(*, ticket: Ticket, limit: int = 300) -> list[Technician]:
    """Return employed technicians an operator may pick by hand for this ticket: those covering its province first
    (on duty before off duty), so "anyone" stays a short list."""
    province = ticket.division.ancestor_codes[0] if ticket.division.ancestor_codes else ticket.division_id
    return list(
        Technician.objects.filter(is_active=True)
        .filter(Q(coverage__ancestor_codes__contains=[province]) | Q(coverage__code=province))
        .distinct()
        .order_by("-is_on_duty", "name")[:limit]
    )


def technician_list_on_duty(*, province: str = ""):
    """Return technicians on duty with their current shift start and jobs in hand, for the operators' view."""
    technicians = Technician.objects.filter(is_active=True, is_on_duty=True).order_by("name")
    if province:
        technicians = technicians.filter(
            Q(coverage__ancestor_codes__contains=[province]) | Q(coverage__code=province)
        ).distinct()
    return technicians.annotate(jobs=Count("tickets", filter=Q(tickets__status__in=ACTIVE_JOB_STATUSES), distinct=True))


# ---- Photos and repair recordings -----------------------------------------------------------------------------------

# Staff who may see every job's photos and recordings (the operator who took the call, supervisors, complaint review).
MEDIA_VIEWER_ROLES = frozenset({Role.OPERATOR, Role.MANAGER, Role.REVIEWER, Role.ADMIN})


def media_list_for_ticket(*, ticket: Ticket):
    """Return the ticket's photos and recordings in upload order, with what permission checks and captions need."""
    return (
        Media.objects.filter(ticket=ticket)
        .select_related("ticket__technician", "uploaded_by")
        .order_by("uploaded_at", "pk")
    )


def media_may_view(*, user, media: Media) -> bool:
    """Return whether the user may see or play a file: staff roles always, technicians only on their own job."""
    if not user.is_authenticated:
        return False
    if not MEDIA_VIEWER_ROLES.isdisjoint(user_roles(user)):
        return True
    technician = media.ticket.technician
    return technician is not None and technician.user_id == user.pk
