"""The OpenAPI description of the API v1: key authentication, and the one error shape on every operation."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

V1 = "/api/v1/"


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers: a translated message, a stable code, and details."""

    message = serializers.CharField(help_text=_("For people, in the request's language."))
    code = serializers.CharField(help_text=_("For programs: invalid, not_authenticated, permission_denied, …"))
    extra = serializers.DictField(
        help_text=_("Details: `fields` (per-field messages) for invalid input, `wait` (seconds) when throttled.")
    )


ERROR_DESCRIPTIONS = {
    "400": _("Invalid input or refused by a business rule"),
    "401": _("No valid API key or session"),
    "403": _("The key or account lacks the permission, or the object is not theirs"),
    "404": _("No such object (or not visible to this caller)"),
    "409": _("The object is not in a state that allows this (someone else changed it, or it already happened)"),
    "413": _("The upload is too large"),
    "415": _("Unsupported content type"),
    "429": _("Too many requests for this key or user; retry after Retry-After seconds"),
}


class ApiAutoSchema(AutoSchema):
    """Adds the error responses each operation can give; a view lists extra ones in `error_codes`."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if not self.path.startswith(V1):
            return responses
        codes = {"401", "403", "429"}
        if "{" in self.path:
            codes.add("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes |= {"400", "415"}
        elif self.get_filter_backends() or getattr(self.view, "query_serializer", None) is not None:
            codes.add("400")
        codes |= set(getattr(self.view, "error_codes", ()))
        for code in sorted(codes - set(responses)):
            responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
            responses[code]["description"] = str(ERROR_DESCRIPTIONS[code])
        return responses

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        # The style's nested InputSerializer/OutputSerializer: named after their operation (CallIncomingInput…).
        if name.startswith(("Input", "Output")):
            name = type(self.view).__name__.removesuffix("Api") + name
        return name

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        query = getattr(self.view, "query_serializer", None)
        if query is not None and self.method == "GET":
            parameters = [*parameters, query]
        return parameters


class IntegrationKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.IntegrationKeyAuthentication"
    name = ["bearerAuth", "apiKeyAuth"]

    def get_security_requirement(self, auto_schema):
        return [{"bearerAuth": []}, {"apiKeyAuth": []}]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": str(_("An integration key: Bearer lk_…"))},
            {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
        ]


def only_v1_endpoints(endpoints):
    """Publish only the API v1 (the older /api/regions/ type-ahead is the console's own)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(V1)]
