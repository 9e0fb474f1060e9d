"""The API's one error shape: {"message": <translated>, "code": <machine-readable>, "extra": {...}}.

Validation errors carry the per-field messages in extra["fields"]; a throttled request carries extra["wait"]
(seconds, also in Retry-After). Views that set `unified_errors = False` (the older /api/regions/ type-ahead) keep DRF's
own body for DRF's errors; an ApplicationError gets this shape everywhere (a superset of the old {"message", "extra"}).
"""

import re

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.exceptions import ApplicationError

# A refusal because the record is not in the state the operation needs (someone else moved it, or it is already
# there) is a conflict; everything else a business rule refuses is a bad request.
CONFLICTS = frozenset(
    {
        "TicketChanged",
        "TransitionNotAllowed",
        "DuplicateOpenTicket",
        "ComplaintAlreadyOpen",
        "OfferClosed",
        "CallIdReused",
        "RecordingAlreadyAttached",
    }
)
FORBIDDEN = frozenset({"NotYourJob", "MediaNotAllowed"})
TOO_LARGE = frozenset({"MediaTooLarge"})


def error_body(*, message, code: str, extra: dict | None = None) -> dict:
    """Return the one error shape."""
    return {"message": str(message), "code": code, "extra": extra or {}}


def _code_of(error: ApplicationError) -> str:
    return str(error.extra.get("code") or re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower())


def _application_error(error: ApplicationError) -> Response:
    name = type(error).__name__
    if name in CONFLICTS:
        code = status.HTTP_409_CONFLICT
    elif name in FORBIDDEN:
        code = status.HTTP_403_FORBIDDEN
    elif name in TOO_LARGE:
        code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    else:
        code = status.HTTP_400_BAD_REQUEST
    extra = {key: value for key, value in error.extra.items() if key != "code"}
    return Response(error_body(message=error.message, code=_code_of(error), extra=extra), status=code)


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {
            key: _fields(value) if isinstance(value, dict) else [str(item) for item in _as_list(value)]
            for key, value in detail.items()
        }
    return {"non_field_errors": [str(item) for item in _as_list(detail)]}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _first_message(fields: dict) -> str | None:
    for value in fields.get("non_field_errors", []):
        return value
    return None


def exception_handler(exc, context):
    """Turn ApplicationError and DRF's errors into the one error shape, with DRF's status code and headers."""
    if isinstance(exc, ApplicationError):
        return _application_error(exc)
    view = context.get("view")
    if not getattr(view, "unified_errors", False):
        return drf_exception_handler(exc, context)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: Django's 500 handling and logging take over
    response = drf_exception_handler(exc, context)
    extra: dict = {}
    if isinstance(exc, exceptions.ValidationError):
        extra["fields"] = _fields(exc.detail)
        message = _first_message(extra["fields"]) or _("Some fields are missing or not valid; see extra.fields.")
        code = "invalid"
    else:
        message = exc.detail if not isinstance(exc.detail, (list, dict)) else exc.default_detail
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        if isinstance(exc, exceptions.Throttled):
            extra["wait"] = exc.wait
    response.data = error_body(message=message, code=code, extra=extra)
    return response
