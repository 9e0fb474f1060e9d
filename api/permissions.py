"""Who may call which operation: a key by its scopes, a signed-in user by their role (accounts/roles.py)."""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from accounts.roles import Role, user_roles
from api.models import IntegrationKey, Scope

# What each role may do through the API, mirroring what its screens allow.
ROLE_SCOPES = {
    Role.OPERATOR: {
        Scope.TICKETS_CREATE,
        Scope.TICKETS_READ,
        Scope.TICKETS_TRANSITION,
        Scope.CUSTOMERS_READ,
        Scope.COMPLAINTS_WRITE,
        Scope.COMPLAINTS_READ,
        Scope.REGIONS_READ,
        Scope.TECHNICIANS_READ,
    },
    # Their own jobs only (api.selectors.ticket_queryset_for); the transitions check the job is theirs.
    Role.TECHNICIAN: {Scope.TICKETS_READ, Scope.TICKETS_TRANSITION},
    Role.MANAGER: {Scope.TICKETS_READ, Scope.REGIONS_READ, Scope.TECHNICIANS_READ, Scope.COMPLAINTS_READ},
    Role.REVIEWER: {Scope.COMPLAINTS_WRITE, Scope.COMPLAINTS_READ, Scope.REGIONS_READ},
    Role.ADMIN: set(Scope.values),
}


def user_scopes(user) -> set[str]:
    """Return the scopes a signed-in user's roles give."""
    scopes: set[str] = set()
    for role in user_roles(user):
        scopes |= ROLE_SCOPES.get(role, set())
    return scopes


def request_scopes(request) -> set[str]:
    """Return what this request may do: a key's scopes (narrowed by its person's roles when it acts for a person),
    or a session user's role scopes."""
    key = request.auth
    if isinstance(key, IntegrationKey):
        roles = user_roles(request.user)
        return set(key.scopes) & user_scopes(request.user) if roles else set(key.scopes)
    return user_scopes(request.user)


class HasScope(BasePermission):
    """Allow the operation when the request holds the view's `required_scope`."""

    message = _("Your key or account is not allowed to do this.")

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        required = view.required_scope
        if required not in request_scopes(request):
            self.message = _("This needs the “%(scope)s” permission, which your key or account does not have.") % {
                "scope": required
            }
            return False
        return True
