"""Cheap answers to the technician's offers poll.

Every technician's phone polls its offers and jobs every 10 s; almost always nothing has changed. Each rendering of
the list comes with a stamp: the technician's id and a random token kept in Redis. The phone sends the stamp back
(header X-Live-Stamp); `TechnicianLiveMiddleware` answers 204 No Content — htmx keeps what it shows — when the token is
still the technician's and the session cookie is the one the stamp was issued to, with two Redis reads and no
database query, session load or rendering.

The token is forgotten after commit by every service that changes what the list shows (an offer made or closed, a
ticket's status or technician changed: `technician_live_changed`), and it expires after LIVE_STAMP_SECONDS in any
case, so a change made outside the services (the admin) shows within that time, and a signed-out, deactivated or
expired session is checked again at the latest then. Order makes it race-free: the view reads the token *before* it
queries the lists and services forget it *after* commit, so a stamp never vouches for data older than itself.
"""

import logging
import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

STAMP_HEADER = "X-Live-Stamp"


def _technician_key(technician_id: int) -> str:
    return f"tech-live:{technician_id}"


def _session_key(session_key: str) -> str:
    return f"tech-live-session:{session_key}"


def technician_live_changed(*technician_ids: int | None) -> None:
    """After commit, forget these technicians' stamps: their next poll renders the lists again."""
    keys = sorted({_technician_key(pk) for pk in technician_ids if pk})
    if keys:
        transaction.on_commit(lambda: _forget(keys))


def _forget(keys: list[str]) -> None:
    try:
        cache.delete_many(keys)
    except RedisError as error:
        # The stamps run out by themselves within LIVE_STAMP_SECONDS: the change shows late, never not at all.
        logger.warning("live stamps %s not forgotten (%s)", keys, error)


def live_stamp_issue(*, technician_id: int, session_key: str | None) -> str:
    """Return the stamp for a rendering of the technician's lists about to be made, and remember which session it
    was issued to. Call it before querying the lists. "" when Redis cannot be reached (the phone then always gets
    the full lists)."""
    key = _technician_key(technician_id)
    try:
        token = cache.get(key)
        if token is None:
            token = secrets.token_hex(8)
            if not cache.add(key, token, settings.LIVE_STAMP_SECONDS):
                token = cache.get(key) or ""  # another poll set one first; "" if it expired meanwhile: render again
        if session_key:
            cache.set(_session_key(session_key), technician_id, settings.LIVE_STAMP_SECONDS)
    except RedisError as error:
        logger.warning("live stamp for technician %s not issued (%s)", technician_id, error)
        return ""
    return f"{technician_id}.{token}" if token else ""


def live_stamp_is_current(*, stamp: str, session_key: str | None) -> bool:
    """True when the stamp is still its technician's and was issued to this session."""
    technician_id, _, token = stamp.partition(".")
    if not (session_key and technician_id.isdigit() and token):
        return False
    keys = [_session_key(session_key), _technician_key(int(technician_id))]
    try:
        found = cache.get_many(keys)
    except RedisError:
        return False
    return found.get(keys[0]) == int(technician_id) and found.get(keys[1]) == token


def live_session_forget(*, session_key: str | None) -> None:
    """The session signed out: its stamps no longer answer anything."""
    if session_key:
        try:
            cache.delete(_session_key(session_key))
        except RedisError as error:
            logger.warning("live stamp session not forgotten (%s)", error)


def on_logged_out(sender, request, user, **kwargs) -> None:
    """user_logged_out: sent before the session is flushed."""
    if request is not None and hasattr(request, "session"):
        live_session_forget(session_key=request.session.session_key)


class TechnicianLiveMiddleware:
    """Answers the offers poll with 204 No Content when the stamp it sends is current (see the module docstring).
    Any other request, or a stamp that is not current, goes through the whole stack as usual."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._path = None

    def __call__(self, request):
        if request.method == "GET" and STAMP_HEADER in request.headers:
            if self._path is None:
                self._path = reverse("technician:home-live")
            if request.path == self._path and live_stamp_is_current(
                stamp=request.headers[STAMP_HEADER], session_key=request.COOKIES.get(settings.SESSION_COOKIE_NAME)
            ):
                return HttpResponse(status=204, headers={"Cache-Control": "private, no-store"})
        return self.get_response(request)
