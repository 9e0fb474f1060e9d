import random

import pytest
from django.db import connection

from complaints.forensics import _signed, hamming, hash_chunk_lists, near_hash_sql

TABLE = """
CREATE TEMPORARY TABLE forensic_hash (
    id bigserial PRIMARY KEY,
    value bigint NOT NULL,
    c0 integer GENERATED ALWAYS AS (((value >> 48) & 65535)::integer) STORED,
    c1 integer GENERATED ALWAYS AS (((value >> 32) & 65535)::integer) STORED,
    c2 integer GENERATED ALWAYS AS (((value >> 16) & 65535)::integer) STORED,
    c3 integer GENERATED ALWAYS AS ((value & 65535)::integer) STORED
)
"""


def flip(value: int, bits: int, rng: random.Random) -> int:
    for position in rng.sample(range(64), bits):
        value ^= 1 << position
    return value


def test_chunk_lists_cover_every_value_within_the_flips():
    lists = hash_chunk_lists(0, 7)
    assert [len(values) for values in lists] == [17, 17, 17, 17]
    assert len(hash_chunk_lists(0, 11)[0]) == 1 + 16 + 120


@pytest.mark.django_db
@pytest.mark.parametrize("radius", [4, 7, 11])
def test_postgres_search_finds_exactly_the_hashes_within_radius(radius):
    rng = random.Random(radius)
    query = rng.getrandbits(64)
    # Near hashes at every distance up to radius + 3, spread so that no single chunk holds all the flips, plus noise.
    stored = [flip(query, distance, rng) for distance in range(radius + 4) for _ in range(20)]
    stored += [rng.getrandbits(64) for _ in range(3000)]
    with connection.cursor() as cursor:
        cursor.execute(TABLE)
        cursor.executemany("INSERT INTO forensic_hash (value) VALUES (%s)", [(_signed(value),) for value in stored])
        sql, params = near_hash_sql(table="forensic_hash", value=query, radius=radius, columns="value")
        cursor.execute(sql, params)
        found = sorted(row[0] for row in cursor.fetchall())
        cursor.execute("DROP TABLE forensic_hash")
    expected = sorted(_signed(value) for value in stored if hamming(value, query) <= radius)
    assert found == expected
    assert len(expected) >= 20 * (radius + 1)
