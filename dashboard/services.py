"""Writes of the manager dashboard: the ticket rollup it reads, and the managers' breach reviews."""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext

from accounts.roles import Role
from complaints.models import Complaint, ComplaintEvent
from dashboard.exceptions import NotABreach
from dashboard.models import (
    COMPLAINT_CLOCKS,
    COMPLAINT_CURSOR,
    COMPLAINT_HISTOGRAM_MINUTES,
    FACT_CURSOR,
    HISTOGRAM_MINUTES,
    ROLLUP_CURSOR,
    STAFFING_CURSOR,
    TICKET_CLOCKS,
    BreachReason,
    BreachReview,
    DailyReport,
    RegionDayRollup,
    RegionHourRollup,
    RollupCursor,
    StaffingHour,
    TechnicianDayRollup,
    TicketFact,
)
from dashboard.reports import report_backend, report_backend_path
from dashboard.selectors import Scope, clock_summary, complaint_clock_summary, ticket_summary
from dispatch.models import OPEN_STATUSES, DutyPeriod, InsurancePolicy, Technician, Ticket, TicketEvent, TicketStatus
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
# What a fact says (everything but when it was computed): a day's rollups are re-derived only when one of these moved.
FACT_VALUES = [TicketFact._meta.get_field(name).attname for name in FACT_FIELDS if name != "refreshed_at"]


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


def _fact_write(*, ticket_ids: list[int], now) -> tuple[int, set]:
    """Recompute the facts of these tickets; returns (rows written, local days whose figures changed)."""
    if not ticket_ids:
        return 0, set()
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
    before = {
        row[0]: row[1:]
        for row in TicketFact.objects.filter(ticket_id__in=ticket_ids).values_list("ticket_id", *FACT_VALUES)
    }
    rows = []
    changed_days = set()
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
        if before.get(fact.ticket_id) != tuple(getattr(fact, name) for name in FACT_VALUES):
            changed_days.add(fact.day)
        rows.append(fact)
    TicketFact.objects.bulk_create(rows, update_conflicts=True, unique_fields=["ticket"], update_fields=FACT_FIELDS)
    return len(rows), changed_days


@transaction.atomic
def ticket_fact_refresh(*, ticket_ids, now=None) -> int:
    """Recompute the rollup rows of these tickets from the tickets and their clocks, and re-derive the day rollups
    they changed; returns how many facts were written."""
    written, days = _fact_write(ticket_ids=list(ticket_ids), now=now or timezone.now())
    rollup_rebuild(days=days)
    return written


@transaction.atomic
def ticket_fact_sync(*, now=None, chunk: int = CHUNK) -> int:
    """Bring the rollup up to date: every ticket with new timeline events, plus every open ticket (a clock can breach
    without the ticket changing), then the day rollups of the days that changed and the staffing rollup; returns how
    many fact rows were written, or 0 when another sync is running."""
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
    # A complaint's clocks move with its own timeline (acknowledged, decided, warned, breached), not the ticket's: the
    # days of the tickets whose complaints have new events are derived again.
    complaint_cursor, _created = RollupCursor.objects.get_or_create(name=COMPLAINT_CURSOR, defaults={"ran_at": now})
    complaint_top = ComplaintEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    complained = set(
        ComplaintEvent.objects.filter(
            pk__gt=max(complaint_cursor.position - LOOKBACK_EVENTS, 0), pk__lte=complaint_top
        ).values_list("complaint__ticket_id", flat=True)
    )
    changed |= complained
    ordered = sorted(changed)
    written = 0
    days: set = set(TicketFact.objects.filter(ticket_id__in=complained).values_list("day", flat=True).distinct())
    for start in range(0, len(ordered), chunk):
        count, changed_days = _fact_write(ticket_ids=ordered[start : start + chunk], now=now)
        written += count
        days |= changed_days
    _rollup_cursor, first_build = RollupCursor.objects.get_or_create(name=ROLLUP_CURSOR, defaults={"ran_at": now})
    if first_build:
        # Facts written before the rollups existed (an upgrade): derive every day once.
        days |= set(TicketFact.objects.values_list("day", flat=True).distinct())
    rollup_rebuild(days=days)
    RollupCursor.objects.filter(name=ROLLUP_CURSOR).update(ran_at=now)
    staffing_sync(now=now)
    complaint_cursor.position, complaint_cursor.ran_at = complaint_top, now
    complaint_cursor.save(update_fields=["position", "ran_at"])
    cursor.position, cursor.ran_at = top, now
    cursor.save(update_fields=["position", "ran_at"])
    return written


# ---- Rollups derived from the facts -------------------------------------------------------------------------------
# Each table is re-derived a whole local day at a time with one INSERT … SELECT over that day's facts (delete, then
# insert): running it twice, or after any late change, gives the same rows, so the figures cannot drift from the facts.
# The region tables hold one row per region at every level (GROUPING SETS), so a page reads ~30 rows per period instead
# of summing hundreds of counties, and percentiles come from summed 1-minute histograms.

ROLLUP_DAYS_PER_STATEMENT = 7
_LEVEL_SETS = (
    "GROUPING SETS ((), (province_code), (province_code, prefecture_code), "
    "(province_code, prefecture_code, county_code))"
)
# GROUPING(province_code, prefecture_code, county_code) is a bit mask of the columns left out of a row's set.
_LEVEL_OF_ROW = (
    "CASE GROUPING(province_code, prefecture_code, county_code) WHEN 7 THEN 0 WHEN 3 THEN 1 WHEN 1 THEN 2 ELSE 3 END"
)
_BREAKDOWN_SUMS = {
    "tickets": "count(*)",
    "response_met": "count(*) FILTER (WHERE response_state = 'met')",
    "response_breached": "count(*) FILTER (WHERE response_state = 'breached')",
    "breaches": "coalesce(sum(breaches), 0)",
}
_DAY_SUMS = {
    **_BREAKDOWN_SUMS,
    "cancelled": "count(*) FILTER (WHERE is_cancelled)",
    "completed": "count(*) FILTER (WHERE is_completed)",
    "paused_seconds": "coalesce(sum(paused_seconds), 0)",
    "paused_tickets": "count(*) FILTER (WHERE paused_seconds > 0)",
    "free_inspections": "count(*) FILTER (WHERE inspection_fee_waived AND NOT is_cancelled)",
    "insured": "count(*) FILTER (WHERE insurance_sold AND is_completed)",
    "complaints": "coalesce(sum(complaints), 0)",
    "response_warned": "count(*) FILTER (WHERE response_warned)",
    **{
        f"{kind}_{state}": f"count(*) FILTER (WHERE {kind}_state = '{state}')"
        for kind in ("arrival", "resolution")
        for state in ("met", "breached")
    },
    "arrival_warned": "count(*) FILTER (WHERE arrival_warned)",
    "resolution_warned": "count(*) FILTER (WHERE resolution_warned)",
}


def _complaint_sums() -> dict[str, str]:
    return {
        f"{kind}_{state}": f"count(*) FILTER (WHERE kind = '{kind}' AND state = '{state}')"
        for kind in COMPLAINT_CLOCKS
        for state in ("met", "breached")
    } | {f"{kind}_warned": f"count(*) FILTER (WHERE kind = '{kind}' AND warned)" for kind in COMPLAINT_CLOCKS}


def _rollup_sql(
    *, table: str, keys: list[str], levels: bool, sums: dict[str, str], clocks: tuple[str, ...], complaints: bool
) -> str:
    """One INSERT … SELECT that derives a rollup table's rows for the days in %(days)s from their facts (and, with
    `complaints`, from the clocks of the complaints about those tickets)."""
    # Everything interpolated below is a fixed column or table name from this module: the days are a parameter.
    regions = ["province_code", "prefecture_code", "county_code"]
    group = ", ".join(keys) + ", " + (_LEVEL_SETS if levels else ", ".join(regions))
    key_columns = [*keys, *(["level"] if levels else []), *regions]
    key_select = ", ".join(
        [*keys, *([f"{_LEVEL_OF_ROW} AS level"] if levels else []), *(f"coalesce({c}, '') AS {c}" for c in regions)]
    )
    where = "day = ANY(%(days)s::date[])" + ("" if "technician_id" not in keys else " AND technician_id IS NOT NULL")
    # LEAST ignores NULLs: a clock never met must stay out of the histogram, not land in the overflow bucket.
    buckets = ", ".join(
        f"CASE WHEN {k}_seconds IS NOT NULL THEN least({k}_seconds / 60, {HISTOGRAM_MINUTES}) END AS {k}_bucket"
        for k in clocks
    )
    parts = [
        f"facts AS (SELECT *, {buckets} FROM dashboard_ticketfact WHERE {where})",  # noqa: S608
        f"figures AS (SELECT {key_select}, {', '.join(f'{sql} AS {name}' for name, sql in sums.items())}"  # noqa: S608
        f" FROM facts GROUP BY {group})",
    ]
    # (name, source CTE, its bucket column, its filter)
    histograms = [(kind, "facts", f"{kind}_bucket", "TRUE") for kind in clocks]
    columns = [*key_columns, *sums]
    select = [*(f"figures.{c}" for c in key_columns), *(f"figures.{name}" for name in sums)]
    joins = []
    if complaints:
        # A complaint's clocks, by its ticket's day and region: active time to met (paused time left out).
        parts.append(
            "complaint_clocks AS (SELECT f.day, f.province_code, f.prefecture_code, f.county_code, d.kind, d.state,"  # noqa: S608
            " d.warned_at IS NOT NULL AS warned, CASE WHEN d.met_at IS NOT NULL THEN least(greatest(floor(extract("
            f"epoch FROM d.met_at - d.started_at - d.paused_total) / 60), 0), {COMPLAINT_HISTOGRAM_MINUTES})::int"
            " END AS bucket FROM facts f JOIN complaints_complaint c ON c.ticket_id = f.ticket_id"
            " JOIN sla_deadline d ON d.subject_type_id = %(complaint_type)s AND d.subject_id = c.id"
            f" AND d.kind IN ({', '.join(repr(k) for k in COMPLAINT_CLOCKS)}) WHERE f.complaints > 0)"
        )
        complaint_sums = _complaint_sums()
        parts.append(
            f"complaint_figures AS (SELECT {key_select}, "  # noqa: S608
            f"{', '.join(f'{sql} AS {name}' for name, sql in complaint_sums.items())}"
            f" FROM complaint_clocks GROUP BY {group})"
        )
        histograms += [(kind, "complaint_clocks", "bucket", f"kind = '{kind}'") for kind in COMPLAINT_CLOCKS]
        columns += list(complaint_sums)
        select += [f"coalesce(complaint_figures.{name}, 0)" for name in complaint_sums]
        joins.append(f"LEFT JOIN complaint_figures USING ({', '.join(key_columns)})")
    for name, source, bucket, condition in histograms:
        parts.append(
            f"{name}_buckets AS (SELECT {key_select}, {bucket} AS bucket, count(*) AS n FROM {source}"  # noqa: S608
            f" WHERE {bucket} IS NOT NULL AND {condition} GROUP BY {bucket}, {group})"
        )
        parts.append(
            f"{name}_histogram AS (SELECT {', '.join(key_columns)}, array_agg(bucket ORDER BY bucket) AS minutes,"  # noqa: S608
            f" array_agg(n ORDER BY bucket) AS counts FROM {name}_buckets GROUP BY {', '.join(key_columns)})"
        )
        columns += [f"{name}_minutes", f"{name}_counts"]
        select += [f"coalesce({name}_histogram.{part}, '{{}}')" for part in ("minutes", "counts")]
        joins.append(f"LEFT JOIN {name}_histogram USING ({', '.join(key_columns)})")
    return (
        f"WITH {', '.join(parts)} INSERT INTO {table} ({', '.join(columns)})"  # noqa: S608
        f" SELECT {', '.join(select)} FROM figures {' '.join(joins)}"
    )


_ROLLUPS = [
    (
        RegionDayRollup._meta.db_table,
        _rollup_sql(
            table=RegionDayRollup._meta.db_table,
            keys=["day"],
            levels=True,
            sums=_DAY_SUMS,
            clocks=TICKET_CLOCKS,
            complaints=True,
        ),
    ),
    (
        RegionHourRollup._meta.db_table,
        _rollup_sql(
            table=RegionHourRollup._meta.db_table,
            keys=["day", "hour"],
            levels=True,
            sums=_BREAKDOWN_SUMS,
            clocks=("response",),
            complaints=False,
        ),
    ),
    (
        TechnicianDayRollup._meta.db_table,
        _rollup_sql(
            table=TechnicianDayRollup._meta.db_table,
            keys=["day", "technician_id"],
            levels=False,
            sums=_BREAKDOWN_SUMS,
            clocks=("response",),
            complaints=False,
        ),
    ),
]


def rollup_rebuild(*, days) -> int:
    """Re-derive the region, hour and technician rollup rows of these local days from their facts (delete, then
    insert); returns how many rows were written."""
    days = sorted(set(days))
    complaint_type = ContentType.objects.get_for_model(Complaint).pk
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        # A week at a time: the first build after an upgrade derives every day, and one statement over all of them
        # would sort millions of rows at once.
        for start in range(0, len(days), ROLLUP_DAYS_PER_STATEMENT):
            chunk = days[start : start + ROLLUP_DAYS_PER_STATEMENT]
            for table, sql in _ROLLUPS:
                cursor.execute(f"DELETE FROM {table} WHERE day = ANY(%s::date[])", [chunk])  # noqa: S608 - fixed names
                cursor.execute(sql, {"days": chunk, "complaint_type": complaint_type})
                written += cursor.rowcount
    return written


# ---- Staffing rollup (technicians on duty per hour slot and region) ------------------------------------------------
# Duty periods carry no "changed at": a run re-derives the hour slots since the previous run (open periods grow, and
# going off duty closes a period at that moment) plus the slots of every period added since (by pk, with the same
# allowance for late commits as the events). A period edited by hand far in the past needs manage.py rollup_rebuild.
LOOKBACK_DUTY_PERIODS = 500
HOUR = timedelta(hours=1)

_STAFFING_SQL = f"""
    WITH on_duty AS (
        -- Each period in the window expands to the hour slots it touches; an open one counts up to now. DISTINCT: one
        -- technician's overlapping periods count once.
        SELECT DISTINCT slot, p.technician_id
        FROM dispatch_dutyperiod p
        CROSS JOIN LATERAL generate_series(
            greatest(date_trunc('hour', p.started_at), %(start)s),
            least(date_trunc('hour', coalesce(p.ended_at, %(now)s) - interval '1 microsecond'), %(last)s),
            interval '1 hour') AS slot
        WHERE p.started_at < %(end)s AND p.started_at < %(now)s AND (p.ended_at IS NULL OR p.ended_at > %(start)s)
    ),
    counts_for AS (
        -- The regions a technician counts for: what they cover and everything above it (a county's prefecture and
        -- province), and, as exact rows, the provinces and prefectures they cover as a whole.
        SELECT c.technician_id, x.code, false AS is_exact
        FROM dispatch_technician_coverage c
        JOIN regions_division d ON d.code = c.division_id
        CROSS JOIN LATERAL unnest(d.ancestor_codes || d.code) AS x(code)
        JOIN regions_division r ON r.code = x.code AND r.level IN ('province', 'prefecture', 'county')
        UNION
        SELECT c.technician_id, d.code, true
        FROM dispatch_technician_coverage c
        JOIN regions_division d ON d.code = c.division_id AND d.level IN ('province', 'prefecture')
    )
    INSERT INTO {StaffingHour._meta.db_table} (slot, region_code, is_exact, technicians, technician_ids)
    SELECT slot, '', false, count(*), array_agg(technician_id ORDER BY technician_id) FROM on_duty GROUP BY slot
    UNION ALL
    SELECT o.slot, f.code, f.is_exact, count(*), array_agg(o.technician_id ORDER BY o.technician_id)
    FROM on_duty o JOIN counts_for f ON f.technician_id = o.technician_id
    GROUP BY o.slot, f.code, f.is_exact
"""  # noqa: S608 - the only interpolation is the table name


def _hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def staffing_refresh(*, start: datetime, end: datetime, now) -> int:
    """Re-derive the staffing rows of the hour slots from `start` to `end` (rounded out to whole hours) from the duty
    periods as they are at `now`; returns how many rows were written."""
    start = _hour_floor(start)
    end = _hour_floor(end - timedelta(microseconds=1)) + HOUR
    if end <= start:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        StaffingHour.objects.filter(slot__gte=start, slot__lt=end).delete()
        cursor.execute(_STAFFING_SQL, {"start": start, "end": end, "last": end - HOUR, "now": now})
        return cursor.rowcount


def _merged(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def staffing_sync(*, now) -> int:
    """Bring the staffing rollup up to date with the duty periods (all of them the first time); returns rows written.
    Called by ticket_fact_sync, which holds the rollup lock."""
    cursor, first = RollupCursor.objects.get_or_create(name=STAFFING_CURSOR, defaults={"ran_at": now})
    top = DutyPeriod.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    if first:
        earliest = DutyPeriod.objects.order_by("started_at").values_list("started_at", flat=True).first()
        ranges = [(earliest, now)] if earliest is not None else []
    else:
        ranges = [(_hour_floor(cursor.ran_at) - HOUR, now)]
        for started_at, ended_at in DutyPeriod.objects.filter(
            pk__gt=max(cursor.position - LOOKBACK_DUTY_PERIODS, 0)
        ).values_list("started_at", "ended_at"):
            ranges.append((started_at, min(ended_at or now, now)))
    written = sum(staffing_refresh(start=start, end=end, now=now) for start, end in _merged(ranges) if start < end)
    cursor.position, cursor.ran_at = top, now
    cursor.save(update_fields=["position", "ran_at"])
    return written


def staffing_rebuild(*, now) -> int:
    """Re-derive the whole staffing rollup from every duty period; returns how many rows were written."""
    StaffingHour.objects.all().delete()
    RollupCursor.objects.filter(name=STAFFING_CURSOR).delete()
    return staffing_sync(now=now)


@transaction.atomic
def rollup_rebuild_all(*, now=None) -> tuple[int, int]:
    """Derive every rollup again from all the facts and duty periods (after hand edits or a restore), holding the
    sync's lock so the minute's sync waits; returns (day rollup rows, staffing rows) written."""
    now = now or timezone.now()
    RollupCursor.objects.get_or_create(name=FACT_CURSOR, defaults={"ran_at": now})
    RollupCursor.objects.select_for_update().get(name=FACT_CURSOR)
    days = TicketFact.objects.values_list("day", flat=True).distinct()
    for model in (RegionDayRollup, RegionHourRollup, TechnicianDayRollup):
        model.objects.all().delete()  # days without facts any more (deleted tickets) must not keep their rows
    rows = rollup_rebuild(days=days)
    RollupCursor.objects.update_or_create(name=ROLLUP_CURSOR, defaults={"ran_at": now})
    return rows, staffing_rebuild(now=now)


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


def _demo_shifts(*, technicians: list[Technician], start, end, days: int, rng) -> None:
    """One 10-hour shift a day per demo technician, starting between 07:00 and 12:00, for the staffing figures.

    Written as rows: technician_duty_set only goes on or off duty now (it also moves the live flag and position)."""
    first_day = timezone.localtime(start).date()
    shifts = []
    for technician in technicians:
        for offset in range(days + 1):
            day = first_day + timedelta(days=offset)
            began = timezone.make_aware(datetime(day.year, day.month, day.day, rng.randint(7, 12)))  # noqa: DTZ001
            if start <= began and began + timedelta(hours=10) <= end:
                shifts.append(DutyPeriod(technician=technician, started_at=began, ended_at=began + timedelta(hours=10)))
    DutyPeriod.objects.bulk_create(shifts)


def demo_history_seed(*, tickets: int, start, end, rng) -> int:
    """Create `tickets` demo tickets between `start` and `end` in the served areas through the real ticket services:
    most answered in time, some late (breaches), some waiting for the customer, some cancelled. Returns the count."""
    areas = [a.division for a in ServiceArea.objects.filter(is_active=True).select_related("division")]
    if not areas:
        return 0
    operator, technicians = _demo_staff(areas=areas)
    days = max((end - start).days, 1)
    _demo_shifts(technicians=list(technicians.values()), start=start, end=end, days=days, rng=rng)
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
