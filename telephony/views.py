from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.views.decorators.http import require_GET

from config.exceptions import ApplicationError
from dispatch.exceptions import MediaNotAllowed
from telephony.services import call_recording_open


@require_GET
@login_required
def recording_open(request, token: str):
    """Stream a call recording to the staff member its link was issued to, and log the playback; 403 for a role
    that may not play recordings, 404 for a forged, expired or someone else's link."""
    try:
        call = call_recording_open(token=token, by=request.user)
    except ApplicationError as error:
        status = 403 if isinstance(error, MediaNotAllowed) else 404
        return HttpResponse(error.message, status=status, content_type="text/plain; charset=utf-8")
    response = FileResponse(call.recording.open("rb"), content_type=call.recording_content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; media-src 'self'; sandbox"
    return response
