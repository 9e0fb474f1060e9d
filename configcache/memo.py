"""Configuration that every ticket reads — SLA policies, service areas, webhook subscribers — remembered in each
process until it changes.

PostgreSQL keeps a random token per area (`configcache_configversion`), replaced by statement-level triggers on every
INSERT, UPDATE, DELETE or TRUNCATE of the area's tables (migration 0001), so every change counts, whoever makes it:
the admin, a data migration, a bulk update, raw SQL. A lookup reads the tokens (one small query) *before* it reads
the data, and keys what it remembers by them:

* a committed change carries a new token, so every process reads the data again from its next lookup on;
* a change seen inside its own transaction is remembered under that transaction's new token, which nobody sees again
  if the transaction rolls back (tokens are random, never reused);
* data read after the token is at least as new as the token, so nothing remembered is older than its key;
* with no token row (a table just truncated by a test's flush), nothing is remembered.

What is remembered is shared by every caller in the process: callers must not change it (`remembered` hands out what
`compute` returned; copy before changing).

A unit of work that makes several lookups and changes no configuration (creating a ticket: the division, its service
area, the SLA policy, the webhook subscribers) reads the tokens once, inside `tokens_held()`: its lookups then see the
configuration as of its first lookup, as if a change committed meanwhile had come a moment later.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.db import connection

T = TypeVar("T")
AREAS = ("regions", "sla", "webhooks")
MAX_ENTRIES = 20_000  # per area set; a town-by-urgency memo of policies stays far below it

_memo: dict[tuple[str, ...], tuple[tuple, dict]] = {}
# Inside tokens_held(): the tokens read by the block's first lookup (empty until then).
_held: ContextVar[dict[str, str] | None] = ContextVar("configcache_held", default=None)


@contextmanager
def tokens_held() -> Iterator[None]:
    """Read the tokens once for all the lookups in this block. Only around work that changes no configuration table:
    a change made inside the block would not be seen by its later lookups. Nested blocks share the outer one's."""
    if _held.get() is not None:
        yield
        return
    reset = _held.set({})
    try:
        yield
    finally:
        _held.reset(reset)


def _tokens() -> dict[str, str]:
    held = _held.get()
    if held:
        return held
    with connection.cursor() as cursor:
        cursor.execute("SELECT area, token FROM configcache_configversion")
        tokens = dict(cursor.fetchall())
    if held is not None:
        held.update(tokens)
    return tokens


def remembered(areas: tuple[str, ...], key, compute: Callable[[], T]) -> T:
    """Return compute()'s value for `key`, remembered in this process until a table of one of `areas` changes."""
    tokens = _tokens()
    stamp = tuple(tokens.get(area) for area in areas)
    if None in stamp:
        return compute()
    seen, values = _memo.get(areas, (None, None))
    if seen != stamp or values is None or len(values) >= MAX_ENTRIES:
        values = {}
        _memo[areas] = (stamp, values)
    try:
        return values[key]
    except KeyError:
        value = values[key] = compute()
        return value


def forget_all() -> None:
    """Drop everything remembered in this process (the tokens make this unnecessary outside tests of this module)."""
    _memo.clear()
