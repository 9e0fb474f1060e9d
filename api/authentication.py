from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from api.selectors import integration_key_get_by_token
from api.services import integration_key_touch


class IntegrationKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` or `X-Api-Key: <token>`: the request acts as the key's account, and
    request.auth is the IntegrationKey (its scopes are checked per view by api.permissions.HasScope)."""

    keyword = "Bearer"

    def authenticate(self, request):
        token = self._token(request)
        if token is None:
            return None  # no key given: the session (a signed-in operator) may still authenticate
        key = integration_key_get_by_token(token=token)
        if key is None:
            raise exceptions.AuthenticationFailed(_("This API key is not valid or was revoked."))
        integration_key_touch(key=key)
        return key.user, key

    def _token(self, request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _space, token = header.partition(" ")
            if scheme.lower() == self.keyword.lower() and token.strip():
                return token.strip()
            return None
        token = request.META.get("HTTP_X_API_KEY", "").strip()
        return token or None

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return self.keyword
