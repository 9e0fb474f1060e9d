"""Photos and repair recordings over HTTP: the phone's upload queue posts here, staff get a gallery of expiring
links, and every file is served only through such a link (never from a public URL)."""

import uuid

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import Role
from accounts.views import role_required
from config.exceptions import ApplicationError
from dispatch.exceptions import (
    MediaLinkExpired,
    MediaLinkInvalid,
    MediaNotAllowed,
    MediaTooLarge,
    NotYourJob,
)
from dispatch.media import request_size_limit
from dispatch.models import Media, MediaAccess, Ticket
from dispatch.selectors import media_list_for_ticket, ticket_province_limit, tickets_in_provinces
from dispatch.services import media_link_issue, media_open, media_upload

STATUS_FOR = {NotYourJob: 403, MediaNotAllowed: 403, MediaLinkExpired: 403, MediaLinkInvalid: 404, MediaTooLarge: 413}
GALLERY_ROLES = (Role.OPERATOR, Role.MANAGER, Role.REVIEWER)


def _status(error: ApplicationError) -> int:
    return STATUS_FOR.get(type(error), 400)


def _refuse(message: str, status: int) -> JsonResponse:
    return JsonResponse({"message": str(message)}, status=status)


@csrf_exempt  # the CSRF check runs in _upload, after the size check: the middleware would parse the body first
@require_POST
def upload(request, number: str):
    """Take one photo or recording from the phone's queue: JSON {id, created, sha256}, 201 new or 200 already kept
    (a retry), else {message} with 400, 401 (log in again: the phone keeps the file), 403 or 413."""
    if not request.user.is_authenticated:
        return _refuse(_("Log in again; the file stays on this phone until then."), 401)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > request_size_limit():
        # Refused from the header alone: not one byte of the body is read or written to a temporary file.
        return _refuse(MediaTooLarge(request_size_limit()).message, 413)
    return _upload(request, number)


@csrf_protect
def _upload(request, number: str):
    ticket = Ticket.objects.filter(number=number).first()
    if ticket is None:
        return _refuse(_("There is no such job."), 404)
    try:
        client_id = uuid.UUID(request.POST.get("client_id", ""))
    except ValueError:
        return _refuse(_("The upload has no valid id. Take the photo or recording again."), 400)
    kind = request.POST.get("kind", "")
    if kind not in Media.Kind.values:
        return _refuse(_("Say whether this is a photo before, after, or a recording."), 400)
    upload = request.FILES.get("file")
    if upload is None:
        return _refuse(_("No file was received. It will be sent again."), 400)
    try:
        captured_at = parse_datetime(request.POST.get("captured_at", "")[:40])
    except ValueError:
        captured_at = None  # the phone's clock is only a claim: a bad one is dropped, not a reason to lose the file
    if captured_at is not None and timezone.is_naive(captured_at):
        captured_at = timezone.make_aware(captured_at)
    try:
        duration = int(float(request.POST.get("duration_seconds") or 0)) or None
    except ValueError:
        duration = None
    try:
        media, created = media_upload(
            ticket=ticket,
            kind=kind,
            upload=upload,
            client_id=client_id,
            by=request.user,
            sha256=request.POST.get("sha256", ""),
            captured_at=captured_at,
            duration_seconds=duration,
        )
    except ApplicationError as error:
        return _refuse(error.message, _status(error))
    return JsonResponse({"id": media.pk, "created": created, "sha256": media.sha256}, status=201 if created else 200)


@require_GET
@login_required
def open_file(request, token: str):
    """Stream a photo or recording for the user its link was issued to, and log the view or download (?download=1);
    403 for an expired link or a user not allowed, 404 for a forged one."""
    download = request.GET.get("download") == "1"
    try:
        media = media_open(
            token=token,
            by=request.user,
            action=MediaAccess.Action.DOWNLOAD if download else MediaAccess.Action.VIEW,
        )
    except ApplicationError as error:
        return HttpResponse(error.message, status=_status(error), content_type="text/plain; charset=utf-8")
    name = f"{media.ticket.number}-{media.kind}-{media.pk}{media.file.name[media.file.name.rfind('.') :]}"
    response = FileResponse(
        media.file.open("rb"), content_type=media.content_type, as_attachment=download, filename=name
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    # Shown on its own, the file can run nothing (defence in depth: only sniffed image and audio types are kept).
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    return response


@require_GET
@role_required(*GALLERY_ROLES)
def gallery(request, number: str):
    """The ticket page's photos and recordings, each with a fresh expiring link (issuing one is logged)."""
    limit = ticket_province_limit(user=request.user)
    ticket = get_object_or_404(tickets_in_provinces(Ticket.objects.all(), provinces=limit), number=number)
    now = timezone.now()
    items = [
        {"media": media, "token": media_link_issue(media=media, by=request.user, now=now)}
        for media in media_list_for_ticket(ticket=ticket)
    ]
    return render(request, "dispatch/dispatcher/_media.html", {"ticket": ticket, "media_items": items})
