"""Writes of the manager dashboard: the ticket rollup it reads, and the managers' breach reviews."""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext

from accounts.roles import Role
from complaints.models import Complaint
from dashboard.exceptions import NotABreach
from dashboard.models import (
    FACT_CURSOR,
    TICKET_CLOCKS,
    BreachReason,
    BreachReview,
    DailyReport,
    RollupCursor,
    TicketFact,
)
from dashboard.reports import report_backend, report_backend_path
from dashboard.selectors import Scope, clock_summary, complaint_clock_summary, ticket_summary
from dispatch.models import OPEN_STATUSES, InsurancePolicy, Technician, Ticket, TicketEvent, TicketStatus
from dispatch.services import (
    ticket_assign,
    ticket_cancel,
    ticket_complete,
    ticket_create,
    ticket_progress,
    ticket_resume,
    ticket_wait_customer,
)
from regions.models import Division, ServiceArea
from sla.models import Deadline

CHUNK = 2000
# Events are numbered when inserted but become visible when committed: a transaction that began earlier may commit
# an event below the cursor after a run. Re-reading this many events behind the cursor picks those up; recomputing a
# fact is idempotent, so reading an event twice costs only time.
LOOKBACK_EVENTS = 2000
COMPLAINT_LOOKBACK = timedelta(minutes=10)
FACT_FIELDS = [field.name for field in TicketFact._meta.get_fields() if field.concrete and not field.primary_key]


def _seconds(delta: timedelta | None) -> int | None:
    return None if delta is None else max(int(delta.total_seconds()), 0)


def _pick_clock(cycles: list[Deadline]) -> Deadline | None:
    """The clock that counts for a kind: the latest cycle with a verdict or still running (a reassignment cancels the
    arrival clock and starts a new cycle; only the last real one is the promise kept or broken)."""
    live = [clock for clock in cycles if clock.state != Deadline.State.CANCELLED]
    return (live or cycles or [None])[-1]


def _region_codes(divisions: dict[str, dict], code: str) -> dict[str, str]:
    chain = [*divisions[code]["ancestor_codes"], code]
    by_level = {divisions[c]["level"]: c for c in chain if c in divisions}
    return {
        "province_code": by_level.get(Division.Level.PROVINCE, ""),
        "prefecture_code": by_level.get(Division.Level.PREFECTURE, ""),
        "county_code": by_level.get(Division.Level.COUNTY, ""),
    }


def ticket_fact_refresh(*, ticket_ids, now=None) -> int:
    """Recompute the rollup rows of these tickets from the tickets and their clocks; returns how many were written."""
    now = now or timezone.now()
    ticket_ids = list(ticket_ids)
    if not ticket_ids:
        return 0
    tickets = list(
        Ticket.objects.filter(pk__in=ticket_ids).values(
            "pk",
            "created_at",
            "division_id",
            "division__ancestor_codes",
            "technician_id",
            "status",
            "inspection_fee_waived",
        )
    )
    codes = {t["division_id"] for t in tickets} | {c for t in tickets for c in t["division__ancestor_codes"]}
    divisions = {
        d["code"]: d for d in Division.objects.filter(code__in=codes).values("code", "level", "ancestor_codes")
    }
    clocks: dict[int, dict[str, list[Deadline]]] = defaultdict(lambda: defaultdict(list))
    for clock in Deadline.objects.filter(
        subject_type=ContentType.objects.get_for_model(Ticket), subject_id__in=ticket_ids, kind__in=TICKET_CLOCKS
    ).order_by("cycle"):
        clocks[clock.subject_id][clock.kind].append(clock)
    insured = set(InsurancePolicy.objects.filter(ticket_id__in=ticket_ids).values_list("ticket_id", flat=True))
    complained = dict(
        Complaint.objects.filter(ticket_id__in=ticket_ids)
        .values("ticket_id")
        .annotate(n=Count("pk"))
        .values_list("ticket_id", "n")
    )
    rows = []
    for ticket in tickets:
        local = timezone.localtime(ticket["created_at"])
        fact = TicketFact(
            ticket_id=ticket["pk"],
            created_at=ticket["created_at"],
            day=local.date(),
            hour=local.hour,
            technician_id=ticket["technician_id"],
            status=ticket["status"],
            is_open=ticket["status"] in OPEN_STATUSES,
            is_cancelled=ticket["status"] == TicketStatus.CANCELLED,
            is_completed=ticket["status"] in (TicketStatus.COMPLETED, TicketStatus.CLOSED),
            inspection_fee_waived=ticket["inspection_fee_waived"],
            insurance_sold=ticket["pk"] in insured,
            complaints=complained.get(ticket["pk"], 0),
            refreshed_at=now,
            **_region_codes(divisions, ticket["division_id"]),
        )
        paused = timedelta(0)
        for kind in TICKET_CLOCKS:
            clock = _pick_clock(clocks[ticket["pk"]][kind])
            if clock is None:
                continue
            setattr(fact, f"{kind}_state", clock.state)
            setattr(fact, f"{kind}_warned", clock.warned_at is not None)
            if clock.met_at is not None:
                setattr(fact, f"{kind}_seconds", _seconds(clock.met_at - clock.started_at - clock.paused_total))
            fact.breaches += clock.state == Deadline.State.BREACHED
            # Waiting for the customer pauses every open clock at once: the longest-running clock (resolution) holds
            # the ticket's whole waiting time, so the largest total is the ticket's, without counting a pause twice.
            paused = max(paused, clock.paused_total)
        fact.paused_seconds = _seconds(paused)
        rows.append(fact)
    TicketFact.objects.bulk_create(rows, update_conflicts=True, unique_fields=["ticket"], update_fields=FACT_FIELDS)
    return len(rows)


@transaction.atomic
def ticket_fact_sync(*, now=None, chunk: int = CHUNK) -> int:
    """Bring the rollup up to date: every ticket with new timeline events, plus every open ticket (a clock can breach
    without the ticket changing); returns how many rows were written, or 0 when another sync is running."""
    now = now or timezone.now()
    RollupCursor.objects.get_or_create(name=FACT_CURSOR, defaults={"ran_at": now})
    cursor = RollupCursor.objects.select_for_update(skip_locked=True).filter(name=FACT_CURSOR).first()
    if cursor is None:
        return 0  # another worker is syncing; it will see the same events
    top = TicketEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    changed = set(
        TicketEvent.objects.filter(pk__gt=max(cursor.position - LOOKBACK_EVENTS, 0), pk__lte=top).values_list(
            "ticket_id", flat=True
        )
    )
    changed |= set(TicketFact.objects.filter(is_open=True).values_list("ticket_id", flat=True))
    # Filing a complaint writes no ticket event: pick up the tickets complained about since the last run (with the
    # same allowance for late commits, in time rather than in event numbers).
    changed |= set(
        Complaint.objects.filter(filed_at__gte=cursor.ran_at - COMPLAINT_LOOKBACK).values_list("ticket_id", flat=True)
    )
    ordered = sorted(changed)
    written = 0
    for start in range(0, len(ordered), chunk):
        written += ticket_fact_refresh(ticket_ids=ordered[start : start + chunk], now=now)
    cursor.position, cursor.ran_at = top, now
    cursor.save(update_fields=["position", "ran_at"])
    return written


@transaction.atomic
def breach_review_set(*, deadline: Deadline, reason: str, by, note: str = "", now=None) -> BreachReview:
    """Record (or change) why a breached clock was missed; raises NotABreach for a clock that was not breached."""
    now = now or timezone.now()
    if deadline.state != Deadline.State.BREACHED:
        raise NotABreach(deadline.pk)
    BreachReason(reason)  # ValueError for a value outside the categories; forms offer only these
    review, _created = BreachReview.objects.update_or_create(
        deadline=deadline,
        defaults={"reason": reason, "note": note.strip()[:300], "reviewed_by": by, "reviewed_at": now},
    )
    return review


# ---- Demo history (manage.py seed_demo) ------------------------------------------------------------------------
# New tickets by hour of day (Asia/Shanghai): quiet at night, peaks after work and at lunch.
HOURLY_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 4, 7, 8, 8, 9, 9, 8, 8, 8, 9, 10, 12, 12, 10, 7, 4, 2]


def _demo_staff(*, areas: list[Division]):
    """Return a demo operator and one demo technician per served area (created once, by username)."""
    users = get_user_model().objects
    operator, _ = users.get_or_create(username="demo_operator")
    operator.groups.add(Group.objects.get(name=Role.OPERATOR))
    technicians = {}
    for index, area in enumerate(areas):
        user, _ = users.get_or_create(username=f"demo_technician_{area.code}")
        user.groups.add(Group.objects.get(name=Role.TECHNICIAN))
        technician, _ = Technician.objects.get_or_create(
            user=user,
            defaults={
                "name": f"演示师傅{index + 1}",
                "phone": f"+8613900{index:06d}",
                "capacity": 50,
                "is_on_duty": True,
            },
        )
        technician.coverage.add(area)
        technicians[area.code] = technician
    return operator, technicians


def demo_history_seed(*, tickets: int, start, end, rng) -> int:
    """Create `tickets` demo tickets between `start` and `end` in the served areas through the real ticket services:
    most answered in time, some late (breaches), some waiting for the customer, some cancelled. Returns the count."""
    areas = [a.division for a in ServiceArea.objects.filter(is_active=True).select_related("division")]
    if not areas:
        return 0
    operator, technicians = _demo_staff(areas=areas)
    days = max((end - start).days, 1)
    minute = timedelta(minutes=1)
    created = 0
    for number in range(tickets):
        day = timezone.localtime(start).date() + timedelta(days=rng.randrange(days))
        hour = rng.choices(range(24), weights=HOURLY_WEIGHTS)[0]
        at = timezone.make_aware(
            datetime(day.year, day.month, day.day, hour, rng.randrange(60)),  # noqa: DTZ001 - made aware here
        )
        if at >= end:
            continue
        area = rng.choice(areas)
        ticket = ticket_create(
            phone=f"139{number % 100_000_000:08d}",
            division=area,
            address_detail=f"演示路 {number % 500} 号",
            category=rng.choice(["locked_out", "biometric", "power", "mechanical"]),
            by=operator,
            now=at,
            allow_duplicate=True,
        )
        created += 1
        if rng.random() < 0.05:
            ticket_cancel(ticket=ticket, by=operator, reason="客户自行解决", now=at + rng.randint(2, 20) * minute)
            continue
        technician = technicians[area.code]
        moment = at + rng.randint(1, 10) * minute
        ticket = ticket_assign(ticket=ticket, technician=technician, by=operator, reason="演示", now=moment)
        if rng.random() < 0.08:
            ticket = ticket_wait_customer(ticket=ticket, by=operator, reason="客户不在家", now=moment + minute)
            moment += rng.randint(10, 120) * minute
            ticket = ticket_resume(ticket=ticket, by=operator, now=moment)
        # About one in seven answered after the 30 minutes.
        moment += rng.choice([rng.randint(2, 20), rng.randint(2, 20), rng.randint(2, 20), rng.randint(25, 60)]) * minute
        for step, gap in (("responded", 0), ("en_route", rng.randint(1, 5)), ("on_site", rng.randint(15, 90))):
            moment += gap * minute
            if moment >= end:
                break
            ticket = ticket_progress(ticket=ticket, by=technician.user, to=step, now=moment)
        else:
            moment += rng.randint(20, 120) * minute
            if moment < end:
                ticket_complete(
                    ticket=ticket, by=technician.user, work_done="演示维修", labour_fee=Decimal(80), now=moment
                )
    return created


# ---- Daily summary report ---------------------------------------------------------------------------------------


def daily_report_render(*, day) -> tuple[str, str]:
    """Return (subject, body) of the summary for one local day: nationwide first, then each province with tickets."""
    parts = []
    national = Scope(start=day, end=day)
    codes = (
        TicketFact.objects.filter(day=day).exclude(province_code="").values_list("province_code", flat=True).distinct()
    )
    provinces = Division.objects.filter(code__in=list(codes)).order_by("code")
    for name, scope in [(gettext("Nationwide"), national)] + [
        (p.name, Scope(start=day, end=day, region=p)) for p in provinces
    ]:
        parts.append(
            {
                "name": name,
                "totals": ticket_summary(scope=scope),
                "clocks": clock_summary(scope=scope) + complaint_clock_summary(scope=scope),
            }
        )
    subject = gettext("Dispatch daily summary %(day)s") % {"day": day.isoformat()}
    return subject, render_to_string("dashboard/daily_report.txt", {"parts": parts, "day": day})


@transaction.atomic
def daily_report_send(*, day, now=None) -> DailyReport | None:
    """Render the summary of `day` and hand it to the configured backend, once per day; returns the record, or None
    when that day's report was already sent (or is being sent by another worker)."""
    now = now or timezone.now()
    subject, body = daily_report_render(day=day)
    backend = report_backend_path()
    try:
        # The unique day claims the report: a second worker waits on the index, then finds it taken.
        with transaction.atomic():
            report = DailyReport.objects.create(day=day, sent_at=now, backend=backend, body=body)
    except IntegrityError:
        return None
    # Sent inside the transaction on purpose: if the backend fails, the claim rolls back and the next run retries
    # (at least once; a crash between sending and committing would send it twice, which beats never).
    report_backend().send(day=day, subject=subject, body=body)
    return report
