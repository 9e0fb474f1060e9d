"""Byte-level intake of job photos and repair recordings: what a file really is (from its first bytes, never its
name or the browser's claim), whether it is within the size limit, and its sha256 — all in one pass over chunks."""

import hashlib
from dataclasses import dataclass

from django.conf import settings

from dispatch.exceptions import MediaEmpty, MediaTooLarge, MediaTypeNotAllowed
from dispatch.models import Media

# Sniffed type -> file extension stored on disk.
PHOTO_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/heic": ".heic",
    "image/heif": ".heif",
    "image/webp": ".webp",
}
AUDIO_TYPES = {"audio/webm": ".webm", "audio/ogg": ".ogg", "audio/mp4": ".m4a"}
# ISO base media files (HEIC photos, M4A audio) say what they are in the major brand of their `ftyp` box.
FTYP_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"hevc": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"M4A ": "audio/mp4",
    b"isom": "audio/mp4",
    b"mp42": "audio/mp4",
}
HEAD_BYTES = 16
PHOTO_KINDS = (Media.Kind.PHOTO_BEFORE, Media.Kind.PHOTO_AFTER)
# Room for the multipart boundaries and the small form fields around the file.
MULTIPART_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class Intake:
    content_type: str
    extension: str
    size: int
    sha256: str


def sniff_content_type(head: bytes) -> str | None:
    """Return the media type the first bytes of a file announce, or None if it is none we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska/WebM, what Chrome's MediaRecorder writes
        return "audio/webm"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head[4:8] == b"ftyp":
        return FTYP_BRANDS.get(head[8:12])
    return None


def accepted_types(kind: str) -> dict[str, str]:
    """Return the sniffed types (with their extensions) a media kind accepts; none for kinds not taken yet."""
    if kind in PHOTO_KINDS:
        return PHOTO_TYPES
    if kind == Media.Kind.RECORDING:
        return AUDIO_TYPES
    return {}


def size_limit(kind: str) -> int:
    """Return the largest accepted file of this kind, in bytes (settings: MEDIA_MAX_PHOTO_BYTES / _AUDIO_BYTES)."""
    return settings.MEDIA_MAX_AUDIO_BYTES if kind == Media.Kind.RECORDING else settings.MEDIA_MAX_PHOTO_BYTES


def request_size_limit() -> int:
    """Return the largest request body an upload may have, checked from Content-Length before the body is parsed."""
    return max(settings.MEDIA_MAX_PHOTO_BYTES, settings.MEDIA_MAX_AUDIO_BYTES) + MULTIPART_OVERHEAD


def media_inspect(*, upload, kind: str) -> Intake:
    """Check an uploaded file's size and real type and hash it, reading it once in chunks; raises MediaTooLarge
    (before reading a byte when the upload's size already says so), MediaEmpty or MediaTypeNotAllowed."""
    limit = size_limit(kind)
    types = accepted_types(kind)
    if not types:
        raise MediaTypeNotAllowed(kind)
    if upload.size is not None and upload.size > limit:
        raise MediaTooLarge(limit)
    digest = hashlib.sha256()
    head = b""
    size = 0
    content_type = None
    for chunk in upload.chunks():
        size += len(chunk)
        # The declared size may be wrong (a file still growing, a hand-made request): count what is really there.
        if size > limit:
            raise MediaTooLarge(limit)
        if content_type is None:
            head += chunk[: HEAD_BYTES - len(head)]
            if len(head) >= HEAD_BYTES:
                content_type = sniff_content_type(head)
                if content_type not in types:
                    raise MediaTypeNotAllowed(kind)
        digest.update(chunk)
    if size == 0:
        raise MediaEmpty()
    if content_type is None:  # shorter than HEAD_BYTES
        content_type = sniff_content_type(head)
        if content_type not in types:
            raise MediaTypeNotAllowed(kind)
    return Intake(content_type=content_type, extension=types[content_type], size=size, sha256=digest.hexdigest())
