from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.exceptions import ApplicationError


def exception_handler(exc, context):
    """Turn ApplicationError into {"message", "extra"} with 400; leave everything else to DRF."""
    if isinstance(exc, ApplicationError):
        return Response({"message": str(exc.message), "extra": exc.extra}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
