from django.utils.translation import gettext_lazy as _

from config.exceptions import ApplicationError


class UnknownScope(ApplicationError):
    def __init__(self, scopes: list[str]) -> None:
        super().__init__(
            _("Unknown scope: %(scopes)s.") % {"scopes": ", ".join(scopes)}, {"scopes": scopes, "code": "unknown_scope"}
        )


class ScopesRequired(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("Give the key at least one scope."))


class KeyAlreadyRevoked(ApplicationError):
    def __init__(self) -> None:
        super().__init__(_("This key was already revoked."))
