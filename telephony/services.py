"""Calls from the phone system: record them once per call id, link them to the ticket made during the call, keep
their recordings outside the web root and hand out personal, expiring, logged links to play them."""

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import user_roles
from audit.models import AccessLog
from audit.services import access_log_record
from dispatch import crypto
from dispatch.exceptions import MediaNotAllowed
from dispatch.selectors import MEDIA_VIEWER_ROLES
from telephony.exceptions import CallIdReused, RecordingAlreadyAttached, RecordingLinkInvalid
from telephony.media import recording_inspect
from telephony.models import Call, RecordingAccess

RECORDING_LINK_SALT = "telephony.recording.link"


def call_record_incoming(
    *, external_id: str, caller: str, called: str, by, started_at=None, now=None
) -> tuple[Call, bool]:
    """Record an incoming call once per phone-system call id: a repeat with the same caller and number returns the
    call already kept and created=False. Raises InvalidPhone (caller) or CallIdReused (same id, another call)."""
    now = now or timezone.now()
    e164 = crypto.normalize_phone(caller)
    index = crypto.phone_index(e164)
    called = called.strip()
    # get_or_create leans on the unique external_id: two deliveries of the same event at once create one row.
    call, created = Call.objects.get_or_create(
        external_id=external_id.strip(),
        defaults={
            "caller": e164,
            "caller_index": index,
            "called": called,
            "started_at": started_at or now,
            "recorded_by": by,
            "created_at": now,
        },
    )
    if not created and (call.caller_index != index or call.called != called):
        raise CallIdReused(call.external_id)
    return call, created


def call_ticket_link(*, call_id: int, ticket) -> bool:
    """Link the call to the ticket the operator created while on it; the first ticket of a call keeps it. Returns
    whether the call was linked now."""
    return Call.objects.filter(pk=call_id, ticket__isnull=True).update(ticket=ticket) == 1


def call_recording_attach(*, call: Call, upload, by, now=None) -> tuple[Call, bool]:
    """Keep the call's recording (checked by content, hashed) in private storage; the same file sent again returns
    created=False. Raises MediaTooLarge, MediaEmpty, RecordingTypeNotAllowed or RecordingAlreadyAttached (another
    file is already kept for this call)."""
    now = now or timezone.now()
    intake = recording_inspect(upload=upload)
    if call.recording:
        return _kept(call=call, sha256=intake.sha256)
    name = f"call-{call.pk}-{intake.sha256[:16]}{intake.extension}"
    stored = call.recording.storage.save(f"calls/{now:%Y/%m}/{name}", upload)
    try:
        with transaction.atomic():
            # Guarded on "no recording yet": two uploads at once keep one file.
            attached = Call.objects.filter(pk=call.pk, recording="").update(
                recording=stored,
                recording_sha256=intake.sha256,
                recording_size=intake.size,
                recording_content_type=intake.content_type,
                recording_uploaded_at=now,
            )
    except IntegrityError:
        attached = 0
    if attached != 1:
        call.recording.storage.delete(stored)
        call.refresh_from_db()
        return _kept(call=call, sha256=intake.sha256)
    call.refresh_from_db()
    return call, True


def _kept(*, call: Call, sha256: str) -> tuple[Call, bool]:
    if call.recording_sha256 != sha256:
        raise RecordingAlreadyAttached()
    return call, False


def _may_play(user) -> bool:
    return not MEDIA_VIEWER_ROLES.isdisjoint(user_roles(user))


def call_recording_link_issue(*, call: Call, by, now=None) -> str:
    """Return a link token to play the call's recording, for this user only; raises MediaNotAllowed."""
    now = now or timezone.now()
    if not _may_play(by):
        raise MediaNotAllowed()
    return signing.TimestampSigner(salt=RECORDING_LINK_SALT).sign(f"{call.pk}.{by.pk}")


def call_recording_open(*, token: str, by, now=None) -> Call:
    """Return the call whose recording the link points at, for the user it was issued to, and log the playback (here
    and in the access log);
    raises RecordingLinkInvalid (forged, expired, another user's) or MediaNotAllowed."""
    now = now or timezone.now()
    try:
        payload = signing.TimestampSigner(salt=RECORDING_LINK_SALT).unsign(token, max_age=settings.MEDIA_LINK_SECONDS)
    except signing.BadSignature:
        raise RecordingLinkInvalid() from None
    call_id, _dot, user_id = payload.partition(".")
    if user_id != str(by.pk):
        raise RecordingLinkInvalid()
    if not _may_play(by):
        raise MediaNotAllowed()
    call = Call.objects.select_related("ticket").filter(pk=call_id).exclude(recording="").first()
    if call is None:
        raise RecordingLinkInvalid()
    RecordingAccess.objects.create(call=call, user=by, at=now)
    # The managers' searchable access log, beside the job recordings' entries.
    access_log_record(
        kind=AccessLog.Kind.MEDIA_VIEW, by=by, ticket=call.ticket, detail=f"call recording #{call.pk}", now=now
    )
    return call
