from django.utils.translation import gettext_lazy as _

from config.exceptions import ApplicationError


class NoPolicyTarget(ApplicationError):
    def __init__(self, kind: str) -> None:
        super().__init__(_("No active SLA policy has a target for this clock."), {"kind": kind})


class DeadlineClosed(ApplicationError):
    def __init__(self, state: str) -> None:
        super().__init__(_("This clock has already stopped."), {"state": state})
