"""Load and soak test: 200 operators and 1,000 technicians against the app started the production way; prints a table.

    DATABASE_URL=… REDIS_URL=… .venv/bin/python devtools/embedded.py run -- .venv/bin/python bench/load.py --minutes 10
    .venv/bin/python devtools/embedded.py run -- .venv/bin/python bench/load.py --minutes 1      # embedded PostgreSQL

What it does, on loopback only:
  * a scratch database `<name>_bench_load` beside the configured one, and its own redis-server (unix socket in a
    temporary directory), so no development worker sees the load's tasks;
  * `devtools/production.py` against them — bootstrap, collectstatic, then gunicorn with gunicorn.conf.py, the worker,
    the webhooks worker, the tick worker and beat, exactly as README.md's "Production" section starts the app
    (DEBUG off, JSON logs);
  * 200 operator and 1,000 technician accounts (technicians on duty in 20 served counties, every skill, capacity 2),
    each signed in through a session row written here (1,200 password hashes through the login form would only
    measure PBKDF2);
  * the virtual users, in one asyncio event loop (no locust: 1,200 mostly idle users are cheap as coroutines, and the
    harness needs nothing beyond the standard library; every request opens its own connection, as gunicorn's sync
    workers close it after each response):
      operator:   the board's table fragment every 5 s (as htmx polls it), a caller lookup every 60 s, a new ticket
                  every 120 s (POST /dispatch/console/, a new caller each time);
      technician: the offers fragment every 10 s (as the phone polls it, sending back the stamp of the last lists it
                  got, so an unchanged list is answered 204: dispatch/live.py); an offer seen is accepted, and each
                  later poll moves the job one step (responded, en route, on site) and then completes it;
    each user starts at a random moment of the first poll period, and waits its period ± 20 % between actions;
  * --warmup seconds of load (30) that are not counted, then --minutes measured; it prints, per endpoint: requests,
    errors (unexpected status, timeout of 30 s, or a console POST that did not create a ticket), error rate, p50,
    p95, max (ms, from opening the connection to the last byte); and for each process of the app and for this load
    client: RSS at the start, the middle and the end of the measured window, the growth, and the CPU it used
    meanwhile. gunicorn replaces its workers after max_requests, so the RSS target is checked on each role's mean
    (master, workers, ...) over the window, and on each process that lived through it over the second half (a Celery
    pool process that runs its first task in the window grows by its imports once; a leak keeps growing).
Targets (issue 9): 0 errors, p95 <= 250 ms on every endpoint, RSS growth <= 20 %.
PostgreSQL is the configured server (shared with whatever else runs there): its CPU is not attributed.
"""

import argparse
import asyncio
import contextlib
import os
import random
import re
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from devtools.embedded import redis_server, scratch_database  # noqa: E402

HOST = "127.0.0.1"
TIMEOUT = 30.0
PASSWORD_HASH = "!"  # noqa: S105 - unusable: these accounts are signed in through their session rows only


@dataclass
class Endpoint:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def record(self, ms: float, ok: bool, why: str = "") -> None:
        self.latencies.append(ms)
        if not ok:
            self.errors += 1
            if len(self.error_samples) < 3:
                self.error_samples.append(why)


STATS: dict[str, Endpoint] = defaultdict(Endpoint)
MEASURING = False  # set once the warm-up is over
LIVE_ANSWERS: dict[int, int] = defaultdict(int)  # technician polls answered with the lists (200) / unchanged (204)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


async def _http(
    port: int, method: str, path: str, *, cookie: str, form: dict | None = None, htmx: bool = False, stamp: str = ""
):
    """One request on a new connection; return (status, Location header, body text)."""
    body = urlencode(form).encode() if form is not None else b""
    head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", f"Cookie: {cookie}", "Connection: close"]
    if htmx:
        head.append("HX-Request: true")
    if stamp:
        head.append(f"X-Live-Stamp: {stamp}")  # what static/js/technician.js sends back with the offers poll
    if form is not None:
        head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    header_block, _, payload = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    location = next((line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("location:")), "")
    return status, location, payload.decode("utf-8", "replace")


async def _call(
    name: str, port: int, method: str, path: str, *, expect: int | tuple[int, ...], location: str = "", **kwargs
):
    """Time one request into STATS[name] (once the warm-up is over); return (status, location, body), or None when
    it failed outright. `location`: a redirect must point there, or the request counts as an error."""
    started = time.perf_counter()
    try:
        status, where, body = await asyncio.wait_for(_http(port, method, path, **kwargs), TIMEOUT)
    except (TimeoutError, OSError, ValueError, IndexError) as error:
        if MEASURING:
            STATS[name].record((time.perf_counter() - started) * 1000, False, f"{type(error).__name__}: {error}")
        return None
    if MEASURING:
        ok = status in (expect if isinstance(expect, tuple) else (expect,)) and location in where
        STATS[name].record((time.perf_counter() - started) * 1000, ok, f"{status} {where}")
    return status, where, body


def _cookie(session_key: str, csrf: str) -> str:
    return f"sessionid={session_key}; csrftoken={csrf}"


async def _pause(period: float, deadline: float) -> bool:
    """Wait period ± 20 %; False once the run is over."""
    await asyncio.sleep(period * random.uniform(0.8, 1.2))
    return time.monotonic() < deadline


async def operator(port: int, session_key: str, towns: list[str], counter, deadline: float) -> None:
    csrf = secrets.token_hex(16)  # 32 characters: Django takes an unmasked secret equal to the cookie
    cookie = _cookie(session_key, csrf)
    await asyncio.sleep(random.uniform(0, 5))
    next_lookup = time.monotonic() + random.uniform(0, 60)
    next_ticket = time.monotonic() + random.uniform(0, 120)
    while time.monotonic() < deadline:
        await _call(
            "operator GET board table", port, "GET", "/dispatch/board/table", cookie=cookie, expect=200, htmx=True
        )
        now = time.monotonic()
        if now >= next_lookup:
            next_lookup = now + 60
            phone = f"137{next(counter):08d}"
            await _call(
                "operator GET caller lookup",
                port,
                "GET",
                f"/dispatch/console/?phone={phone}",
                cookie=cookie,
                expect=200,
            )
        if now >= next_ticket:
            next_ticket = now + 120
            form = {
                "csrfmiddlewaretoken": csrf,
                "phone": f"139{next(counter):08d}",
                "division": random.choice(towns),
                "address_detail": "建设路 12 号",
                "category": random.choice(["biometric", "power", "mechanical"]),
            }
            # A 200 is the form again, with an error: no ticket was created.
            await _call(
                "operator POST new ticket",
                port,
                "POST",
                "/dispatch/console/",
                cookie=cookie,
                form=form,
                expect=302,
                location="/dispatch/tickets/",
            )
        if not await _pause(5, deadline):
            return


async def technician(port: int, session_key: str, deadline: float) -> None:
    csrf = secrets.token_hex(16)
    cookie = _cookie(session_key, csrf)
    jobs: dict[str, int] = {}  # job number -> next step index
    steps = ("responded", "en_route", "on_site", "complete")
    stamp = ""  # of the last lists received: the poll is answered 204 while they are current (dispatch/live.py)
    await asyncio.sleep(random.uniform(0, 10))
    while time.monotonic() < deadline:
        result = await _call(
            "technician GET offers", port, "GET", "/tech/live", cookie=cookie, expect=(200, 204), htmx=True, stamp=stamp
        )
        if result and MEASURING:
            LIVE_ANSWERS[result[0]] += 1
        if result and result[0] == 200:
            found = re.search(r'data-live-stamp="([^"]*)"', result[2])
            stamp = found.group(1) if found else ""
            for offer_id in re.findall(r'data-offer="(\d+)"', result[2])[:1]:
                accepted = await _call(
                    "technician POST accept offer",
                    port,
                    "POST",
                    f"/tech/offers/{offer_id}/accept",
                    cookie=cookie,
                    form={"csrfmiddlewaretoken": csrf},
                    expect=302,
                )
                match = accepted and re.search(r"/tech/jobs/([^/]+)/$", accepted[1])
                if match:
                    jobs[match.group(1)] = 0
        for number, index in list(jobs.items()):
            step = steps[index]
            if step == "complete":
                form = {"csrfmiddlewaretoken": csrf, "work_done": "更换电池", "labour_fee": "80", "parts_fee": "20"}
                await _call(
                    "technician POST complete",
                    port,
                    "POST",
                    f"/tech/jobs/{number}/complete",
                    cookie=cookie,
                    form=form,
                    expect=302,
                )
                del jobs[number]
            else:
                form = {"csrfmiddlewaretoken": csrf, "to": step}
                await _call(
                    "technician POST status",
                    port,
                    "POST",
                    f"/tech/jobs/{number}/step",
                    cookie=cookie,
                    form=form,
                    expect=302,
                )
                jobs[number] = index + 1
        if not await _pause(10, deadline):
            return


def _accounts(operators: int, technicians: int) -> tuple[list[str], list[str], list[str]]:
    """Create the accounts, technicians and sessions in the scratch database; return session keys and town codes."""
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group

    from accounts.roles import Role
    from dispatch.models import Skill, Technician, Ticket
    from regions.models import Division, ServiceArea

    User = get_user_model()
    counties = []
    for area in ServiceArea.objects.filter(is_active=True, division__level="county").order_by("division_id"):
        town = Division.objects.filter(parent_id=area.division_id).order_by("code").first()
        if town:
            counties.append((area.division, town.code))
        if len(counties) == 20:
            break
    assert counties, "no served county with towns: did bootstrap load fixtures/service_areas.txt?"
    users = User.objects.bulk_create(
        [User(username=f"load_operator_{i}", password=PASSWORD_HASH) for i in range(operators)]
        + [User(username=f"load_technician_{i}", password=PASSWORD_HASH) for i in range(technicians)]
    )
    operator_users, technician_users = users[:operators], users[operators:]
    through = User.groups.through
    operator_group = Group.objects.get(name=Role.OPERATOR)
    technician_group = Group.objects.get(name=Role.TECHNICIAN)
    through.objects.bulk_create(
        [through(user_id=u.pk, group_id=operator_group.pk) for u in operator_users]
        + [through(user_id=u.pk, group_id=technician_group.pk) for u in technician_users]
    )
    skills = [
        Skill.objects.get_or_create(code=code, defaults={"name": label, "kind": Skill.Kind.CATEGORY})[0]
        for code, label in Ticket.Category.choices
    ]
    profiles = Technician.objects.bulk_create(
        [
            Technician(user=u, name=f"师傅{i}", phone=f"+86136{i:08d}", capacity=2, is_on_duty=True)
            for i, u in enumerate(technician_users)
        ]
    )
    Technician.coverage.through.objects.bulk_create(
        [
            Technician.coverage.through(technician_id=t.pk, division_id=counties[i % len(counties)][0].pk)
            for i, t in enumerate(profiles)
        ]
    )
    Technician.skills.through.objects.bulk_create(
        [Technician.skills.through(technician_id=t.pk, skill_id=s.pk) for t in profiles for s in skills]
    )
    store = import_module(settings.SESSION_ENGINE).SessionStore
    backend = "accounts.backends.RoleModelBackend"

    def session_for(user) -> str:
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        return session.session_key

    return (
        [session_for(u) for u in operator_users],
        [session_for(u) for u in technician_users],
        [town for _, town in counties],
    )


def _label(process: psutil.Process) -> str:
    command = " ".join(process.cmdline())
    for marker, name in (
        ("gunicorn", "gunicorn"),
        ("--queues=sla_tick", "tick"),
        ("--queues=webhooks", "hooks"),
        ("--queues=celery", "worker"),
        (" beat", "beat"),
    ):
        if marker in command:
            return name
    return process.name()


def _snapshot(root: psutil.Process) -> dict[int, tuple[str, int, float]]:
    """pid -> (role, RSS bytes, CPU seconds) for every process of the app, and for this load client."""
    processes = {}
    for process in [*root.children(recursive=True), psutil.Process()]:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.name() == "sh":
                continue
            times = process.cpu_times()
            label = "load client" if process.pid == os.getpid() else _label(process)
            # Procfile commands are exec'd: the gunicorn master and the celery main processes are the script's
            # children, gunicorn's workers and the prefork pool are theirs.
            if label == "gunicorn":
                label = "gunicorn master" if process.ppid() == root.pid else "gunicorn worker"
            elif label == "worker" and process.ppid() != root.pid:
                label = "worker pool"
            processes[process.pid] = (label, process.memory_info().rss, times.user + times.system)
    return processes


def _percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def _report(seconds: float, snapshots: tuple[dict, dict, dict], loads: tuple, args) -> bool:
    start, mid, end = snapshots
    print(
        f"\nLoad: {args.operators} operators, {args.technicians} technicians; {seconds / 60:.1f} min measured after "
        f"{args.warmup} s of warm-up; {os.cpu_count()} CPUs; load average {loads[0]:.1f} at the start, "
        f"{loads[1]:.1f} at the end"
    )
    print("\n| endpoint | requests | errors | error rate | p50 ms | p95 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    passed = True
    for name in sorted(STATS):
        stat = STATS[name]
        p95 = _percentile(stat.latencies, 95)
        passed &= stat.errors == 0 and p95 <= 250
        count = len(stat.latencies)
        print(
            f"| {name} | {count:,} | {stat.errors:,} | {100 * stat.errors / max(count, 1):.2f} % | "
            f"{_percentile(stat.latencies, 50):.0f} | {p95:.0f} | {max(stat.latencies):.0f} |"
        )
    total = sum(len(s.latencies) for s in STATS.values())
    offered = args.operators / 5 + args.technicians / 10
    print(f"\n{total:,} requests, {total / seconds:.1f} per second (the users' polls alone ask for {offered:.0f}/s).")
    polls = sum(LIVE_ANSWERS.values())
    if polls:
        print(
            f"Technician offers polls answered 204 (unchanged): {LIVE_ANSWERS[204]:,} of {polls:,} "
            f"({LIVE_ANSWERS[204] / polls:.0%}); with the lists (200): {LIVE_ANSWERS[200]:,}."
        )
    for name, stat in STATS.items():
        for sample in stat.error_samples:
            print(f"  error sample, {name}: {sample}")
    print("\n| process | pid | RSS start MiB | RSS mid MiB | RSS end MiB | growth | 2nd half | CPU s | cores |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for pid in sorted(set(start) | set(end), key=lambda pid: ((start.get(pid) or end.get(pid))[0], pid)):
        label = (start.get(pid) or end.get(pid))[0]
        if pid in start and pid in end:
            growth = 100 * (end[pid][1] - start[pid][1]) / start[pid][1]
            # the second half: a process that ran its first task in the window has grown by its imports in the
            # first; a leak grows in both. Checked for every process that lived through the whole window.
            second = 100 * (end[pid][1] - mid[pid][1]) / mid[pid][1] if pid in mid else growth
            if label != "load client":
                passed &= second <= 20
            cpu = end[pid][2] - start[pid][2]
            print(
                f"| {label} | {pid} | {start[pid][1] / 2**20:.0f} | {mid.get(pid, end[pid])[1] / 2**20:.0f} | "
                f"{end[pid][1] / 2**20:.0f} | {growth:+.1f} % | {second:+.1f} % | {cpu:.0f} | {cpu / seconds:.2f} |"
            )
        else:
            # gunicorn replaces a worker after max_requests (± jitter): shown, and counted in its role's mean below.
            when = "started during the run" if pid in end else "recycled during the run"
            rss = (end.get(pid) or start.get(pid))[1]
            print(f"| {label} | {pid} | {when} | | {rss / 2**20:.0f} | | | | |")
    print("\n| role | processes start/end | mean RSS start MiB | mean RSS end MiB | growth |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for role in sorted({label for label, _, _ in start.values()}):
        before = [rss for label, rss, _ in start.values() if label == role]
        after = [rss for label, rss, _ in end.values() if label == role]
        if not after:
            continue
        growth = 100 * (statistics.mean(after) - statistics.mean(before)) / statistics.mean(before)
        if role != "load client":
            passed &= growth <= 20
        print(
            f"| {role} | {len(before)}/{len(after)} | {statistics.mean(before) / 2**20:.0f} | "
            f"{statistics.mean(after) / 2**20:.0f} | {growth:+.1f} % |"
        )
    print(
        "\nTargets (0 errors, p95 <= 250 ms, RSS growth <= 20 % for each role's mean over the window and for each "
        f"process over its second half): {'met' if passed else 'NOT met'}"
    )
    return passed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long the load is measured (default 1)")
    parser.add_argument("--warmup", type=int, default=30, help="seconds of load before measuring (default 30)")
    parser.add_argument("--operators", type=int, default=200)
    parser.add_argument("--technicians", type=int, default=1000)
    parser.add_argument("--web-workers", type=int, default=0, help="WEB_CONCURRENCY (default: gunicorn.conf.py's)")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = Path(tempfile.mkdtemp(prefix="bench_load_"))
    os.environ["DATABASE_URL"] = scratch_database(os.environ["DATABASE_URL"], "bench_load")
    redis_process = redis_server(socket_path=work / "redis.sock", directory=work)
    os.environ["REDIS_URL"] = f"unix://{work / 'redis.sock'}"
    os.environ["LOG_FORMAT"] = "json"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_STATICFILES_BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"
    port = _free_port()
    env = {**os.environ, "VAR_DIR": str(work), "WEB_BIND": f"{HOST}:{port}", "DJANGO_SECURE_SSL_REDIRECT": "0"}
    if args.web_workers:
        env["WEB_CONCURRENCY"] = str(args.web_workers)
    log = work / "production.log"
    print(f"scratch database, Redis and logs: {work}", file=sys.stderr)
    with log.open("wb") as sink:
        app = subprocess.Popen(
            [sys.executable, str(ROOT / "devtools" / "production.py")],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        give_up = time.monotonic() + 600
        while True:
            if app.poll() is not None:
                raise SystemExit(f"devtools/production.py exited; see {log}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
                break
            if time.monotonic() > give_up:
                raise SystemExit(f"the app did not start; see {log}")
            time.sleep(1)
        operator_sessions, technician_sessions, towns = _accounts(args.operators, args.technicians)
        root = psutil.Process(app.pid)
        counter = iter(range(10**8))
        deadline = time.monotonic() + args.warmup + args.minutes * 60
        measured = {}

        async def run() -> None:
            global MEASURING
            users = asyncio.gather(
                *(operator(port, key, towns, counter, deadline) for key in operator_sessions),
                *(technician(port, key, deadline) for key in technician_sessions),
            )
            # Warm-up: every user has started, gunicorn's workers have loaded their templates and catalogue index.
            await asyncio.sleep(args.warmup)
            measured["start"], measured["load"], measured["t0"] = _snapshot(root), os.getloadavg()[0], time.monotonic()
            MEASURING = True
            await asyncio.sleep((deadline - time.monotonic()) / 2)
            measured["mid"] = _snapshot(root)  # a leak keeps growing in the second half; first-use imports do not
            await asyncio.sleep(deadline - time.monotonic())
            # Requests still in flight at the deadline are not counted (their users stop after them).
            MEASURING = False
            measured["seconds"] = time.monotonic() - measured["t0"]
            measured["end"], measured["load_end"] = _snapshot(root), os.getloadavg()[0]
            await users

        asyncio.run(run())
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(app.pid, signal.SIGTERM)
        try:
            app.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(app.pid, signal.SIGKILL)
        redis_process.terminate()
        redis_process.wait(10)
    passed = _report(
        measured["seconds"],
        (measured["start"], measured["mid"], measured["end"]),
        (measured["load"], measured["load_end"]),
        args,
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
