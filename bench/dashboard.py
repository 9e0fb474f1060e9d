"""Benchmark the managers' dashboard pages over a large history; prints a table. Not a test.

    DATABASE_URL=… REDIS_URL=… .venv/bin/python devtools/embedded.py run -- .venv/bin/python bench/dashboard.py \
        --tickets 1000000

Creates a scratch database `<name>_bench_dashboard` beside the configured one, migrates it, loads the region
catalogue and fixtures/service_areas.txt, then seeds with bulk SQL (INSERT … SELECT generate_series, no services):
  * technicians (TECHS_PER_COUNTY per served county, each with a user and a coverage row) and their duty periods
    (one 10-hour shift a day, start hour spread over the day);
  * N tickets over the last DAYS local days (Asia/Shanghai), hours weighted like dashboard.services.HOURLY_WEIGHTS,
    counties uniform over the served ones: 5 % cancelled, 0.3 % still open, response met in 1–25 min for 86 % and
    late by up to an hour for 14 %, arrival 7 % and resolution 3 % breached, 8 % paused 10–120 min, 2 % complained,
    30 % first inspection free, 12 % insured;
  * their ticket clocks in sla_deadline (response, arrival, resolution for every ticket not cancelled: 3 per ticket),
    the complaints with their acknowledge / decision clocks, and the dashboard_ticketfact row of every ticket, exactly
    as dashboard.services.ticket_fact_sync would have written it;
  * the rollups the pages read, by the job's own code: dashboard.services.rollup_rebuild (region × day, region × hour
    and technician × day rows, re-derived from the facts) and staffing_rebuild (technicians on duty
    per hour slot and region, from the duty periods).
Then renders the main views through Django's test Client signed in as a national manager, REPEATS times each after
one warm-up, and prints p50/p95 ms, the number of queries, and the slowest queries of each view (EXPLAIN ANALYZE).
Target (issue 7): p95 <= 300 ms per page at 1,000,000 tickets.
Knobs: --tickets N (default 100,000), --repeats R (default 10), --keep (reuse the seeded database: skip seeding).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from devtools.embedded import scratch_database  # noqa: E402

PARSER = argparse.ArgumentParser()
PARSER.add_argument("--tickets", type=int, default=100_000)
PARSER.add_argument("--repeats", type=int, default=10)
PARSER.add_argument("--keep", action="store_true", help="reuse the database seeded by the previous run")
ARGS = PARSER.parse_args()

if ARGS.keep:
    os.environ["DATABASE_URL"] = (
        os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        + "/"
        + (os.environ["DATABASE_URL"].rsplit("/", 1)[1] + "_bench_dashboard")
    )
else:
    os.environ["DATABASE_URL"] = scratch_database(os.environ["DATABASE_URL"], "bench_dashboard")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.services import role_sync  # noqa: E402
from complaints.models import Complaint  # noqa: E402
from dashboard.models import ROLLUP_CURSOR, RegionDayRollup, RollupCursor  # noqa: E402
from dashboard.services import HOURLY_WEIGHTS, rollup_rebuild, staffing_rebuild  # noqa: E402
from dispatch.models import Ticket  # noqa: E402
from regions.models import Division, ServiceArea  # noqa: E402
from regions.services import catalogue_load, service_area_load  # noqa: E402

DAYS = 60
TECHS_PER_COUNTY = 4
TARGET_MS = 300.0
ZONE = settings.TIME_ZONE


def _served_counties() -> list[Division]:
    served = list(ServiceArea.objects.filter(is_active=True).values_list("division_id", flat=True))
    counties = Division.objects.filter(level=Division.Level.COUNTY).filter(
        **{"code__in": served}
    ) | Division.objects.filter(level=Division.Level.COUNTY, ancestor_codes__overlap=served)
    return list(counties.distinct().order_by("code"))


def _sql(label: str, sql: str, params=None) -> None:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        rows = cursor.rowcount
    print(f"  {label:<28} {rows:>10,} rows {time.perf_counter() - started:7.1f} s", flush=True)


def seed(tickets: int) -> None:
    call_command("migrate", verbosity=0)
    catalogue_load()
    service_area_load(text=(ROOT / "fixtures" / "service_areas.txt").read_text(encoding="utf-8"))
    role_sync()
    counties = _served_counties()
    assert counties, "no served county"
    manager = get_user_model().objects.create_user(username="bench_manager", password="x")  # noqa: S106
    manager.groups.set([Group.objects.get(name="manager")])
    ticket_type = ContentType.objects.get_for_model(Ticket).pk
    complaint_type = ContentType.objects.get_for_model(Complaint).pk
    now = timezone.now()
    print(f"seeding {tickets:,} tickets over {len(counties)} counties, {DAYS} days", flush=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_county (idx int PRIMARY KEY, code text, prov text, pref text)")
        cursor.executemany(
            "INSERT INTO bench_county VALUES (%s, %s, %s, %s)",
            [
                (i, c.code, (c.ancestor_codes or [c.code])[0], (c.ancestor_codes[1:2] or [""])[0])
                for i, c in enumerate(counties)
            ],
        )
        total = sum(HOURLY_WEIGHTS)
        edges, low = [], 0.0
        for hour, weight in enumerate(HOURLY_WEIGHTS):
            edges.append((hour, low / total, (low + weight) / total))
            low += weight
        cursor.execute("CREATE TEMP TABLE bench_hour (hour int, lo float8, hi float8)")
        cursor.executemany("INSERT INTO bench_hour VALUES (%s, %s, %s)", edges)
    n_counties = len(counties)
    # Staff: a user, a technician and a coverage row per (county, k).
    _sql(
        "users",
        """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                                  date_joined)
           SELECT '!', false, 'bench_tech_' || c.idx || '_' || k, '', '', '', false, true, now()
           FROM bench_county c CROSS JOIN generate_series(0, %s - 1) k""",
        [TECHS_PER_COUNTY],
    )
    _sql(
        "technicians",
        """INSERT INTO dispatch_technician (name, phone, capacity, rating, is_active, is_on_duty, user_id)
           SELECT '师傅' || u.id, '+86139' || lpad(u.id::text, 8, '0'), 2, 4.8, true, false, u.id
           FROM auth_user u WHERE u.username LIKE 'bench_tech_%%'""",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """CREATE TEMP TABLE bench_tech AS
               SELECT c.idx AS cidx, NULLIF(split_part(u.username, '_', 4), '')::int AS k, t.id AS technician_id, c.code
               FROM dispatch_technician t JOIN auth_user u ON u.id = t.user_id
               JOIN bench_county c ON c.idx = NULLIF(split_part(u.username, '_', 3), '')::int"""
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_tech (cidx, k)")
    _sql(
        "coverage",
        """INSERT INTO dispatch_technician_coverage (technician_id, division_id)
           SELECT technician_id, code FROM bench_tech""",
    )
    _sql(
        "duty periods",
        """INSERT INTO dispatch_dutyperiod (technician_id, started_at, ended_at)
           SELECT t.technician_id, s, s + interval '10 hours'
           FROM bench_tech t CROSS JOIN generate_series(0, %s) d
           CROSS JOIN LATERAL (SELECT ((current_date - d) + make_interval(hours => (t.technician_id %% 24)::int))
                               AT TIME ZONE %s AS s) x
           WHERE s < now()""",
        [DAYS, ZONE],
    )
    # One customer and one address per county: the pages never read them beyond the ticket's division.
    # A customer per ticket (one first free inspection per customer), one address per county: the pages never read
    # them beyond the ticket's division.
    _sql(
        "customers",
        f"""INSERT INTO dispatch_customer (id, phone_index, phone, name, created_at)
            SELECT i, 'bench' || i, '', '', now() FROM generate_series(1, {int(tickets)}) i""",  # noqa: S608 - ints and constants only
    )
    _sql(
        "addresses",
        """INSERT INTO dispatch_address (detail, created_at, division_id, customer_id)
           SELECT 'bench ' || idx, now(), code, 1 FROM bench_county""",
    )
    # Per-ticket random draws, then the derived facts (all in one narrow unlogged table).
    _sql(
        "draws",
        f"""CREATE UNLOGGED TABLE bench_draw AS
            SELECT i AS id, random() AS r_day, random() AS r_hour, random() AS r_min, random() AS r_county,
                   random() AS r_tech, random() AS r_status, random() AS r_resp, random() AS r_arr, random() AS r_res,
                   random() AS r_pause, random() AS r_compl, random() AS r_misc
            FROM generate_series(1, {int(tickets)}) i""",  # noqa: S608 - ints and constants only
    )
    _sql(
        "facts (staging)",
        f"""CREATE UNLOGGED TABLE bench_gen AS
            SELECT d.id, ts AS created_at, (ts AT TIME ZONE %s)::date AS day, h.hour, c.code AS county,
                   c.prov, c.pref, c.idx AS cidx, st.status,
                   CASE WHEN st.status = 'cancelled' THEN NULL ELSE t.technician_id END AS technician_id,
                   CASE WHEN st.status = 'cancelled' THEN NULL
                        WHEN d.r_resp < 0.86 THEN 60 + (d.r_resp * 1700)::int
                        ELSE 1800 + ((d.r_resp - 0.86) / 0.14 * 3600)::int END AS response_seconds,
                   CASE WHEN st.status IN ('cancelled', 'en_route') THEN NULL
                        WHEN d.r_arr < 0.93 THEN 900 + (d.r_arr * 2500)::int
                        ELSE 3600 + ((d.r_arr - 0.93) / 0.07 * 3600)::int END AS arrival_seconds,
                   CASE WHEN st.status IN ('cancelled', 'en_route') THEN NULL
                        WHEN d.r_res < 0.97 THEN 3600 + (d.r_res * 7000)::int
                        ELSE 10800 + ((d.r_res - 0.97) / 0.03 * 7200)::int END AS resolution_seconds,
                   CASE WHEN d.r_pause < 0.08 THEN 600 + (d.r_pause / 0.08 * 6600)::int ELSE 0 END AS paused_seconds,
                   (d.r_compl < 0.02 AND st.status <> 'en_route')::int AS complaints,
                   d.r_misc < 0.3 AS fee_waived,
                   d.r_misc BETWEEN 0.3 AND 0.42 AND st.status IN ('completed', 'closed') AS insured
            FROM bench_draw d
            JOIN bench_hour h ON d.r_hour >= h.lo AND d.r_hour < h.hi
            JOIN bench_county c ON c.idx = LEAST(floor(d.r_county * {n_counties})::int, {n_counties - 1})
            JOIN bench_tech t ON t.cidx = c.idx
                             AND t.k = LEAST(floor(d.r_tech * {TECHS_PER_COUNTY})::int, {TECHS_PER_COUNTY - 1})
            CROSS JOIN LATERAL (
                SELECT ((current_date - 1 - floor(d.r_day * {DAYS})::int) + make_interval(hours => h.hour,
                        mins => floor(d.r_min * 60)::int)) AT TIME ZONE %s AS ts) x
            CROSS JOIN LATERAL (
                SELECT CASE WHEN d.r_status < 0.05 THEN 'cancelled' WHEN d.r_status < 0.053 THEN 'en_route'
                            WHEN d.r_status < 0.75 THEN 'closed' ELSE 'completed' END AS status) st""",  # noqa: S608 - ints and constants only
        [ZONE, ZONE],
    )
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE bench_gen ADD PRIMARY KEY (id)")
    _sql(
        "tickets",
        """INSERT INTO dispatch_ticket (id, number, channel, category, lock_brand, lock_model, urgency, status,
                                        status_before_wait, status_changed_at, created_at, accepted_at, responded_at,
                                        en_route_at, on_site_at, completed_at, closed_at, cancelled_at,
                                        inspection_fee_waived, fee_waiver_reason, notes, address_id, customer_id,
                                        division_id, technician_id, dispatch_note, needs_manual_dispatch, parts,
                                        work_done, fee)
           SELECT g.id, 'B' || lpad(g.id::text, 9, '0'), 'phone',
                  (ARRAY['locked_out', 'biometric', 'power', 'mechanical'])[1 + g.id %% 4], '', '', 'normal',
                  g.status, '', g.created_at + interval '3 hours', g.created_at,
                  g.created_at + make_interval(secs => g.response_seconds / 2),
                  g.created_at + make_interval(secs => g.response_seconds + g.paused_seconds),
                  g.created_at + make_interval(secs => g.response_seconds + g.paused_seconds + 120),
                  g.created_at + make_interval(secs => g.arrival_seconds + g.paused_seconds),
                  g.created_at + make_interval(secs => g.resolution_seconds + g.paused_seconds),
                  CASE WHEN g.status = 'closed' THEN g.created_at + interval '1 day' END,
                  CASE WHEN g.status = 'cancelled' THEN g.created_at + interval '10 minutes' END,
                  g.fee_waived, '', '', a.id, g.id, g.county, g.technician_id, '', false, '', '',
                  CASE WHEN g.status IN ('completed', 'closed') THEN 80 + g.id %% 200 END
           FROM bench_gen g JOIN dispatch_address a ON a.division_id = g.county""",
    )
    # Ticket clocks: response 30 min, arrival 60 min, resolution 3 h targets; met / breached / pending / cancelled.
    for kind, target in (("response", 1800), ("arrival", 3600), ("resolution", 10800)):
        seconds = f"g.{kind}_seconds"
        _sql(
            f"deadlines {kind}",
            f"""INSERT INTO sla_deadline (subject_type_id, subject_id, kind, cycle, generation, state, division_code,
                                          urgency, target, is_due_fixed, started_at, paused_total, due_at, met_at,
                                          breached_at, warned_at)
                SELECT %s, g.id, %s, 1, 1, s.state, g.county, 'normal', make_interval(secs => {target}), false,
                       g.created_at, make_interval(secs => g.paused_seconds),
                       g.created_at + make_interval(secs => {target} + g.paused_seconds),
                       CASE WHEN {seconds} IS NOT NULL
                            THEN g.created_at + make_interval(secs => {seconds} + g.paused_seconds) END,
                       CASE WHEN s.state = 'breached'
                            THEN g.created_at + make_interval(secs => {target} + g.paused_seconds) END,
                       CASE WHEN {seconds} > {target} * 5 / 6
                            THEN g.created_at + make_interval(secs => {target} * 5 / 6 + g.paused_seconds) END
                FROM bench_gen g
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN g.status = 'cancelled' THEN 'cancelled'
                                WHEN {seconds} IS NULL THEN 'pending'
                                WHEN {seconds} > {target} THEN 'breached' ELSE 'met' END AS state) s""",  # noqa: S608 - ints and constants only
            [ticket_type, kind],
        )
    _sql(
        "complaints",
        """INSERT INTO complaints_complaint (channel, category, description, remedy_requested, status,
                                             status_changed_at, filed_at, is_escalated, ticket_id)
           SELECT 'phone', (ARRAY['late_no_show', 'attitude', 'quality', 'price'])[1 + g.id %% 4], 'bench', '',
                  CASE WHEN g.created_at > now() - interval '3 days' THEN 'filed' ELSE 'closed' END,
                  g.created_at + interval '2 days', g.created_at + interval '1 day', false, g.id
           FROM bench_gen g WHERE g.complaints > 0""",
    )
    for kind, target, met in (("complaint_acknowledge", 3600, 1500), ("complaint_decision", 172800, 86400)):
        _sql(
            f"deadlines {kind}",
            """INSERT INTO sla_deadline (subject_type_id, subject_id, kind, cycle, generation, state, division_code,
                                          urgency, target, is_due_fixed, started_at, paused_total, due_at, met_at,
                                          breached_at)
                SELECT %s, c.id, %s, 1, 1, CASE WHEN c.id %% 10 = 0 THEN 'breached' ELSE 'met' END, '', 'normal',
                       make_interval(secs => %s), false, c.filed_at, interval '0',
                       c.filed_at + make_interval(secs => %s),
                       c.filed_at + make_interval(secs => CASE WHEN c.id %% 10 = 0 THEN %s * 1.5 ELSE %s END),
                       CASE WHEN c.id %% 10 = 0 THEN c.filed_at + make_interval(secs => %s) END
                FROM complaints_complaint c""",
            [complaint_type, kind, target, target, target, met, target],
        )
    _sql(
        "ticket facts",
        """INSERT INTO dashboard_ticketfact (ticket_id, created_at, day, hour, province_code, prefecture_code,
                                             county_code, technician_id, status, is_open, is_cancelled, is_completed,
                                             inspection_fee_waived, insurance_sold,
                                             response_state, response_seconds, response_warned,
                                             arrival_state, arrival_seconds, arrival_warned,
                                             resolution_state, resolution_seconds, resolution_warned,
                                             paused_seconds, breaches, complaints, refreshed_at)
           SELECT g.id, g.created_at, g.day, g.hour, g.prov, g.pref, g.county, g.technician_id, g.status,
                  g.status = 'en_route', g.status = 'cancelled', g.status IN ('completed', 'closed'),
                  g.fee_waived, g.insured,
                  r.state, g.response_seconds, coalesce(g.response_seconds > 1500, false),
                  a.state, g.arrival_seconds, coalesce(g.arrival_seconds > 3000, false),
                  s.state, g.resolution_seconds, coalesce(g.resolution_seconds > 9000, false),
                  g.paused_seconds,
                  (r.state = 'breached')::int + (a.state = 'breached')::int + (s.state = 'breached')::int,
                  g.complaints, %s
           FROM bench_gen g
           JOIN sla_deadline r ON r.subject_type_id = %s AND r.subject_id = g.id AND r.kind = 'response'
           JOIN sla_deadline a ON a.subject_type_id = %s AND a.subject_id = g.id AND a.kind = 'arrival'
           JOIN sla_deadline s ON s.subject_type_id = %s AND s.subject_id = g.id AND s.kind = 'resolution'""",
        [now, ticket_type, ticket_type, ticket_type],
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_draw, bench_gen")
        for table in ("dispatch_ticket", "dispatch_customer"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
    _sql("vacuum analyze", "VACUUM ANALYZE")
    fill_rollups(now)
    _sql("vacuum analyze", "VACUUM ANALYZE")
    print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)


def fill_rollups(now) -> None:
    """Derive the rollups from the seeded facts and duty periods with the rollup job's own functions."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT day FROM dashboard_ticketfact ORDER BY day")
        days = [row[0] for row in cursor.fetchall()]
    started = time.perf_counter()
    written = rollup_rebuild(days=days)
    RollupCursor.objects.update_or_create(name=ROLLUP_CURSOR, defaults={"ran_at": now})
    print(f"  {'rollups (region, hour, tech)':<28} {written:>10,} rows {time.perf_counter() - started:7.1f} s")
    started = time.perf_counter()
    written = staffing_rebuild(now=now)
    print(f"  {'rollup (staffing)':<28} {written:>10,} rows {time.perf_counter() - started:7.1f} s", flush=True)


def _pages() -> list[tuple[str, str]]:
    today = timezone.localdate()
    end = today - timedelta(days=1)
    week = f"start={end - timedelta(days=6)}&end={end}"
    month = f"start={end - timedelta(days=29)}&end={end}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT province_code FROM dashboard_ticketfact GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
        province = cursor.fetchone()[0]
        cursor.execute("SELECT technician_id FROM dashboard_ticketfact WHERE technician_id IS NOT NULL LIMIT 1")
        technician = cursor.fetchone()[0]
    return [
        ("home national 7 d", f"/manager/?{week}"),
        ("home national 30 d", f"/manager/?{month}"),
        (f"home province {province} 30 d", f"/manager/?{month}&region={province}"),
        ("breaches national 30 d", f"/manager/breaches/?{month}"),
        ("technician 30 d", f"/manager/technicians/{technician}/?{month}"),
        ("drill response_breached 30 d", f"/manager/tickets/?{month}&figure=response_breached"),
        ("drill all, page 50, 30 d", f"/manager/tickets/?{month}&figure=all&page=50"),
    ]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bench_pages(repeats: int) -> list[dict]:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(get_user_model().objects.get(username="bench_manager"))
    results = []
    for label, url in _pages():
        response = client.get(url)  # warm-up (and the status check)
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        slowest = sorted(queries.captured_queries, key=lambda q: float(q["time"]), reverse=True)[:3]
        results.append(
            {
                "label": label,
                "url": url,
                "p50": statistics.median(times),
                "p95": _percentile(times, 0.95),
                "queries": len(queries.captured_queries),
                "slowest": [(float(q["time"]) * 1000, q["sql"]) for q in slowest],
            }
        )
        print(f"  {label}: p50 {results[-1]['p50']:.0f} ms", flush=True)
    return results


def main() -> None:
    if ARGS.keep:
        call_command("migrate", verbosity=0)
        if not RegionDayRollup.objects.exists():  # seeded before the rollups existed
            fill_rollups(timezone.now())
            _sql("vacuum analyze", "VACUUM ANALYZE")
    else:
        seed(ARGS.tickets)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dashboard_ticketfact")
        facts = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM sla_deadline")
        deadlines = cursor.fetchone()[0]
    print(f"\n{facts:,} tickets (facts), {deadlines:,} deadlines; {ARGS.repeats} renders per page after a warm-up")
    results = bench_pages(ARGS.repeats)
    print(f"\n| {'page':<34} | {'p50 ms':>7} | {'p95 ms':>7} | {'queries':>7} | {'p95 ≤ 300 ms':<12} |")
    print(f"|{'-' * 36}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 14}|")
    for r in results:
        ok = "yes" if r["p95"] <= TARGET_MS else "NO"
        print(f"| {r['label']:<34} | {r['p50']:>7.0f} | {r['p95']:>7.0f} | {r['queries']:>7} | {ok:<12} |")
    print("\nslowest queries per page (ms, from one more render):")
    for r in results:
        print(f"  {r['label']}")
        for ms, sql in r["slowest"]:
            print(f"    {ms:7.1f}  {' '.join(sql.split())[:220]}")


if __name__ == "__main__":
    main()
