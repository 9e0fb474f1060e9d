from django.utils.translation import gettext_lazy as _

from config.exceptions import ApplicationError


class NoPolicyTarget(ApplicationError):
    def __init__(self, kind: str) -> None:
        super().__init__(_("No active SLA policy has a target for this clock."), {"kind": kind})


class DeadlineClosed(ApplicationError):
    def __init__(self, state: str) -> None:
        super().__init__(_("This clock has already stopped."), {"state": state})


class HandlerFailed(Exception):
    """A registered SLA handler raised; the event stays unsent and is retried by the relay."""

    def __init__(self, outbox_id: int) -> None:
        super().__init__(f"SLA outbox {outbox_id}: a handler failed")
        self.outbox_id = outbox_id
