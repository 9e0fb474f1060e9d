import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils.translation import gettext as _

from accounts.roles import Role, user_roles

SIGNED_IN_AT = "_signed_in_at"
ACTIVE_AT = "_active_at"
# The last-activity mark is rewritten at most this often, so not every click costs a session write.
ACTIVE_RESOLUTION_SECONDS = 60


def _is_activity(request) -> bool:
    # htmx polling (the board every 5 s, a technician's offers) must not keep an unattended PC signed in; a page
    # load, a form post or a click that posts is a person at the keyboard.
    return not (request.method == "GET" and request.headers.get("HX-Request"))


class SessionLimitMiddleware:
    """Signs a user out after SESSION_IDLE_SECONDS without activity (shared call-center PCs) and, in any case,
    SESSION_COOKIE_AGE after signing in (one shift). Technicians on their own phones have no idle limit: a long
    repair must not cost them their queued uploads."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._check(request, user)
        return self.get_response(request)

    def _check(self, request, user) -> None:
        now = int(time.time())
        session = request.session
        # Signing in sets last_login (Django's login()); reading it, rather than writing a mark into the session on
        # the first request, keeps the ordinary request free of session writes.
        signed_in_at = session.get(SIGNED_IN_AT) or (int(user.last_login.timestamp()) if user.last_login else None)
        if signed_in_at is None:
            session[SIGNED_IN_AT] = signed_in_at = now
        active_at = session.get(ACTIVE_AT, signed_in_at)
        idle_limit = settings.SESSION_IDLE_SECONDS
        has_idle_limit = idle_limit > 0 and not user_roles(user) <= {Role.TECHNICIAN}
        if now - signed_in_at > settings.SESSION_COOKIE_AGE:
            logout(request)
            messages.info(request, _("Your shift's sign-in has ended. Please sign in again."))
        elif has_idle_limit and now - active_at > idle_limit:
            logout(request)
            messages.info(
                request,
                _("You were signed out after %(minutes)d minutes without activity.") % {"minutes": idle_limit // 60},
            )
        elif _is_activity(request) and now - active_at >= ACTIVE_RESOLUTION_SECONDS:
            session[ACTIVE_AT] = now
            # the same user signing in elsewhere later moves last_login: this session keeps its own start
            session.setdefault(SIGNED_IN_AT, signed_in_at)


class PermissionsPolicyMiddleware:
    """Sets Permissions-Policy: no camera, microphone or location anywhere except the pages that need them
    (PERMISSIONS_POLICY_PATHS: the technician's phone pages record audio, take photos and send the position)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Permissions-Policy" not in response:
            policy = settings.PERMISSIONS_POLICY
            for prefix, allowed in settings.PERMISSIONS_POLICY_PATHS.items():
                if request.path.startswith(prefix):
                    policy = allowed
            response["Permissions-Policy"] = policy
        return response
