"""What happens when a clock warns or breaches, registered by the apps that own the subjects.

`sla` imports nothing from them: dispatch calls `register(DeadlineKind.RESPONSE, on_breach=…)` in its AppConfig.ready().
Handlers run after commit, from the outbox, at least once: they must be idempotent (use `outbox.pk` as the key).
"""

from collections.abc import Callable
from dataclasses import dataclass

Handler = Callable[..., None]  # handler(*, deadline, outbox) -> None


@dataclass(frozen=True)
class Handlers:
    on_warning: Handler | None = None
    on_breach: Handler | None = None
    on_breach_revoked: Handler | None = None


_handlers: dict[str, list[Handlers]] = {}


def register(
    kind: str,
    *,
    on_warning: Handler | None = None,
    on_breach: Handler | None = None,
    on_breach_revoked: Handler | None = None,
) -> Handlers:
    """Register handlers for a deadline kind; returns them so a test can unregister."""
    handlers = Handlers(on_warning, on_breach, on_breach_revoked)
    _handlers.setdefault(kind, []).append(handlers)
    return handlers


def unregister(kind: str, handlers: Handlers) -> None:
    _handlers.get(kind, []).remove(handlers)


def handlers_for(kind: str, event: str) -> list[Handler]:
    attribute = f"on_{event}"
    return [getattr(h, attribute) for h in _handlers.get(kind, []) if getattr(h, attribute) is not None]
