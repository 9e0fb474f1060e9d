"""Benchmark the regions app; prints a table. Run with `make bench` (embedded servers) or with DATABASE_URL set.

Measures, on a scratch database `<name>_bench` beside the configured one:
  1. catalogue load time (cold: empty tables; and a second `make run`, which finds the catalogue loaded);
  2. resolutions per second on one core, over the service-area entries repeated to 100,000;
  3. type-ahead latency over HTTP: 1,000 queries against gunicorn serving the app.
Targets (issue 2): load <= 15 s, >= 20,000 resolutions/s, type-ahead p95 <= 30 ms.
"""

import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from devtools.embedded import scratch_database  # noqa: E402

os.environ["DATABASE_URL"] = scratch_database(os.environ["DATABASE_URL"], "bench")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.services import role_sync  # noqa: E402
from regions.catalogue import catalogue_index, catalogue_reset  # noqa: E402
from regions.services import catalogue_load, resolve, service_area_load, split_entries  # noqa: E402

RUNS = 3
RESOLUTIONS = 100_000
QUERIES = 1_000


def bench_load() -> tuple[list[float], list[float]]:
    cold, skipped = [], []
    for _ in range(RUNS):
        with connection.cursor() as cursor:
            # CASCADE: other apps' tables (addresses, SLA policies) point at divisions; nothing of theirs matters here.
            cursor.execute(
                "TRUNCATE regions_servicearea, regions_divisionalias, regions_division, regions_catalogueimport CASCADE"
            )
        started = time.perf_counter()
        catalogue_load()
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert catalogue_load().skipped
        skipped.append(time.perf_counter() - started)
    return cold, skipped


def bench_resolve() -> tuple[float, list[float]]:
    entries = split_entries((ROOT / "fixtures" / "service_areas.txt").read_text(encoding="utf-8"))
    workload = (entries * (RESOLUTIONS // len(entries) + 1))[:RESOLUTIONS]
    catalogue_reset()
    started = time.perf_counter()
    catalogue_index()
    build = time.perf_counter() - started
    rates = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for entry in workload:
            resolve(entry)
        rates.append(len(workload) / (time.perf_counter() - started))
    return build, rates


def _queries(rng: random.Random) -> list[str]:
    """Realistic type-ahead input: county and town names, their first characters, city + county, initials."""
    index = catalogue_index()
    places = [d for d in index.summaries if d.level in {"county", "township"}]
    queries = []
    for _ in range(QUERIES):
        place = rng.choice(places)
        kind = rng.random()
        if kind < 0.3:
            queries.append(place.name[:2])
        elif kind < 0.55:
            queries.append(place.name)
        elif kind < 0.8:
            parts = place.full_name.split()
            queries.append(f"{parts[-2][:2]} {parts[-1][:2]}")
        else:
            queries.append(place.initials[: rng.randint(2, 4)])
    return queries


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_typeahead() -> list[float]:
    service_area_load(text=(ROOT / "fixtures" / "service_areas.txt").read_text(encoding="utf-8"))
    role_sync()
    user, _ = get_user_model().objects.get_or_create(username="bench_operator")
    user.groups.set([Group.objects.get(name="operator")])
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)

        def get(query: str) -> float:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            started = time.perf_counter()
            conn.request("GET", "/api/regions/search?" + urlencode({"q": query}), headers={"Cookie": cookie})
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            conn.close()
            assert response.status == 200, (query, response.status)
            return elapsed

        for query in ("永和", "yhx", "临汾 永和") * 20:  # warm both workers' catalogue index
            get(query)
        return [get(query) for query in _queries(random.Random(2))]
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    call_command("migrate", verbosity=0)
    print(
        f"PostgreSQL {connection.cursor().connection.server_version}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs; scratch database {quote(connection.settings_dict['NAME'])}"
    )
    cold, skipped = bench_load()
    build, rates = bench_resolve()
    latencies = [seconds * 1000 for seconds in bench_typeahead()]
    p50 = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=100)[94]
    p99 = statistics.quantiles(latencies, n=100)[98]
    load = statistics.median(cold)
    rate = statistics.median(rates)
    rows = [
        ("catalogue load, empty tables (s)", f"{load:.2f}", "<= 15", f"{15 / load:.1f}x under"),
        ("catalogue load, already loaded (s)", f"{statistics.median(skipped):.3f}", "", ""),
        ("resolver index build (s)", f"{build:.2f}", "", ""),
        ("resolutions per second, one core", f"{rate:,.0f}", ">= 20,000", f"{rate / 20000:.1f}x target"),
        ("type-ahead p50 over HTTP (ms)", f"{p50:.1f}", "", ""),
        ("type-ahead p95 over HTTP (ms)", f"{p95:.1f}", "<= 30", f"{30 / p95:.1f}x under"),
        ("type-ahead p99 over HTTP (ms)", f"{p99:.1f}", "", ""),
    ]
    print(f"\nmedians of {RUNS} runs; {RESOLUTIONS:,} resolutions per run; {len(latencies):,} type-ahead queries\n")
    print("| measure | median | target | ratio |\n| --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
