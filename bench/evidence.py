"""Benchmark the evidence forensics; prints tables. Not a test.

    .venv/bin/python devtools/embedded.py run -- .venv/bin/python bench/evidence.py     # embedded PostgreSQL
    DATABASE_URL=… DJANGO_SECRET_KEY=… FIELD_ENCRYPTION_KEYS=… BLIND_INDEX_KEY=… .venv/bin/python bench/evidence.py

1. Checks per second in one process on 12-megapixel JPEGs (4000×3000, q92, with EXIF and an XMP packet, 8 distinct
   synthetic photos cycled): `evidence_open` (size cap, sniff, bomb guard, sha256) + `evidence_signals` (metadata
   probe, C2PA, pHash/dHash from the DCT-scaled draft, every comparison), and separately `display_copy` (1600 px).
   Target (issue 6): >= 10 checks/s per worker process.
2. Near-duplicate search among 1,000,000 stored 64-bit pHashes in PostgreSQL (a scratch database
   `<name>_bench_evidence`): table `(id, value bigint, c0..c3 generated 16-bit chunks)` with a B-tree index per
   chunk, queried with `complaints.forensics.near_hash_sql` (literal IN lists, then bit_count). 98% of the rows are
   random; 2% are near copies (1–12 bits) of 2,000 "popular" photos, because real uploads cluster. 500 queries per
   radius, half of them for a popular photo. Target: p95 <= 20 ms. A sequential-scan baseline is shown for scale.
Knobs: BENCH_EVIDENCE_ROWS (default 1,000,000), BENCH_EVIDENCE_CHECKS (default 60).
"""

import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from devtools.embedded import scratch_database  # noqa: E402

os.environ["DATABASE_URL"] = scratch_database(os.environ["DATABASE_URL"], "bench_evidence")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import translation  # noqa: E402

from complaints.forensics import (  # noqa: E402
    EvidenceContext,
    HashRef,
    _signed,
    display_copy,
    evidence_open,
    evidence_signals,
    hamming,
    near_hash_sql,
    perceptual_hashes,
)
from tests.complaints import fixtures_forensics as fx  # noqa: E402

ROWS = int(os.environ.get("BENCH_EVIDENCE_ROWS", 1_000_000))
CHECKS = int(os.environ.get("BENCH_EVIDENCE_CHECKS", 60))
POPULAR = 2_000
QUERIES = 500


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def table(title: str, rows: list[tuple]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(str(cell) for cell in rows[0]) + " |")
    print("|" + "|".join(" --- " for _ in rows[0]) + "|")
    for row in rows[1:]:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def bench_checks() -> None:
    photos = []
    for seed in range(8):
        image = fx.photo(4000, 3000, seed=seed)
        photos.append(
            fx.encode(
                image,
                "JPEG",
                quality=92,
                exif=fx.exif(make="HUAWEI", model="Mate 60", taken="2026:11:26 10:00:00", gps=(31.23, 121.47)),
                xmp=fx.xmp_packet(iptc="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"),
            )
        )
    technician = tuple(
        HashRef(phash=perceptual_hashes(data=data).phash, ref=str(index), kind="after")
        for index, data in enumerate(photos[:3])
    )
    others = tuple(HashRef(phash=random.getrandbits(63), ref=str(i), complaint_number="X") for i in range(50))
    context = EvidenceContext(
        address_lat=31.23, address_lng=121.47, technician_photos=technician, other_complaint_photos=others
    )
    for data in photos[:2]:  # warm-up: imports, C2PA library, allocator
        evidence_signals(intake=evidence_open(data=data, declared_name="a.jpg", max_bytes=50 * 2**20), context=context)
    check_times, copy_times, sizes = [], [], []
    cpu_started = time.process_time()
    started = time.perf_counter()
    for index in range(CHECKS):
        data = photos[index % len(photos)]
        sizes.append(len(data))
        begin = time.perf_counter()
        intake = evidence_open(data=io.BytesIO(data), declared_name="a.jpg", max_bytes=50 * 2**20)
        evidence_signals(intake=intake, context=context)
        check_times.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    for index in range(min(CHECKS, 20)):
        begin = time.perf_counter()
        display_copy(data=photos[index % len(photos)])
        copy_times.append(time.perf_counter() - begin)
    rate = CHECKS / elapsed
    table(
        f"Checks on 12 MP JPEGs (4000×3000, q92, mean {statistics.mean(sizes) / 2**20:.2f} MB), one process",
        [
            ("measure", "value", "target", "met?"),
            ("checks per second (intake + all signals)", f"{rate:.1f}", ">= 10", "yes" if rate >= 10 else "NO"),
            (
                "per check p50 / p95 (ms)",
                f"{percentile(check_times, 0.5) * 1000:.1f} / {percentile(check_times, 0.95) * 1000:.1f}",
                "",
                "",
            ),
            ("CPU per check (ms)", f"{cpu / CHECKS * 1000:.1f}", "", ""),
            ("display copy 1600 px p50 (ms)", f"{percentile(copy_times, 0.5) * 1000:.1f}", "", ""),
            ("checks + display copy per second", f"{1 / (1 / rate + percentile(copy_times, 0.5)):.1f}", "", ""),
        ],
    )


def seed_hashes(cursor, rng: random.Random) -> list[int]:
    popular = [rng.getrandbits(64) for _ in range(POPULAR)]
    cursor.execute(
        """
        CREATE TABLE evidence_hash (
            id bigserial PRIMARY KEY,
            value bigint NOT NULL,
            c0 integer GENERATED ALWAYS AS (((value >> 48) & 65535)::integer) STORED,
            c1 integer GENERATED ALWAYS AS (((value >> 32) & 65535)::integer) STORED,
            c2 integer GENERATED ALWAYS AS (((value >> 16) & 65535)::integer) STORED,
            c3 integer GENERATED ALWAYS AS ((value & 65535)::integer) STORED
        )
        """
    )
    buffer = io.StringIO()
    near = ROWS // 50
    for _ in range(ROWS - near):
        buffer.write(f"{_signed(rng.getrandbits(64))}\n")
    for index in range(near):
        value = popular[index % POPULAR]
        for position in rng.sample(range(64), rng.randint(1, 12)):
            value ^= 1 << position
        buffer.write(f"{_signed(value)}\n")
    buffer.seek(0)
    started = time.perf_counter()
    cursor.copy_expert("COPY evidence_hash (value) FROM STDIN", buffer)
    for index in range(4):
        cursor.execute(f"CREATE INDEX evidence_hash_c{index} ON evidence_hash (c{index})")
    cursor.execute("VACUUM ANALYZE evidence_hash")
    print(f"\nseeded {ROWS:,} hashes with 4 chunk indexes in {time.perf_counter() - started:.1f} s")
    cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('evidence_hash'))")
    print(f"table + indexes: {cursor.fetchone()[0]}")
    return popular


def bench_search() -> None:
    rng = random.Random(45438)
    connection.ensure_connection()
    raw = connection.connection
    raw.autocommit = True
    with raw.cursor() as cursor:
        popular = seed_hashes(cursor, rng)
        queries = [
            (popular[rng.randrange(POPULAR)] ^ (1 << rng.randrange(64))) if index % 2 else rng.getrandbits(64)
            for index in range(QUERIES)
        ]
        rows = [
            (
                "radius",
                "IN-list values per chunk",
                "p50 (ms)",
                "p95 (ms)",
                "p99 (ms)",
                "max (ms)",
                "matches p50 / max",
                "target p95 <= 20 ms",
            )
        ]
        for radius in (7, 11):
            times, matches = [], []
            for query in queries[:20]:  # warm the plan cache and shared buffers, as a running worker would have
                cursor.execute(*near_hash_sql(table="evidence_hash", value=query, radius=radius, columns="id, value"))
                cursor.fetchall()
            for query in queries:
                sql, params = near_hash_sql(table="evidence_hash", value=query, radius=radius, columns="id, value")
                begin = time.perf_counter()
                cursor.execute(sql, params)
                found = cursor.fetchall()
                times.append((time.perf_counter() - begin) * 1000)
                matches.append(len(found))
                assert all(hamming(value, query) <= radius for _id, value in found)
            p95 = percentile(times, 0.95)
            rows.append(
                (
                    radius,
                    1 + sum(len(list(_combinations(radius // 4, k))) for k in range(1, radius // 4 + 1)),
                    f"{percentile(times, 0.5):.2f}",
                    f"{p95:.2f}",
                    f"{percentile(times, 0.99):.2f}",
                    f"{max(times):.2f}",
                    f"{int(statistics.median(matches))} / {max(matches)}",
                    "yes" if p95 <= 20 else "NO",
                )
            )
        seq = []
        for query in queries[:10]:
            begin = time.perf_counter()
            cursor.execute("SELECT id FROM evidence_hash WHERE bit_count((value # %s)::bit(64)) <= 7", [_signed(query)])
            cursor.fetchall()
            seq.append((time.perf_counter() - begin) * 1000)
        rows.append(
            ("7, sequential scan", "—", f"{percentile(seq, 0.5):.2f}", f"{percentile(seq, 0.95):.2f}", "", "", "", "")
        )
        table(f"Near-duplicate search among {ROWS:,} pHashes in PostgreSQL (psycopg2 round trip)", rows)
        sql, params = near_hash_sql(table="evidence_hash", value=queries[1], radius=11, columns="id")
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print("\nplan at radius 11:\n" + "\n".join(row[0] for row in cursor.fetchall()[:12]))


def _combinations(_flips: int, count: int):
    from itertools import combinations

    return combinations(range(16), count)


if __name__ == "__main__":
    translation.activate("en")
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    bench_checks()
    bench_search()
