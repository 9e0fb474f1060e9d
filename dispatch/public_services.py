"""Helpers for the public request pages: a fixed-window rate limiter in the cache, and the customer's ticket look-up."""

import hashlib
import hmac
import time

from django.core.cache import cache

from dispatch.models import Ticket


def rate_limit_hit(*, scope: str, key: str, limit: int, window: int, now: float | None = None) -> bool:
    """Count one hit for `key` in the current window of `window` seconds; return True if it goes over `limit`.

    A fixed window (the counter key carries the window's index) needs only add + incr, both atomic in Redis, so two
    requests at the same moment can never both take the last slot. The key is hashed: no phone number or address
    is written to the cache in clear.
    """
    now = time.time() if now is None else now
    slot = int(now // window)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"public-rate:{scope}:{slot}:{digest}"
    # add() is a no-op when the key exists; the window's own timeout (plus a little) lets Redis drop old counters.
    cache.add(cache_key, 0, timeout=window + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:
        # The key expired between add() and incr(): this hit opens a fresh window.
        cache.add(cache_key, 1, timeout=window + 5)
        count = 1
    return count > limit


def ticket_get_for_customer(*, number: str, phone_last_four: str) -> Ticket | None:
    """Return the ticket with this number if the customer's phone ends in `phone_last_four`, else None.

    A wrong number and a wrong phone give the same None, so the answer never tells whether a number exists.
    """
    ticket = Ticket.objects.select_related("customer", "division").filter(number=number.strip()).first()
    if ticket is None:
        return None
    # The phone is decrypted when the customer row loads; compare in constant time all the same.
    return ticket if hmac.compare_digest(ticket.customer.phone[-4:], phone_last_four) else None
