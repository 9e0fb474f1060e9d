"""What a call recording may be: the audio types phone systems write (WAV, MP3) besides the browsers' ones."""

import hashlib

from django.conf import settings

from dispatch.exceptions import MediaEmpty, MediaTooLarge
from dispatch.media import AUDIO_TYPES, HEAD_BYTES, Intake, sniff_content_type
from telephony.exceptions import RecordingTypeNotAllowed

RECORDING_TYPES = {**AUDIO_TYPES, "audio/wav": ".wav", "audio/mpeg": ".mp3"}


def sniff_recording_type(head: bytes) -> str | None:
    """Return the audio type the first bytes announce (by content, never by the file name), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    # MP3: an ID3 tag first, or straight into an MPEG audio frame (11 sync bits set).
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    content_type = sniff_content_type(head)
    return content_type if content_type in RECORDING_TYPES else None


def recording_inspect(*, upload) -> Intake:
    """Check a call recording's size and real type and hash it, reading it once in chunks; raises MediaTooLarge
    (MEDIA_MAX_AUDIO_BYTES), MediaEmpty or RecordingTypeNotAllowed."""
    limit = settings.MEDIA_MAX_AUDIO_BYTES
    if upload.size is not None and upload.size > limit:
        raise MediaTooLarge(limit)
    digest = hashlib.sha256()
    head = b""
    size = 0
    for chunk in upload.chunks():
        size += len(chunk)
        if size > limit:
            raise MediaTooLarge(limit)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        digest.update(chunk)
    if size == 0:
        raise MediaEmpty()
    content_type = sniff_recording_type(head)
    if content_type is None:
        raise RecordingTypeNotAllowed()
    return Intake(
        content_type=content_type, extension=RECORDING_TYPES[content_type], size=size, sha256=digest.hexdigest()
    )
