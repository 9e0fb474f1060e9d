"""Benchmark ticket creation over the API v1 with integration keys: 32 concurrent clients against gunicorn; a table.

    DATABASE_URL=… REDIS_URL=… .venv/bin/python devtools/embedded.py run -- .venv/bin/python bench/api.py

Creates a scratch database `<name>_bench_api` beside the configured one (catalogue, roles, county 141032 served) and
starts its own redis-server (unix socket in a temporary directory): the API counts requests per key there, and
ticket_create queues the customer's SMS and the dispatch task, which must not reach a broker a development worker
consumes. No worker runs; the messages are counted and dropped. Then gunicorn on the scratch database (sync workers,
2 × CPUs + 1, a free port on 127.0.0.1), and 32 client threads in this process, each with its own integration key
(`Authorization: Bearer lk_…`, scope tickets:create and tickets:read), as 32 phone lines of call-center software:
  * create: `POST /api/v1/tickets` (JSON), a new caller's number on every request, so no two requests share a customer
    row; success is 201 with the ticket;
  * trivial: `GET /api/v1/tickets?status=closed&limit=1`, an empty page behind the same key lookup, scope check, rate
    limit and middleware.
The keys' rate limit (API_KEY_RATE) is set to 100000/min for the run: the limiter runs on every request (one Redis
INCR), but never refuses one. After a warm-up, each round runs trivial then create for ROUND_SECONDS each; medians of
ROUNDS rounds are reported. Every POST must answer 201 and every GET 200; the tickets in the database must equal the
successful POSTs. Latency is from sending the request (connecting included: sync workers close every connection) to
the last byte. Knobs: BENCH_API_WORKERS (gunicorn workers), BENCH_API_SECONDS (per endpoint and round).
"""

import http.client
import itertools
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from devtools.embedded import scratch_database  # noqa: E402

WORK_DIR = Path(tempfile.mkdtemp(prefix="bench_api_"))
REDIS_SOCKET = WORK_DIR / "redis.sock"
RATE = "100000/min"

os.environ["DATABASE_URL"] = scratch_database(os.environ["DATABASE_URL"], "bench_api")
os.environ["REDIS_URL"] = f"unix://{REDIS_SOCKET}"
os.environ["API_KEY_RATE"] = RATE

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.services import role_sync  # noqa: E402
from api.services import integration_key_create  # noqa: E402
from bench.harness import Phase, Rounds, Servers, run_rounds  # noqa: E402
from regions.models import ServiceArea  # noqa: E402
from regions.services import catalogue_load  # noqa: E402

CLIENTS = 32
ROUNDS = 3
SMS_TASK = "dispatch.tasks.notification_send_task"
DISPATCH_TASK = "dispatch.tasks.ticket_dispatch_task"
ROUND_SECONDS = float(os.environ.get("BENCH_API_SECONDS") or 15)
WARMUP_SECONDS = 3.0
WORKERS = int(os.environ.get("BENCH_API_WORKERS") or 2 * (os.cpu_count() or 1) + 1)
COUNTY, TOWN = "141032", "141032100"
CREATE = "/api/v1/tickets"
TRIVIAL = "/api/v1/tickets?status=closed&limit=1"
PHONES = itertools.count(1)  # 139 + 8 digits: a new customer per request (next() on a count is atomic under the GIL)


@dataclass
class Line:
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def _create(conn: http.client.HTTPConnection, line: Line) -> str:
    serial = next(PHONES)
    body = {
        "phone": f"139{serial:08d}",
        "name": "压测",
        "division": TOWN,
        "address_detail": f"幸福小区 {serial} 号楼 1 单元 101",
        "category": "biometric",
    }
    conn.request("POST", CREATE, body=json.dumps(body).encode(), headers=line.headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 201:
        raise AssertionError(f"POST {response.status} {data[:200]!r}")
    return json.loads(data)["number"]


def _trivial(conn: http.client.HTTPConnection, line: Line) -> None:
    conn.request("GET", TRIVIAL, headers=line.headers)
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise AssertionError(f"GET {response.status}")


def _setup() -> list[Line]:
    call_command("migrate", verbosity=0)
    catalogue_load()
    role_sync()
    ServiceArea.objects.create(division_id=COUNTY, source_entry="bench", outcome="exact")
    return [
        Line(token=integration_key_create(name=f"bench line {index:02d}", scopes=["tickets:create", "tickets:read"])[1])
        for index in range(CLIENTS)
    ]


def bench_http(lines: list[Line], servers: Servers) -> Rounds:
    """Run the rounds (bench/harness.py); every 201 must leave exactly one ticket, one queued SMS and one dispatch
    task."""
    return run_rounds(
        write=_create,
        trivial=_trivial,
        clients=lines,
        servers=servers,
        rounds=ROUNDS,
        round_seconds=ROUND_SECONDS,
        warmup_seconds=WARMUP_SECONDS,
    )


def _report(result: Rounds) -> None:
    create, trivial = result.writes, result.trivial
    median = statistics.median

    def latency(phases: list[Phase], p: int) -> str:
        return f"{median(phase.percentile(p) for phase in phases):.1f}"

    def cores(phases: list[Phase]) -> str:
        keys = ("machine", "gunicorn", "postgres", "redis", "client")
        return " / ".join(f"{median(phase.cpu[key] for phase in phases):.2f}" for key in keys)

    def server_ms(phases: list[Phase]) -> str:
        busy = [(p.cpu["gunicorn"] + p.cpu["postgres"] + p.cpu["redis"]) / p.rate * 1000 for p in phases]
        return f"{median(busy):.1f}"

    def equal(count: int) -> str:
        return "met" if count == result.tickets else "MISSED"

    rows = [
        (f"tickets created per second, {CLIENTS} clients", f"{median(p.rate for p in create):,.0f}"),
        ("create p50 (ms)", latency(create, 50)),
        ("create p95 (ms)", latency(create, 95)),
        ("create p99 (ms)", latency(create, 99)),
        (f"trivial requests per second, {CLIENTS} clients", f"{median(p.rate for p in trivial):,.0f}"),
        ("trivial p50 (ms)", latency(trivial, 50)),
        ("trivial p95 (ms)", latency(trivial, 95)),
        ("errors (POST not 201, GET not 200, socket)", f"{len(result.errors)}"),
        ("tickets in the database / 201 answers", f"{result.tickets:,} / {result.posted:,} {equal(result.posted)}"),
        ("SMS queued / tickets", f"{result.queued[SMS_TASK]:,} / {result.tickets:,} {equal(result.queued[SMS_TASK])}"),
        (
            "dispatch tasks queued / tickets",
            f"{result.queued[DISPATCH_TASK]:,} / {result.tickets:,} {equal(result.queued[DISPATCH_TASK])}",
        ),
        ("cores busy, create: machine / gunicorn / postgres / redis / client", cores(create)),
        ("cores busy, trivial: machine / gunicorn / postgres / redis / client", cores(trivial)),
        ("server CPU ms per request, create / trivial", f"{server_ms(create)} / {server_ms(trivial)}"),
    ]
    counts = [sum(len(p.latencies) for p in phases) for phases in (create, trivial)]
    print(
        f"\nmedians of {ROUNDS} rounds of {ROUND_SECONDS:g} s per endpoint; "
        f"{counts[0]:,} create and {counts[1]:,} trivial requests\n"
    )
    print("| measure | median |\n| --- | ---: |")
    for name, value in rows:
        print(f"| {name} | {value} |")


def main() -> None:
    # The launcher forwards SIGTERM: leave through `finally`, which stops gunicorn and Redis.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    lines = _setup()
    print(
        f"PostgreSQL {connection.cursor().connection.server_version}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; scratch database "
        f"{quote(connection.settings_dict['NAME'])}; gunicorn {WORKERS} sync workers; {CLIENTS} clients, one key each",
        flush=True,
    )
    servers = Servers(work_dir=WORK_DIR, redis_socket=REDIS_SOCKET, workers=WORKERS)
    try:
        servers.start()
        result = bench_http(lines, servers)
    finally:
        servers.stop()
    _report(result)
    if not result.errors:
        shutil.rmtree(WORK_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
