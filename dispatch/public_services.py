"""The public request pages' rate limiter: a fixed-window counter in the cache."""

import hashlib
import time

from django.core.cache import cache


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
