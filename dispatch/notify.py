"""Customer notifications (SMS): the interface a provider implements, and the default console backend.

A backend is a class with `send(*, phone, body, idempotency_key)`. It must raise NotificationFailed (or let a network
error propagate) when the provider did not accept the message; `idempotency_key` is stable across retries, so a
provider that supports it (most Chinese SMS gateways accept a client-side message id) never delivers twice. Select
one with NOTIFICATION_BACKEND = "dotted.path.Class" in settings.
"""

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from dispatch.crypto import mask_phone

logger = logging.getLogger("dispatch.notify")


class NotificationFailed(Exception):
    """The provider refused or could not be reached; the message will be retried."""


class NotificationBackend(Protocol):
    def send(self, *, phone: str, body: str, idempotency_key: str) -> None: ...


class ConsoleBackend:
    """Writes messages to the log instead of sending them (development, and until an SMS provider is configured)."""

    def send(self, *, phone: str, body: str, idempotency_key: str) -> None:
        logger.info("SMS to %s [%s]: %s", mask_phone(phone), idempotency_key, body)


def get_backend() -> NotificationBackend:
    return import_string(settings.NOTIFICATION_BACKEND)()
