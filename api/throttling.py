import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from api.models import IntegrationKey

DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """Return (requests, seconds) of a rate like "600/min" or "10/s"."""
    count, _slash, period = rate.partition("/")
    return int(count), DURATIONS[period.strip()[0]]


class ApiRateThrottle(BaseThrottle):
    """Requests per integration key (API_KEY_RATE) or per signed-in user (API_USER_RATE) in fixed windows, counted
    with one atomic INCR in the Redis cache, so every gunicorn worker shares the count. (DRF's SimpleRateThrottle
    keeps a list of timestamps per client and writes it back unlocked: at hundreds of requests a minute that list is
    re-pickled on every request, and two workers lose each other's counts.) The rate is read per request."""

    def allow_request(self, request, view) -> bool:
        if isinstance(request.auth, IntegrationKey):
            # The prefix, not the pk: ids repeat across test databases sharing one Redis, prefixes are random.
            scope, ident, rate = "key", request.auth.prefix, settings.API_KEY_RATE
        elif request.user and request.user.is_authenticated:
            scope, ident, rate = "user", request.user.pk, settings.API_USER_RATE
        else:
            return True
        limit, seconds = parse_rate(rate)
        now = time.time()
        window = int(now // seconds)
        key = f"api-throttle:{scope}:{ident}:{seconds}:{window}"
        cache.add(key, 0, timeout=seconds + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr, at the window's very end
            cache.add(key, 1, timeout=seconds + 1)
            count = 1
        self.retry_after = (window + 1) * seconds - now
        return count <= limit

    def wait(self) -> float:
        return max(self.retry_after, 1.0)
