"""Privacy numbers (隐私号, AXB): the technician (A) and the customer (B) reach each other through a virtual number (X)
for the life of a job, so neither sees the other's real number.

A real provider's backend (阿里云 号码隐私保护 `BindAxb` / `UnbindSubscription`, 腾讯云 隐私号 `BindNumber` /
`UnbindNumber`) implements the same two calls: `bind` asks the provider for an X bound to A and B until `expires_at`
and returns it with the provider's subscription id (provider_ref); `unbind` ends it. Rules for a backend:

* raise `ProviderUnavailable` for a transient failure (timeout, 5xx, throttled): the task retries later;
* raise `NumberPoolExhausted` when the provider has no X to give: the job goes on with the real number (see
  privacy/services.py) and the pages flag it;
* `unbind` of a binding the provider no longer knows (expired, already unbound) is a success: it must be idempotent;
* keep secrets (AccessKey) in the environment, like every other secret.

Select the backend with PRIVACY_NUMBER_BACKEND (dotted path).
"""

import logging
import uuid
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class PrivacyNumberError(Exception):
    """The provider could not bind or unbind."""


class ProviderUnavailable(PrivacyNumberError):
    """A transient failure: try again later."""


class NumberPoolExhausted(PrivacyNumberError):
    """No virtual number is free."""


@dataclass(frozen=True)
class Binding:
    virtual_number: str
    provider_ref: str


class PrivacyNumberBackend(Protocol):
    """What a provider's backend implements (as dispatch.notify.NotificationBackend does for SMS)."""

    def bind(self, *, technician_phone: str, customer_phone: str, expires_at) -> Binding: ...

    def unbind(self, *, provider_ref: str) -> None: ...


def pool_numbers(entries: list[str]) -> list[str]:
    """Expand PRIVACY_NUMBER_POOL entries, single numbers or ranges `+8617100000000-+8617100000019`, in order."""
    numbers: list[str] = []
    for entry in entries:
        first, _dash, last = entry.partition("-")
        if not last:
            numbers.append(first.strip())
            continue
        first, last = first.strip(), last.strip()
        prefix = "+" if first.startswith("+") else ""
        start, end = int(first.lstrip("+")), int(last.lstrip("+"))
        numbers.extend(f"{prefix}{number}" for number in range(start, end + 1))
    return numbers


def _tail(phone: str) -> str:
    return f"…{phone[-4:]}"  # logs never hold a whole number


class ConsoleBackend:
    """Development and tests: hands out the first number of PRIVACY_NUMBER_POOL not bound to an active job, and logs
    instead of calling a provider. The database's unique constraint settles two binds racing for one number."""

    def bind(self, *, technician_phone: str, customer_phone: str, expires_at) -> Binding:
        from privacy.selectors import virtual_numbers_in_use

        in_use = virtual_numbers_in_use()
        free = next((number for number in pool_numbers(settings.PRIVACY_NUMBER_POOL) if number not in in_use), None)
        if free is None:
            raise NumberPoolExhausted()
        binding = Binding(virtual_number=free, provider_ref=f"console-{uuid.uuid4().hex}")
        logger.info(
            "privacy number %s bound: %s <-> %s until %s (%s)",
            free,
            _tail(technician_phone),
            _tail(customer_phone),
            expires_at.isoformat(),
            binding.provider_ref,
        )
        return binding

    def unbind(self, *, provider_ref: str) -> None:
        logger.info("privacy number binding %s released", provider_ref)


def get_backend() -> PrivacyNumberBackend:
    """Return an instance of the configured PRIVACY_NUMBER_BACKEND."""
    return import_string(settings.PRIVACY_NUMBER_BACKEND)()
