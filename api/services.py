"""Integration keys: issue one (the token is returned once and only its hash kept), revoke it, note its use."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.exceptions import KeyAlreadyRevoked, ScopesRequired, UnknownScope
from api.models import IntegrationKey, Scope

TOKEN_START = "lk_"  # noqa: S105 - the public start of every token, not a secret
# last_used_at is written at most once a minute per key: a busy key must not turn every request into a row update.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(token: str) -> str:
    """Return the SHA-256 of a token, hex. A fast hash is enough: the token is 256 random bits, not a password, so
    there is nothing to guess, and a slow password hasher would add its cost to every API request."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def integration_key_create(*, name: str, scopes: list[str], by=None, user=None, now=None) -> tuple[IntegrationKey, str]:
    """Issue a key and return it with its token (shown once, never stored). Without `user` the key acts as a new
    service account of its own. Raises ScopesRequired or UnknownScope."""
    now = now or timezone.now()
    scopes = sorted(set(scopes))
    if not scopes:
        raise ScopesRequired()
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise UnknownScope(unknown)
    prefix = f"{TOKEN_START}{secrets.token_hex(4)}"
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    if user is None:
        # The account its actions are recorded under (ticket events, calls): no password, no role, no login.
        user = get_user_model().objects.create_user(username=f"api-{prefix}", first_name=name[:150])
        user.set_unusable_password()
        user.save(update_fields=["password"])
    key = IntegrationKey.objects.create(
        name=name.strip()[:80],
        prefix=prefix,
        token_hash=token_hash(token),
        scopes=scopes,
        user=user,
        created_by=by,
        created_at=now,
    )
    return key, token


def integration_key_revoke(*, key: IntegrationKey, by=None, now=None) -> IntegrationKey:
    """Revoke a key: from now on it authenticates nothing. Raises KeyAlreadyRevoked."""
    now = now or timezone.now()
    if IntegrationKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now) != 1:
        raise KeyAlreadyRevoked()
    key.refresh_from_db(fields=["revoked_at"])
    return key


def integration_key_touch(*, key: IntegrationKey, now=None) -> None:
    """Record that the key was just used (at most once per LAST_USED_RESOLUTION)."""
    now = now or timezone.now()
    IntegrationKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=key.pk
    ).update(last_used_at=now)
