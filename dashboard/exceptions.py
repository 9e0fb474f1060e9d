from django.utils.translation import gettext_lazy as _

from config.exceptions import ApplicationError


class RegionNotAllowed(ApplicationError):
    def __init__(self, code: str) -> None:
        super().__init__(_("You may only see the provinces you manage."), {"region": code})


class NotABreach(ApplicationError):
    def __init__(self, deadline_id: int) -> None:
        super().__init__(_("This clock was not breached; only breaches take a reason."), {"deadline": deadline_id})
