"""Every figure on the manager dashboard, computed from the rollups (RegionDayRollup and the other tables derived
from TicketFact) and the SLA rows; the drill-down lists read the facts themselves.

A figure is counted over the tickets *created* in the period (days in Asia/Shanghai) and region, whenever their
clocks stopped: a ticket created at 23:50 and answered at 00:10 belongs to the first day. Complaints follow their
ticket too (its day and region, not the day of filing): a complaint filed on Monday about Sunday's job counts for
Sunday, so the rate per 100 jobs compares a period's jobs with the complaints about those same jobs.

Percentiles (p50/p90 of the time to met) come from 1-minute histograms: each time counts as its whole minutes, then
the percentile is interpolated like PostgreSQL's percentile_cont. A time of 10 min 40 s counts as 10 minutes, so the
figures are "to the minute"; times of HISTOGRAM_MINUTES or more share the last bucket (`p90_capped`).
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Model, Q, QuerySet, Sum
from django.utils import timezone

from accounts.roles import Role, user_roles
from complaints.models import OPEN_STATUSES as COMPLAINT_OPEN_STATUSES
from complaints.models import Complaint, Decision
from dashboard.exceptions import RegionNotAllowed
from dashboard.models import (
    COMPLAINT_CLOCKS,
    COMPLAINT_HISTOGRAM_MINUTES,
    FACT_CURSOR,
    HISTOGRAM_MINUTES,
    TICKET_CLOCKS,
    ManagerRegion,
    RegionDayRollup,
    RegionHourRollup,
    RollupCursor,
    RollupLevel,
    StaffingHour,
    TechnicianDayRollup,
    TicketFact,
)
from dispatch.models import OPEN_STATUSES, Media, Offer, OfferOutcome, Technician, Ticket
from regions.models import Division
from sla.models import Deadline, DeadlineKind
from sla.selectors import tick_heartbeat_age

MET, BREACHED = Deadline.State.MET, Deadline.State.BREACHED
# Staffing: one technician handles about this many new tickets an hour (travel + repair), from the dispatch notes.
TICKETS_PER_TECHNICIAN_HOUR = 1.0
LEVEL_FIELD = {
    Division.Level.PROVINCE: "province_code",
    Division.Level.PREFECTURE: "prefecture_code",
    Division.Level.COUNTY: "county_code",
}
CHILD_FIELD = {None: "province_code", **{"province": "prefecture_code", "prefecture": "county_code"}}
ROLLUP_LEVEL = {
    Division.Level.PROVINCE: RollupLevel.PROVINCE,
    Division.Level.PREFECTURE: RollupLevel.PREFECTURE,
    Division.Level.COUNTY: RollupLevel.COUNTY,
}
CHILD_LEVEL = {None: RollupLevel.PROVINCE, "province": RollupLevel.PREFECTURE, "prefecture": RollupLevel.COUNTY}


class Percentile(Aggregate):
    """PostgreSQL's percentile_cont: the value below which `fraction` of the rows fall (interpolated)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass(frozen=True)
class Scope:
    """What a page counts: the tickets created from `start` to `end` (local days, both included) inside `region`
    (None for all the user may see), limited to `provinces` for a regional manager (empty: the whole country)."""

    start: date
    end: date
    region: Division | None = None
    provinces: tuple[str, ...] = field(default_factory=tuple)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        zone = timezone.get_default_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )


def manager_province_codes(*, user) -> tuple[str, ...]:
    """Return the provinces a regional manager is limited to; empty for national managers and administrators."""
    if Role.ADMIN in user_roles(user):
        return ()
    return tuple(ManagerRegion.objects.filter(user=user).order_by("province_id").values_list("province_id", flat=True))


def scope_for(*, user, start: date, end: date, region_code: str = "") -> Scope:
    """Return the scope for a page; raises RegionNotAllowed for a region outside the user's provinces."""
    provinces = manager_province_codes(user=user)
    region = None
    if region_code:
        region = Division.objects.filter(code=region_code, level__in=list(LEVEL_FIELD)).first()
        if region is None:
            raise RegionNotAllowed(region_code)
        province = region.code if region.level == Division.Level.PROVINCE else region.ancestor_codes[0]
        if provinces and province not in provinces:
            raise RegionNotAllowed(region_code)
    return Scope(start=start, end=end, region=region, provinces=provinces)


def region_list_choices(*, scope: Scope) -> list[Division]:
    """Return the regions one level down from the scope's region (provinces at the top), limited to the user's."""
    if scope.region is None:
        divisions = Division.objects.filter(level=Division.Level.PROVINCE)
        if scope.provinces:
            divisions = divisions.filter(code__in=scope.provinces)
    elif scope.region.level == Division.Level.COUNTY:
        return []
    else:
        divisions = Division.objects.filter(parent=scope.region)
    return list(divisions.order_by("code"))


def region_breadcrumbs(*, scope: Scope) -> list[Division]:
    """Return the chain from the province down to the scope's region."""
    if scope.region is None:
        return []
    chain = [*scope.region.ancestor_codes, scope.region.code]
    found = {d.code: d for d in Division.objects.filter(code__in=chain)}
    return [found[c] for c in chain if c in found]


def fact_list(*, scope: Scope) -> QuerySet[TicketFact]:
    """Return the rollup rows of the tickets in scope."""
    facts = TicketFact.objects.filter(day__gte=scope.start, day__lte=scope.end)
    if scope.provinces:
        facts = facts.filter(province_code__in=scope.provinces)
    if scope.region is not None:
        facts = facts.filter(**{LEVEL_FIELD[scope.region.level]: scope.region.code})
    return facts


def rollup_list(*, scope: Scope, model: type[Model] = RegionDayRollup) -> QuerySet:
    """Return the rollup rows that add up to the scope: for a region table, the rows of the scope's own region (the
    country, one region, or each of a regional manager's provinces); for the technician table, every row inside it."""
    rows = model.objects.filter(day__gte=scope.start, day__lte=scope.end)
    if model is TechnicianDayRollup:
        if scope.provinces:
            rows = rows.filter(province_code__in=scope.provinces)
        if scope.region is not None:
            rows = rows.filter(**{LEVEL_FIELD[scope.region.level]: scope.region.code})
        return rows
    if scope.region is not None:
        return rows.filter(
            level=ROLLUP_LEVEL[scope.region.level], **{LEVEL_FIELD[scope.region.level]: scope.region.code}
        )
    if scope.provinces:
        return rows.filter(level=RollupLevel.PROVINCE, province_code__in=scope.provinces)
    return rows.filter(level=RollupLevel.NATIONAL)


def histogram_add(total: dict[int, int], minutes, counts) -> dict[int, int]:
    """Add one sparse histogram (minute buckets and their counts) into `total`; returns it."""
    for minute, count in zip(minutes, counts, strict=True):
        total[minute] = total.get(minute, 0) + count
    return total


def histogram_percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """Return the `fraction` percentile in seconds of a 1-minute histogram, each time counted as its whole minutes and
    interpolated like percentile_cont (exact when every time is whole minutes); None when it is empty."""
    total = sum(histogram.values())
    if not total:
        return None
    position = fraction * (total - 1)
    low, high = math.floor(position), math.ceil(position)
    found: dict[int, int] = {}
    seen = 0
    for minute in sorted(histogram):
        seen += histogram[minute]
        for index in (low, high):
            if index not in found and index < seen:
                found[index] = minute
        if high in found:
            break
    return (found[low] + (found[high] - found[low]) * (position - low)) * 60


def _percentiles(
    row: dict, kind: str, histogram: dict[int, int], names=("p50", "p90"), cap: int = HISTOGRAM_MINUTES
) -> None:
    for name in names:
        value = histogram_percentile(histogram, {"p50": 0.5, "p90": 0.9}[name])
        key = f"{kind}_{name}" if kind else name
        row[key] = value
        row[f"{key}_capped"] = value is not None and value >= cap * 60


def _clock_aggregates(kind: str) -> dict:
    state, seconds = f"{kind}_state", f"{kind}_seconds"
    met = Q(**{state: MET})
    return {
        f"{kind}_met": Count("pk", filter=met),
        f"{kind}_breached": Count("pk", filter=Q(**{state: BREACHED})),
        f"{kind}_warned": Count("pk", filter=Q(**{f"{kind}_warned": True})),
        # Times to met, whether in time or late: the promise's real distribution, paused time left out.
        f"{kind}_p50": Percentile(seconds, 0.5, filter=Q(**{f"{seconds}__isnull": False})),
        f"{kind}_p90": Percentile(seconds, 0.9, filter=Q(**{f"{seconds}__isnull": False})),
    }


def _share(part: int, whole: int) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


def _clock_rows(rows, kinds, *, cap: int) -> list[dict]:
    """One row per clock kind from the rollup rows: met, breached, decided, share met (%), warned, and p50/p90 from
    the summed 1-minute histograms (up to `cap` minutes)."""
    totals = rows.aggregate(
        **{f"{kind}_{part}": Sum(f"{kind}_{part}") for kind in kinds for part in ("met", "breached", "warned")}
    )
    histograms: dict[str, dict[int, int]] = {kind: {} for kind in kinds}
    for values in rows.values_list(*(f"{kind}_{part}" for kind in kinds for part in ("minutes", "counts"))):
        for index, kind in enumerate(kinds):
            histogram_add(histograms[kind], values[2 * index], values[2 * index + 1])
    result = []
    for kind in kinds:
        met, breached = totals[f"{kind}_met"] or 0, totals[f"{kind}_breached"] or 0
        row = {
            "kind": kind,
            "label": DeadlineKind(kind).label,
            "met": met,
            "breached": breached,
            "decided": met + breached,
            "share_met": _share(met, met + breached),
            "warned": totals[f"{kind}_warned"] or 0,
        }
        _percentiles(row, "", histograms[kind], cap=cap)
        result.append(row)
    return result


def clock_summary(*, scope: Scope) -> list[dict]:
    """Return, per ticket clock: met, breached, share met of those decided (%), warned, p50/p90 seconds to met (to the
    minute, from the histograms).

    Clocks still running or paused have no verdict yet, and cancelled tickets' clocks never get one: neither counts.
    """
    return _clock_rows(rollup_list(scope=scope), TICKET_CLOCKS, cap=HISTOGRAM_MINUTES)


def ticket_summary(*, scope: Scope) -> dict:
    """Return the ticket counts of the period: created, cancelled, completed, breaches, paused seconds, first free
    inspections (not cancelled), insurance sold and uptake (% of completed jobs that bought a policy)."""
    names = (
        "tickets",
        "cancelled",
        "completed",
        "breaches",
        "paused_seconds",
        "paused_tickets",
        "free_inspections",
        "insured",
        # Every complaint about a ticket of the period, over its completed jobs: a no-show complaint about a ticket
        # later cancelled still counts against the promise.
        "complaints",
    )
    totals = rollup_list(scope=scope).aggregate(**{f"sum_{name}": Sum(name, default=0) for name in names})
    row = {name: totals[f"sum_{name}"] for name in names}
    row["insurance_uptake"] = _share(row["insured"], row["completed"])
    row["complaints_per_100_jobs"] = _share(row["complaints"], row["completed"])
    return row


def backlog_now(*, scope: Scope, now) -> dict:
    """Return the open tickets in the scope's region right now (any creation date), and how many of them have a
    response clock already breached, from the live tables."""
    tickets = Ticket.objects.filter(status__in=OPEN_STATUSES)
    # The region's divisions as a subquery (GIN index on ancestor_codes), not a join: joining the open tickets to
    # their divisions hashed all 42k divisions first (bench/dashboard.py, a province: 68 -> 16 ms for both queries).
    if scope.provinces:
        tickets = tickets.filter(
            division_id__in=Division.objects.filter(
                Q(ancestor_codes__overlap=list(scope.provinces)) | Q(code__in=scope.provinces)
            ).values("code")
        )
    if scope.region is not None:
        tickets = tickets.filter(
            division_id__in=Division.objects.filter(
                Q(ancestor_codes__contains=[scope.region.code]) | Q(code=scope.region.code)
            ).values("code")
        )
    ids = tickets.values("pk")
    late = Deadline.objects.filter(
        subject_type=ContentType.objects.get_for_model(Ticket),
        subject_id__in=ids,
        kind="response",
    ).filter(Q(state=BREACHED) | Q(state=Deadline.State.PENDING, due_at__lte=now))
    return {"open": tickets.count(), "response_late": late.values("subject_id").distinct().count()}


def complaint_list_for_scope(*, scope: Scope) -> QuerySet[Complaint]:
    """Return the complaints about the tickets in scope (the ticket's day and region decide, not the filing's)."""
    return Complaint.objects.filter(ticket_id__in=fact_list(scope=scope).filter(complaints__gt=0).values("ticket_id"))


def _complaint_deadlines(*, scope: Scope, kind: str) -> QuerySet[Deadline]:
    return Deadline.objects.filter(
        subject_type=ContentType.objects.get_for_model(Complaint),
        subject_id__in=complaint_list_for_scope(scope=scope).values("pk"),
        kind=kind,
    )


def complaint_clock_summary(*, scope: Scope) -> list[dict]:
    """Return, per complaint clock (acknowledge, decide), the same row as clock_summary: met, breached, share met
    (%), warned, p50/p90 active seconds to met (to the minute; paused time, e.g. waiting for evidence, left out)."""
    return _clock_rows(rollup_list(scope=scope), COMPLAINT_CLOCKS, cap=COMPLAINT_HISTOGRAM_MINUTES)


def complaint_outcomes(*, complaints: QuerySet[Complaint]) -> dict:
    """Return how these complaints ended: total, upheld, partly upheld, rejected (the last decision in force, so an
    appeal's decision replaces the first) and undecided (no decision yet, or one still waiting for approval)."""
    in_force = (Decision.Approval.NOT_NEEDED, Decision.Approval.APPROVED)
    last: dict[int, str] = {}
    ids = list(complaints.values_list("pk", flat=True))
    for complaint_id, outcome in (
        Decision.objects.filter(complaint_id__in=ids, approval__in=in_force)
        .order_by("decided_at", "pk")
        .values_list("complaint_id", "outcome")
    ):
        last[complaint_id] = outcome
    counts = {outcome: 0 for outcome in Decision.Outcome.values}
    for outcome in last.values():
        counts[outcome] += 1
    return {"total": len(ids), **counts, "undecided": len(ids) - len(last)}


def complaint_map_for_tickets(*, ticket_ids) -> dict[int, list[Complaint]]:
    """Return the complaints about these tickets, by ticket id, oldest first (for the drill-down's links)."""
    found: dict[int, list[Complaint]] = {}
    for complaint in Complaint.objects.filter(ticket_id__in=list(ticket_ids)).order_by("filed_at", "pk"):
        found.setdefault(complaint.ticket_id, []).append(complaint)
    return found


BREAKDOWNS = ("region", "technician", "day", "hour")


def _breakdown_rows(*, scope: Scope, by: str) -> tuple[QuerySet, str]:
    """The rollup rows behind a breakdown and the column that keys its rows."""
    if by == "region":
        level = scope.region.level if scope.region else None
        if level == Division.Level.COUNTY:  # a county: nothing below it to compare
            return rollup_list(scope=scope), "county_code"
        rows = RegionDayRollup.objects.filter(day__gte=scope.start, day__lte=scope.end, level=CHILD_LEVEL[level])
        if scope.provinces:
            rows = rows.filter(province_code__in=scope.provinces)
        if scope.region is not None:
            rows = rows.filter(**{LEVEL_FIELD[scope.region.level]: scope.region.code})
        return rows, CHILD_FIELD[level]
    if by == "technician":
        return rollup_list(scope=scope, model=TechnicianDayRollup), "technician_id"
    if by == "day":
        return rollup_list(scope=scope), "day"
    if by == "hour":
        return rollup_list(scope=scope, model=RegionHourRollup), "hour"
    raise ValueError(by)


def breakdown(*, scope: Scope, by: str, limit: int | None = None) -> list[dict]:
    """Return one row per region one level down (or technician, local day, hour of day): tickets, response met and
    breached, share met (%), p50 response seconds (to the minute), breaches of any clock. With `limit`, only that many
    rows: the ones with the most response breaches (then tickets) first."""
    source, key = _breakdown_rows(scope=scope, by=by)
    rows = list(
        source.values(key)
        .annotate(
            tickets_total=Sum("tickets"),
            met_total=Sum("response_met"),
            breached_total=Sum("response_breached"),
            breaches_total=Sum("breaches"),
        )
        .order_by(key)
    )
    if limit is not None and len(rows) > limit:
        rows = sorted(rows, key=lambda r: (-r["breached_total"], -r["tickets_total"], r[key]))[:limit]
        source = source.filter(**{f"{key}__in": [r[key] for r in rows]})
    histograms: dict = {}
    for row_key, minutes, counts in source.values_list(key, "response_minutes", "response_counts"):
        histogram_add(histograms.setdefault(row_key, {}), minutes, counts)
    labels: dict = {}
    if by == "region":
        labels = dict(Division.objects.filter(code__in=[r[key] for r in rows]).values_list("code", "name"))
    elif by == "technician":
        labels = dict(Technician.objects.filter(pk__in=[r[key] for r in rows]).values_list("pk", "name"))
    result = []
    for row in rows:
        figures = {
            "key": row[key],
            "tickets": row["tickets_total"],
            "response_met": row["met_total"],
            "response_breached": row["breached_total"],
            "breaches": row["breaches_total"],
            "share_met": _share(row["met_total"], row["met_total"] + row["breached_total"]),
        }
        figures["label"] = labels.get(row[key], row[key]) if labels else row[key]
        _percentiles(figures, "response", histograms.get(row[key], {}), names=("p50",))
        result.append(figures)
    if by == "hour":
        # All 24 hours, so the chart never hides a quiet hour.
        present = {row["key"]: row for row in result}
        empty = {"tickets": 0, "response_met": 0, "response_breached": 0, "response_p50": None, "breaches": 0}
        result = [present.get(h, {**empty, "key": h, "label": h, "share_met": None}) for h in range(24)]
    return result


def staffing_by_hour(*, scope: Scope) -> list[dict]:
    """Return for each hour of the day (0–23): technicians on duty (average over the period's days, from the staffing
    rollup) and technicians needed (average new tickets that hour ÷ TICKETS_PER_TECHNICIAN_HOUR, rounded up)."""
    created = dict(
        rollup_list(scope=scope, model=RegionHourRollup)
        .values("hour")
        .annotate(n=Sum("tickets"))
        .values_list("hour", "n")
    )
    start, end = scope.bounds()
    # A technician counts for a region when one of the divisions they cover lies inside it (or is it): its own rows;
    # or contains it: the exact rows of its ancestors. A regional manager's country is their provinces' rows.
    if scope.region is not None:
        within, exact = [scope.region.code], list(scope.region.ancestor_codes)
    elif scope.provinces:
        within, exact = list(scope.provinces), []
    else:
        within, exact = [""], []
    sql = f"""
        WITH rows AS (
            SELECT slot, technicians, technician_ids FROM {StaffingHour._meta.db_table}
            WHERE slot >= %(start)s AND slot < %(end)s
              AND ((NOT is_exact AND region_code = ANY(%(within)s::varchar[]))
                   OR (is_exact AND region_code = ANY(%(exact)s::varchar[])))
        ),
        shared AS (SELECT slot FROM rows GROUP BY slot HAVING count(*) > 1),
        per_slot AS (
            -- One row for the slot: its count. Several: a technician may be in more than one, count each once.
            SELECT slot, technicians AS n FROM rows WHERE slot NOT IN (SELECT slot FROM shared)
            UNION ALL
            SELECT slot, count(DISTINCT t) FROM rows CROSS JOIN LATERAL unnest(technician_ids) AS t
            WHERE slot IN (SELECT slot FROM shared) GROUP BY slot
        )
        SELECT EXTRACT(HOUR FROM slot AT TIME ZONE %(zone)s)::int AS hour, sum(n)::int FROM per_slot GROUP BY 1
    """  # noqa: S608 - the only interpolation is the table name; values are parameters
    params = {"start": start, "end": end, "within": within, "exact": exact, "zone": settings.TIME_ZONE}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        on_duty = dict(cursor.fetchall())
    return [
        {
            "hour": hour,
            "on_duty": round(on_duty.get(hour, 0) / scope.days, 1),
            "needed": math.ceil(created.get(hour, 0) / scope.days / TICKETS_PER_TECHNICIAN_HOUR),
        }
        for hour in range(24)
    ]


DRILL_FILTERS = {
    "all": Q(),
    "cancelled": Q(is_cancelled=True),
    "completed": Q(is_completed=True),
    "free_inspection": Q(inspection_fee_waived=True, is_cancelled=False),
    "insured": Q(insurance_sold=True, is_completed=True),
    "paused": Q(paused_seconds__gt=0),
    "breached_any": Q(breaches__gt=0),
    "complaints": Q(complaints__gt=0),
    **{f"{kind}_met": Q(**{f"{kind}_state": MET}) for kind in TICKET_CLOCKS},
    **{f"{kind}_breached": Q(**{f"{kind}_state": BREACHED}) for kind in TICKET_CLOCKS},
    **{f"{kind}_warned": Q(**{f"{kind}_warned": True}) for kind in TICKET_CLOCKS},
}


COMPLAINT_DRILL_FILTERS = {
    f"{kind}_{state}": (kind, state) for kind in COMPLAINT_CLOCKS for state in (MET, BREACHED, "warned")
}
FIGURES = {*DRILL_FILTERS, *COMPLAINT_DRILL_FILTERS}


def ticket_list_for_figure(
    *, scope: Scope, figure: str = "all", day: date | None = None, hour: int | None = None, technician_id=None, key=""
) -> QuerySet[TicketFact]:
    """Return the tickets behind one number on the dashboard (a figure, narrowed to a day, hour, technician or child
    region), newest first, with their ticket, division and technician; raises KeyError for an unknown figure."""
    facts = fact_list(scope=scope)
    if figure in COMPLAINT_DRILL_FILTERS:
        # A complaint clock: the tickets whose complaints have a clock in that state.
        kind, state = COMPLAINT_DRILL_FILTERS[figure]
        clocks = _complaint_deadlines(scope=scope, kind=kind).filter(
            Q(warned_at__isnull=False) if state == "warned" else Q(state=state)
        )
        facts = facts.filter(
            ticket_id__in=Complaint.objects.filter(pk__in=clocks.values("subject_id")).values("ticket")
        )
    else:
        facts = facts.filter(DRILL_FILTERS[figure])
    if day is not None:
        facts = facts.filter(day=day)
    if hour is not None:
        facts = facts.filter(hour=hour)
    if technician_id:
        facts = facts.filter(technician_id=technician_id)
    if key:
        facts = facts.filter(Q(province_code=key) | Q(prefecture_code=key) | Q(county_code=key))
    return facts.select_related("ticket", "ticket__division", "technician").order_by("-created_at", "-pk")


# The drill-down figures whose ticket count the day rollup holds, and its column.
ROLLUP_FIGURES = {
    "all": "tickets",
    "cancelled": "cancelled",
    "completed": "completed",
    "free_inspection": "free_inspections",
    "insured": "insured",
    "paused": "paused_tickets",
    **{f"{kind}_{state}": f"{kind}_{state}" for kind in TICKET_CLOCKS for state in (MET, BREACHED, "warned")},
}


def ticket_count_for_figure(
    *, scope: Scope, figure: str = "all", day: date | None = None, hour: int | None = None, technician_id=None, key=""
) -> int | None:
    """Return how many tickets ticket_list_for_figure lists, from the day rollup, when it holds that count (a figure
    over the scope or one day of it); None when the drill is narrowed further (count the list instead)."""
    column = ROLLUP_FIGURES.get(figure)
    if column is None or hour is not None or technician_id or key:
        return None
    rows = rollup_list(scope=scope)
    if day is not None:
        rows = rows.filter(day=day)
    return rows.aggregate(n=Sum(column, default=0))["n"]


def breach_list(*, scope: Scope, now, kind: str = "", reason: str = "", attach: bool = True) -> list[Deadline]:
    """Return every breached ticket clock in scope (at most 500), latest first, each with .late (timedelta: met late,
    or still open until now), .review (BreachReview or None) and, unless `attach` is False (a page loads only the
    tickets of the rows it shows, with breach_list_attach), .ticket; `reason="none"` keeps the ones not reviewed."""
    tickets = fact_list(scope=scope).filter(breaches__gt=0).values("ticket_id")
    breaches = (
        Deadline.objects.filter(
            subject_type=ContentType.objects.get_for_model(Ticket),
            subject_id__in=tickets,
            kind__in=[kind] if kind else TICKET_CLOCKS,
            state=BREACHED,
        )
        .select_related("breach_review")
        .order_by("-due_at", "-pk")
    )
    if reason == "none":
        breaches = breaches.filter(breach_review__isnull=True)
    elif reason:
        breaches = breaches.filter(breach_review__reason=reason)
    breaches = list(breaches[:500])
    for breach in breaches:
        breach.late = (breach.met_at or now) - breach.due_at
        breach.review = getattr(breach, "breach_review", None)
    return breach_list_attach(breaches=breaches) if attach else breaches


def breach_list_attach(*, breaches: list[Deadline]) -> list[Deadline]:
    """Set .ticket (with its division and technician) on each of these breached clocks; returns them."""
    by_id = Ticket.objects.select_related("division", "technician").in_bulk([b.subject_id for b in breaches])
    for breach in breaches:
        breach.ticket = by_id.get(breach.subject_id)
    return breaches


def tick_alarm(*, now) -> dict:
    """Return the SLA tick's heartbeat age in seconds (None if it never ran) and whether it is stale."""
    age = tick_heartbeat_age(now=now)
    limit = settings.SLA_HEARTBEAT_ALARM_SECONDS
    return {
        "age_seconds": None if age is None else int(age.total_seconds()),
        "is_stale": age is None or age > timedelta(seconds=limit),
        "limit": limit,
    }


def complaints_escalated_count(*, scope) -> int:
    """Return how many open complaints in the manager's region breached their acknowledge or decide clock: the
    escalation a manager must act on (the reviewer queue lists them with ?escalated=1)."""
    complaints = Complaint.objects.filter(is_escalated=True, status__in=COMPLAINT_OPEN_STATUSES)
    if scope.provinces:
        complaints = complaints.filter(ticket__division__ancestor_codes__overlap=list(scope.provinces))
    return complaints.count()


def deadline_is_visible(*, user, deadline: Deadline) -> bool:
    """Return whether the user may see this ticket clock: a regional manager only their provinces' tickets."""
    if deadline.subject_type_id != ContentType.objects.get_for_model(Ticket).pk:
        return False
    provinces = manager_province_codes(user=user)
    if not provinces:
        return True
    return TicketFact.objects.filter(ticket_id=deadline.subject_id, province_code__in=provinces).exists()


def rollup_ran_at():
    """Return when the dashboard rollup last caught up (None if never)."""
    return RollupCursor.objects.filter(name=FACT_CURSOR).values_list("ran_at", flat=True).first()


def technician_report(*, technician: Technician, scope: Scope) -> dict:
    """Return a technician's period: jobs, response/arrival p50 and share met, breaches, offers declined and
    expired, recordings uploaded, and the same figures for the median peer in the same region and period."""
    start, end = scope.bounds()
    own = _technician_figures(facts=fact_list(scope=scope).filter(technician=technician))
    offers = Offer.objects.filter(technician=technician, offered_at__gte=start, offered_at__lt=end).aggregate(
        offered=Count("pk"),
        declined=Count("pk", filter=Q(outcome=OfferOutcome.DECLINED)),
        expired=Count("pk", filter=Q(outcome=OfferOutcome.EXPIRED)),
    )
    recordings = Media.objects.filter(
        kind=Media.Kind.RECORDING, ticket__technician=technician, uploaded_at__gte=start, uploaded_at__lt=end
    ).count()
    peers = (
        rollup_list(scope=scope, model=TechnicianDayRollup)
        .values("technician_id")
        .annotate(jobs=Sum("tickets"), response_met=Sum("response_met"), response_breached=Sum("response_breached"))
    )
    shares = sorted(
        _share(p["response_met"], p["response_met"] + p["response_breached"])
        for p in peers
        if p["response_met"] + p["response_breached"]
    )
    jobs = sorted(p["jobs"] for p in peers)
    return {
        **own,
        **offers,
        "recordings": recordings,
        "complaints": complaint_outcomes(
            complaints=complaint_list_for_scope(scope=scope).filter(ticket__technician=technician)
        ),
        "peers": len(jobs),
        "peer_median_jobs": _median(jobs),
        "peer_median_share_met": _median(shares),
    }


def _median(values: list) -> float | None:
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _technician_figures(*, facts: QuerySet[TicketFact]) -> dict:
    row = facts.aggregate(
        jobs=Count("pk"),
        completed=Count("pk", filter=Q(is_completed=True)),
        breaches_total=Sum("breaches", default=0),
        **_clock_aggregates("response"),
        **_clock_aggregates("arrival"),
    )
    row["breaches"] = row.pop("breaches_total")
    for kind in ("response", "arrival"):
        row[f"{kind}_share_met"] = _share(row[f"{kind}_met"], row[f"{kind}_met"] + row[f"{kind}_breached"])
    return row


def technician_list_for_scope(*, scope: Scope) -> QuerySet[Technician]:
    """Return the technicians with jobs in scope, by name."""
    ids = rollup_list(scope=scope, model=TechnicianDayRollup).values("technician_id")
    return Technician.objects.filter(pk__in=ids).order_by("name", "pk")
