"""What the HTTP benchmarks share (bench/intake.py, bench/api.py): gunicorn and a private redis-server as
subprocesses, closed-loop client threads with their latencies, and the CPU each process group used.

Import it after django.setup(): Servers reads the database connection and settings.
"""

import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis
from django.conf import settings
from django.db import connection

from devtools.embedded import redis_server
from dispatch.models import Ticket

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[p - 1] * 1000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(processes: dict[str, list[psutil.Process]]) -> dict[str, float]:
    totals = {}
    for name, group in processes.items():
        total = 0.0
        for process in group:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        totals[name] = total
    machine = psutil.cpu_times()
    totals["machine"] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
    return totals


class Servers:
    """redis-server and gunicorn as subprocesses, each in its own process group, logging into `work_dir`."""

    def __init__(self, *, work_dir: Path, redis_socket: Path, workers: int, env: dict[str, str] | None = None):
        self.work_dir = work_dir
        self.redis_socket = redis_socket
        # As the Procfile's `web`: sync workers, the access log on stdout (here into gunicorn.log).
        self.gunicorn_options = ("--workers", str(workers), "--worker-class", "sync", "--access-logfile", "-")
        # gunicorn reads ./gunicorn.conf.py; its max_requests would replace workers mid-phase, and the CPU of a
        # replaced worker is lost to the per-process accounting below: no recycling in a benchmark.
        self.env = {**os.environ, "WEB_MAX_REQUESTS": "0", **(env or {})}
        self.port = free_port()
        self.processes: dict[str, subprocess.Popen] = {}

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.work_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps its own descriptor
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self.processes[name]

    def start(self) -> None:
        self.processes["redis"] = redis_server(socket_path=self.redis_socket, directory=self.work_dir)
        # The environment carries DATABASE_URL (the scratch database), REDIS_URL (ours) and the keys the launcher set.
        server = self._spawn(
            "gunicorn",
            [sys.executable, "-m", "gunicorn", "config.wsgi", f"--bind=127.0.0.1:{self.port}", *self.gunicorn_options],
        )
        for _ in range(300):
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited with {server.returncode}; see {self.work_dir / 'gunicorn.log'}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"gunicorn did not start listening; see {self.work_dir / 'gunicorn.log'}")

    def broker(self) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(self.redis_socket), db=settings.REDIS_DB_BASE, socket_timeout=5)

    def accounted(self) -> dict[str, list[psutil.Process]]:
        """The processes whose CPU is reported: this client, gunicorn's workers, Redis, the scratch database's
        backends (listed anew each time: CONN_MAX_AGE replaces a worker's connection every 60 s)."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            backends = [row[0] for row in cursor.fetchall()]
        postgres = []
        for pid in backends:
            try:
                postgres.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                continue
        return {
            "client": [psutil.Process()],
            "gunicorn": psutil.Process(self.processes["gunicorn"].pid).children(),
            "postgres": postgres,
            "redis": [psutil.Process(self.processes["redis"].pid)],
        }

    def stop(self) -> None:
        """Stop gunicorn, then Redis (TERM, then KILL after 15 s); safe to call twice."""
        for name in ("gunicorn", "redis"):
            process = self.processes.pop(name, None)
            if process is None:
                continue
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(15)
            # Workers that outlived their master are still in its process group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_phase(name: str, request, clients: list, seconds: float, servers: Servers) -> Phase:
    """Run `request(conn, client)` in a closed loop from one thread per client for `seconds`; collect latencies,
    errors and what each request returned (a ticket number, or None)."""
    phase = Phase(name)
    barrier = threading.Barrier(len(clients) + 1)
    results: list[tuple[list[float], list[str], list[str]]] = []
    deadline = [0.0]

    def client_loop(client) -> None:
        latencies, errors, numbers = [], [], []
        results.append((latencies, errors, numbers))
        # The connection object reopens by itself when gunicorn's sync worker closes it after each response.
        conn = http.client.HTTPConnection("127.0.0.1", servers.port, timeout=30)
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            started = time.perf_counter()
            try:
                number = request(conn, client)
            except (AssertionError, OSError, http.client.HTTPException) as error:
                errors.append(str(error))
                conn.close()
                continue
            latencies.append(time.perf_counter() - started)
            if number:
                numbers.append(number)
        conn.close()

    threads = [threading.Thread(target=client_loop, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    before = cpu_seconds(servers.accounted())
    started = time.perf_counter()
    deadline[0] = started + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - started
    after = cpu_seconds(servers.accounted())
    # A backend that connected during the phase counts from its start, one that left is missing: a small error.
    phase.cpu = {key: (after[key] - before[key]) / phase.seconds for key in after}
    for latencies, errors, numbers in results:
        phase.latencies += latencies
        phase.errors += errors
        phase.numbers += numbers
    return phase


@dataclass
class Rounds:
    """A write endpoint (tickets created) measured beside a trivial one, round after round, and what it left."""

    writes: list[Phase]
    trivial: list[Phase]
    errors: list[str]
    posted: int  # successful writes, each with its ticket number
    tickets: int  # tickets in the database afterwards
    queued: Counter  # messages waiting in the broker, by task name


def run_rounds(
    *, write, trivial, clients: list, servers: Servers, rounds: int, round_seconds: float, warmup_seconds: float
) -> Rounds:
    """Warm up (twice each: every worker imports its code paths, opens its connections and fills its caches), then
    alternate the trivial and the write endpoint for `rounds` rounds, printing each; check no ticket number was
    issued twice."""
    warmup = [
        run_phase(name, request, clients, warmup_seconds, servers)
        for name, request in (("trivial", trivial), ("write", write)) * 2
    ]
    writes, trivials = [], []
    for round_number in range(1, rounds + 1):
        trivials.append(run_phase("trivial", trivial, clients, round_seconds, servers))
        writes.append(run_phase("write", write, clients, round_seconds, servers))
        print(
            f"round {round_number}: {writes[-1].rate:.0f} tickets/s, p95 {writes[-1].percentile(95):.0f} ms; "
            f"trivial {trivials[-1].rate:.0f}/s, p95 {trivials[-1].percentile(95):.0f} ms",
            flush=True,
        )
    phases = warmup + writes + trivials
    errors = [error for phase in phases for error in phase.errors]
    if errors:
        print(f"{len(errors)} errors, first: {errors[:3]}; logs in {servers.work_dir}", file=sys.stderr)
    numbers = [number for phase in phases for number in phase.numbers]
    assert len(set(numbers)) == len(numbers), "a ticket number was issued twice"
    return Rounds(
        writes=writes,
        trivial=trivials,
        errors=errors,
        posted=len(numbers),
        tickets=Ticket.objects.count(),
        queued=Counter(json.loads(message)["headers"]["task"] for message in servers.broker().lrange("celery", 0, -1)),
    )
