"""Evidence forensics: safe intake of complaint photos and videos, and *signals* for the reviewer — never a verdict.

Background, formats and measured timings: ``shared/notes/evidence-forensics.md``. Everything here is a pure function
of the file's bytes and an :class:`EvidenceContext` the caller fills from the database, so the Celery task, the
``check_evidence`` command and the tests run exactly the same checks.

API
---
``evidence_open(*, data, declared_name, max_bytes, max_pixels=MAX_PIXELS) -> IntakeResult``
    Refuses a file over ``max_bytes`` before reading it all (``len()``, ``.size`` or ``fstat`` first, then counted while
    reading in chunks), sniffs the type from the first bytes (the extension and the browser's claim are ignored;
    ``IntakeResult.extension_matches`` says whether the name agreed), opens images with Pillow under a pixel budget
    (decompression-bomb guard: header only, no pixel is decoded) and computes the sha256 in the same pass. Raises an
    :class:`EvidenceRefused` subclass (``.code`` is stable: ``empty``, ``too_large``, ``type_not_allowed``,
    ``too_many_pixels``, ``unreadable``). ``IntakeResult.data`` holds the bytes read, so callers read once.
``display_copy(*, data, max_side=1600, quality=85) -> bytes``
    A JPEG re-encoded from the pixels only (orientation applied, at most ``max_side`` px, no EXIF/GPS/XMP/ICC/C2PA).
``perceptual_hashes(*, data) -> ImageHashes``
    64-bit pHash (DCT, the imagehash 4.3.2 algorithm) of the image and of its mirror, and dHash; signed ``bigint``
    values for PostgreSQL. ``low_detail`` marks near-uniform images, which all collide: never match them.
``evidence_signals(*, data=None, path=None, context, intake=None, hashes=None) -> list[Signal]``
    Every signal for one file, strongest level first. Each :class:`Signal` has ``kind``, ``level`` (``info``,
    ``notice`` or ``warning``), ``message`` (gettext, English msgid, rendered in the active language) and ``params``
    (JSON-safe). ``signal_message(kind=…, params=…)`` renders a stored signal again in the viewer's language.
    Kinds: ``aigc_label`` (GB 45438 implicit label in XMP, EXIF UserComment/ImageDescription, PNG text/private chunk,
    or an MP4/MKV metadata tag), ``c2pa_ai_source``, ``c2pa_manifest``, ``c2pa_mismatch``, ``iptc_ai_source``,
    ``generator_tag``, ``editing_software``, ``low_jpeg_quality``, ``no_capture_metadata``, ``capture_time``,
    ``gps_distance``, ``device_mix``, ``dup_other_complaint``, ``derived_from_tech_photo``, ``metadata_unreadable``
    and ``no_signals`` (nothing of level notice or above was found, which proves nothing).
    Levels: ``warning`` only where the file itself declares it is wholly AI-generated (GB 45438 Label 1, C2PA/IPTC
    source ``trainedAlgorithmicMedia``/``algorithmicMedia``); ``notice`` (需留意) for other provenance and
    near-duplicate findings; ``info`` (信息) for context that is usually innocent.
``hash_chunk_lists(value, radius) -> list[list[int]]`` and ``near_hash_sql(...)``
    Multi-index Hamming search in PostgreSQL: four 16-bit chunk columns with B-tree indexes, literal ``IN`` lists of
    every chunk value within ``radius // 4`` bits, then an exact ``bit_count`` filter (complete by pigeonhole).

Nothing here touches the database or the network (C2PA reads run with remote manifest and OCSP fetching off).
"""

import contextlib
import hashlib
import io
import itertools
import json
import math
import os
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import c2pa
import numpy as np
import scipy.fft
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageChops, ImageOps, UnidentifiedImageError

from config.exceptions import ApplicationError

CHECKER_VERSION = "1"
# About 40 MP: every phone camera in use fits; Pillow's own limit (89 MP, error only above 179 MP) is too generous.
MAX_PIXELS = 40_000_000
CHUNK_BYTES = 1024 * 1024
SHANGHAI = ZoneInfo("Asia/Shanghai")

IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
VIDEO_TYPES = {"video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm"}
PILLOW_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSION_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
}

AIGC_KEYS = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
# Tencent Cloud writes its own keys into EXIF ImageDescription (see the notes, §1); accepted only inside {"AIGC": …}.
TENCENT_AIGC_KEYS = ("ServiceProvider", "ServiceUser")
LABEL_MEANINGS = {
    "1": gettext_lazy("AI-generated"),
    "2": gettext_lazy("possibly AI-generated"),
    "3": gettext_lazy("suspected AI-generated"),
}
IPTC_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
XMP_NS = "http://ns.adobe.com/xap/1.0/"
PHOTOSHOP_NS = "http://ns.adobe.com/photoshop/1.0/"
# IPTC digital source types that mean generative or algorithmic content; digitalCapture/computationalCapture are
# ordinary phone photos and are deliberately absent.
AI_SOURCE_TYPES = {
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
}
WHOLLY_GENERATED_SOURCE_TYPES = {"trainedAlgorithmicMedia", "algorithmicMedia"}
# Names that image generators stamp into Software/Make/CreatorTool instead of a label (the notes, §2).
GENERATOR_NAMES = (
    "ideogram",
    "midjourney",
    "dall-e",
    "dall·e",
    "stable diffusion",
    "comfyui",
    "firefly",
    "jimeng",
    "即梦",
    "doubao",
    "豆包",
    "kling",
    "可灵",
    "tongyi",
    "通义",
    "文心",
)
# PNG text keys that Stable Diffusion front ends write with the generation prompt.
GENERATOR_PNG_KEYS = ("parameters", "prompt", "workflow")
SAME_PHOTO_MAX = 4  # pHash bands from the notes §3.4, to be recalibrated on real uploads
DERIVED_MAX = 12
# Searched among other complaints in PostgreSQL (near_hash_sql): radius 7 needs chunk lists of ±1 bit (17 values) and
# measured p95 6.9 ms at 1M hashes; radius 11 (±2 bits, 137 values) measured p95 22 ms: see docs/benchmarks.md.
DUP_OTHER_COMPLAINT_MAX = 7
LOW_DETAIL_STD = 4.0
LOW_JPEG_QUALITY = 70
MAX_TEXT_CHUNKS = 64
MAX_LABEL_BYTES = 16 * 1024
VIDEO_SCAN_BYTES = 4 * 1024 * 1024
MAX_MATCHES = 5
C2PA_CONTEXT_SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}


class Level:
    INFO = "info"
    NOTICE = "notice"
    WARNING = "warning"


LEVEL_ORDER = {Level.WARNING: 0, Level.NOTICE: 1, Level.INFO: 2}


# ---------------------------------------------------------------------------------------------------- errors


class EvidenceRefused(ApplicationError):
    code = "refused"


class EvidenceEmpty(EvidenceRefused):
    code = "empty"

    def __init__(self) -> None:
        super().__init__(_("The file is empty."), {"code": self.code})


class EvidenceTooLarge(EvidenceRefused):
    code = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            _("The file is larger than %(mb)s MB. Send a smaller photo or a shorter video.") % {"mb": limit // 2**20},
            {"code": self.code, "limit": limit},
        )


class EvidenceTypeNotAllowed(EvidenceRefused):
    code = "type_not_allowed"

    def __init__(self, detected: str | None) -> None:
        super().__init__(
            _("This file is not a JPEG, PNG or WebP photo or an MP4, MOV or WebM video."),
            {"code": self.code, "detected": detected},
        )


class EvidenceTooManyPixels(EvidenceRefused):
    code = "too_many_pixels"

    def __init__(self, width: int | None, height: int | None, limit: int) -> None:
        super().__init__(
            _("The image is too large to open safely (more than %(mp)s megapixels).") % {"mp": limit // 1_000_000},
            {"code": self.code, "width": width, "height": height, "limit": limit},
        )


class EvidenceUnreadable(EvidenceRefused):
    code = "unreadable"

    def __init__(self, detected: str) -> None:
        super().__init__(
            _("The file looks like %(type)s but cannot be read. It may be damaged or cut short.") % {"type": detected},
            {"code": self.code, "detected": detected},
        )


# ---------------------------------------------------------------------------------------------------- intake


@dataclass(frozen=True)
class IntakeResult:
    content_type: str
    extension: str
    size: int
    sha256: str
    extension_matches: bool
    width: int | None = None
    height: int | None = None
    data: bytes = field(default=b"", repr=False)

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGE_TYPES


def sniff_content_type(head: bytes) -> str | None:
    """Return the evidence media type the first bytes announce, or None for anything else (HEIC included)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"3gp4", b"3gp5", b"dash"):
            return "video/mp4"
    return None


def _declared_size(data) -> int | None:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return len(data)
    size = getattr(data, "size", None)
    if isinstance(size, int):
        return size
    try:
        return os.fstat(data.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def _chunks(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK_BYTES):
            yield bytes(view[start : start + CHUNK_BYTES])
    elif hasattr(data, "chunks"):  # Django File / UploadedFile
        yield from data.chunks(CHUNK_BYTES)
    else:
        while chunk := data.read(CHUNK_BYTES):
            yield chunk


def evidence_open(*, data, declared_name: str, max_bytes: int, max_pixels: int = MAX_PIXELS) -> IntakeResult:
    """Read, size-check, sniff, bomb-check and hash one evidence file; raises an EvidenceRefused subclass."""
    declared = _declared_size(data)
    if declared is not None and declared > max_bytes:
        raise EvidenceTooLarge(max_bytes)
    digest = hashlib.sha256()
    parts = []
    size = 0
    for chunk in _chunks(data):
        size += len(chunk)
        # A declared size can lie (a growing file, a hand-made request): count what is really there.
        if size > max_bytes:
            raise EvidenceTooLarge(max_bytes)
        digest.update(chunk)
        parts.append(chunk)
    if size == 0:
        raise EvidenceEmpty()
    content = b"".join(parts)
    content_type = sniff_content_type(content[:16])
    if content_type not in IMAGE_TYPES and content_type not in VIDEO_TYPES:
        raise EvidenceTypeNotAllowed(content_type)
    width = height = None
    if content_type in IMAGE_TYPES:
        with _open_image(content, content_type, max_pixels) as image:
            width, height = image.size
    extension = IMAGE_TYPES.get(content_type) or VIDEO_TYPES[content_type]
    declared_extension = os.path.splitext(declared_name or "")[1].lower()
    return IntakeResult(
        content_type=content_type,
        extension=extension,
        size=size,
        sha256=digest.hexdigest(),
        extension_matches=EXTENSION_TYPES.get(declared_extension) == content_type,
        width=width,
        height=height,
        data=content,
    )


def _open_image(data: bytes, content_type: str | None = None, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open an image's header under the pixel budget; Pillow's bomb warning is turned into a refusal too."""
    content_type = content_type or sniff_content_type(data[:16]) or "image"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(PILLOW_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise EvidenceTooManyPixels(None, None, max_pixels) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as error:
        raise EvidenceUnreadable(content_type) from error
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise EvidenceTooManyPixels(width, height, max_pixels)
    if PILLOW_FORMATS.get(image.format) != content_type:
        image.close()
        raise EvidenceUnreadable(content_type)
    return image


# ---------------------------------------------------------------------------------------------------- display copy


def display_copy(*, data: bytes, max_side: int = 1600, quality: int = 85, max_pixels: int = MAX_PIXELS) -> bytes:
    """Return a JPEG built from the pixels only (upright, at most max_side px, no EXIF/GPS/XMP); raises
    EvidenceRefused for files that are not safe images."""
    with _open_image(data, max_pixels=max_pixels) as image:
        if image.format == "JPEG":
            image.draft("RGB", (max_side, max_side))  # DCT-scaled decode: several times faster on 12 MP photos
        try:
            upright = ImageOps.exif_transpose(image)
        except (OSError, ValueError, SyntaxError, struct.error) as error:
            raise EvidenceUnreadable(image.format) from error
        if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
            rgba = upright.convert("RGBA")
            upright = Image.new("RGB", rgba.size, (255, 255, 255))
            upright.paste(rgba, mask=rgba.getchannel("A"))
        else:
            upright = upright.convert("RGB")
        upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # A new image carries no info dict: nothing but pixels is written (no exif=, xmp=, icc_profile=).
        clean = Image.new("RGB", upright.size)
        clean.paste(upright)
        clean.save(out, "JPEG", quality=quality)
        return out.getvalue()


# ---------------------------------------------------------------------------------------------------- hashes


@dataclass(frozen=True)
class ImageHashes:
    phash: int
    phash_mirror: int
    dhash: int
    low_detail: bool

    def as_params(self) -> dict:
        return {
            "algorithm": "phash",
            "phash": _hex(self.phash),
            "phash_mirror": _hex(self.phash_mirror),
            "dhash": _hex(self.dhash),
            "low_detail": self.low_detail,
        }


def _signed(value: int) -> int:
    """Fold an unsigned 64-bit hash into PostgreSQL's signed bigint range."""
    return value - 2**64 if value >= 2**63 else value


def _hex(value: int) -> str:
    return f"{value & (2**64 - 1):016x}"


def _bits_to_int(bits: np.ndarray) -> int:
    return _signed(int("".join("1" if bit else "0" for bit in bits.flatten()), 2))


def hamming(a: int, b: int) -> int:
    """Return the number of differing bits between two 64-bit hashes (signed or unsigned)."""
    return ((a ^ b) & (2**64 - 1)).bit_count()


def _phash(gray: Image.Image) -> int:
    # imagehash.phash: 32x32 greyscale, 2-D DCT-II, the 8x8 lowest frequencies against their median.
    pixels = np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    dct = scipy.fft.dct(scipy.fft.dct(pixels, axis=0), axis=1)
    low = dct[:8, :8]
    return _bits_to_int(low > np.median(low))


def perceptual_hashes(*, data: bytes, max_pixels: int = MAX_PIXELS) -> ImageHashes:
    """Return pHash (and of the mirror image) and dHash of an image, hashed upright from a DCT-scaled draft."""
    with _open_image(data, max_pixels=max_pixels) as image:
        if image.format == "JPEG":
            # Hashes of the 1/4-scale draft equal the full decode's (notes §3): 53 ms instead of 663 ms at 12 MP.
            image.draft("L", (512, 512))
        upright = ImageOps.exif_transpose(image)
        if upright.mode in ("RGBA", "LA", "PA", "P"):
            upright = upright.convert("RGBA")
            flat = Image.new("RGB", upright.size, (255, 255, 255))
            flat.paste(upright, mask=upright.getchannel("A"))
            upright = flat
        gray = upright.convert("L")
    small = np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    dhash_pixels = np.asarray(gray.resize((9, 8), Image.Resampling.LANCZOS), dtype=np.int32)
    return ImageHashes(
        phash=_phash(gray),
        phash_mirror=_phash(ImageOps.mirror(gray)),
        dhash=_bits_to_int(dhash_pixels[:, 1:] > dhash_pixels[:, :-1]),
        low_detail=bool(small.std() < LOW_DETAIL_STD),
    )


def hash_chunks(value: int) -> tuple[int, int, int, int]:
    """Split a 64-bit hash into four 16-bit chunks, high first: the values of the indexed columns c0..c3."""
    unsigned = value & (2**64 - 1)
    return tuple((unsigned >> shift) & 0xFFFF for shift in (48, 32, 16, 0))


def hash_chunk_lists(value: int, radius: int) -> list[list[int]]:
    """Return, per chunk, every 16-bit value within radius // 4 bits of this hash's chunk. A hash within `radius`
    bits differs in at most radius // 4 bits in at least one of the four chunks (pigeonhole), so the lists find all."""
    flips = radius // 4
    lists = []
    for chunk in hash_chunks(value):
        values = [chunk]
        for count in range(1, flips + 1):
            for positions in itertools.combinations(range(16), count):
                mask = 0
                for position in positions:
                    mask |= 1 << position
                values.append(chunk ^ mask)
        lists.append(values)
    return lists


def near_hash_sql(
    *, table: str, value: int, radius: int, columns: str = "*", value_column: str = "value", chunk_prefix: str = "c"
) -> tuple[str, list]:
    """Return (sql, params) selecting rows of `table` whose hash is within `radius` bits of `value`, using the chunk
    columns' B-tree indexes. The lists are literal (psycopg2 binds client-side): `IN (subquery)` makes PostgreSQL
    fall back to a sequential scan (notes §3.5)."""
    lists = hash_chunk_lists(value, radius)
    ors = " OR ".join(f"{chunk_prefix}{index} IN %s" for index in range(4))
    # Table and column names come from our code, never from input; the values are bound parameters.
    sql = f"SELECT {columns} FROM {table} WHERE ({ors}) AND bit_count(({value_column} # %s)::bit(64)) <= %s"  # noqa: S608
    return sql, [*(tuple(values) for values in lists), _signed(value), radius]


# ---------------------------------------------------------------------------------------------------- context


@dataclass(frozen=True)
class HashRef:
    """A stored photo to compare against: its pHash and how to name it to the reviewer."""

    phash: int
    ref: str  # Media / Evidence primary key or file name
    kind: str = ""  # technician photos: "before" / "after"
    complaint_number: str = ""
    complaint_date: str = ""  # YYYY-MM-DD, Asia/Shanghai


@dataclass(frozen=True)
class EvidenceContext:
    """What the checks need from the database, passed in so they stay pure. Times are aware (UTC)."""

    ticket_created_at: datetime | None = None
    technician_arrived_at: datetime | None = None
    ticket_completed_at: datetime | None = None
    complaint_filed_at: datetime | None = None
    address_lat: float | None = None
    address_lng: float | None = None
    address_datum: str = "unknown"  # "wgs84" (browser geolocation), "gcj02" (AMap/Tencent picks) or "unknown"
    other_devices: tuple[str, ...] = ()  # "Make Model" of the complaint's other files
    technician_photos: tuple[HashRef, ...] = ()  # this job's before/after photos
    other_complaint_photos: tuple[HashRef, ...] = ()  # candidates from the PostgreSQL search (near_hash_sql)


# ---------------------------------------------------------------------------------------------------- signals

MESSAGES = {
    "aigc_label": gettext_lazy(
        "Metadata carries a GB 45438 AI-content label (Label %(label)s: %(label_meaning)s; producer %(producer)s). "
        "The file went through an AI generation/editing service; this alone does not prove the damage is fake."
    ),
    "c2pa_ai_source": gettext_lazy(
        'Content Credentials (C2PA) record source type "%(source_type)s", signed by %(issuer)s '
        "(not checked against a trust list)."
    ),
    "c2pa_manifest": gettext_lazy(
        "Content Credentials (C2PA) present, signed by %(issuer)s (not checked against a trust list); "
        "no AI source type recorded."
    ),
    "c2pa_mismatch": gettext_lazy(
        "The Content Credentials (C2PA) no longer match this file (%(codes)s): it was changed after signing."
    ),
    "iptc_ai_source": gettext_lazy("Metadata declares AI generation/editing (IPTC: %(source_type)s%(credit)s)."),
    "generator_tag": gettext_lazy("The file's tool fields name an AI image generator (%(tool)s)."),
    "editing_software": gettext_lazy(
        "Saved by %(software)s. Ordinary edits (beautify, crop, compress) leave this too."
    ),
    "low_jpeg_quality": gettext_lazy(
        "Saved at low JPEG quality (about %(quality)s). Messaging apps do this; it is not a sign of editing."
    ),
    "no_capture_metadata": gettext_lazy("No capture metadata. Common after WeChat compressed sends or screenshots."),
    "capture_time_before": gettext_lazy(
        "Captured %(time)s (%(delta)s before the technician arrived). Capture time can be edited."
    ),
    "capture_time_before_ticket": gettext_lazy(
        "Captured %(time)s (%(delta)s before the ticket was created). Capture time can be edited."
    ),
    "capture_time_after": gettext_lazy(
        "Captured %(time)s (%(delta)s after the complaint was filed). Capture time can be edited."
    ),
    "capture_time_within": gettext_lazy(
        "Captured %(time)s, between the visit and the complaint. Capture time can be edited."
    ),
    "gps_distance": gettext_lazy(
        "Photo location is about %(km)s km from the service address (datum offsets of hundreds of metres are normal)."
    ),
    "device_mix": gettext_lazy("Photos in this complaint come from %(count)s devices: %(models)s."),
    "dup_other_complaint_same": gettext_lazy(
        "Identical to a photo in complaint %(complaint)s (%(date)s), distance %(distance)s/64."
    ),
    "dup_other_complaint_near": gettext_lazy(
        "Near-identical to a photo in complaint %(complaint)s (%(date)s), distance %(distance)s/64."
    ),
    "derived_same": gettext_lazy(
        "Identical to the technician's %(photo)s photo (%(distance)s/64); may be edited from it. Compare side by side."
    ),
    "derived_near": gettext_lazy(
        "Very similar to, with local differences, the technician's %(photo)s photo (%(distance)s/64); "
        "may be edited from it. Compare side by side."
    ),
    "metadata_unreadable": gettext_lazy("Metadata present but unreadable."),
    "no_signals": gettext_lazy("No metadata signals found (this does not confirm the photo is genuine)."),
}
PHOTO_KINDS = {"before": gettext_lazy("before"), "after": gettext_lazy("after")}


@dataclass(frozen=True)
class Signal:
    kind: str
    level: str
    message: str
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "level": self.level, "message": self.message, "params": self.params}


def signal_message(*, kind: str, params: dict) -> str:
    """Return the reviewer's sentence for a signal in the active language (for rows stored earlier)."""
    template = MESSAGES[params.get("message_code", kind)]
    values = dict(params)
    if kind == "aigc_label":
        values["label_meaning"] = LABEL_MEANINGS.get(str(params.get("label")), "?")
        values["producer"] = params.get("producer") or "?"
    elif kind == "iptc_ai_source":
        values["credit"] = f", {params['credit']}" if params.get("credit") else ""
    elif kind in ("capture_time",):
        values["time"] = params["local_time"]
        values["delta"] = _duration(params.get("delta_seconds", 0))
    elif kind == "derived_from_tech_photo":
        values["photo"] = PHOTO_KINDS.get(params.get("photo_kind"), params.get("photo_kind", ""))
    elif kind == "device_mix":
        values["models"] = "、".join(params["models"])
    elif kind == "c2pa_mismatch":
        values["codes"] = ", ".join(params["codes"])
    return str(template) % values


def _signal(kind: str, level: str, **params) -> Signal:
    return Signal(kind=kind, level=level, message=signal_message(kind=kind, params=params), params=params)


def _duration(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


# ---------------------------------------------------------------------------------------------------- metadata probe


@dataclass
class Probe:
    """What the metadata says, read without decoding pixels. Values are verbatim, strings capped."""

    content_type: str
    exif: dict = field(default_factory=dict)
    xmp: list[bytes] = field(default_factory=list)
    texts: dict = field(default_factory=dict)  # PNG tEXt/iTXt/zTXt and private AIGC chunks
    jpeg_quality: int | None = None
    labels: list[dict] = field(default_factory=list)  # {"place", "fields", "variant"}
    iptc_source_types: list[str] = field(default_factory=list)
    credit: str = ""
    creator_tools: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    @property
    def device(self) -> str:
        return " ".join(part for part in (self.exif.get("Make", ""), self.exif.get("Model", "")) if part).strip()


EXIF_BASE_TAGS = {0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software", 0x013B: "Artist"}
EXIF_SUB_TAGS = {0x9003: "DateTimeOriginal", 0x9011: "OffsetTimeOriginal", 0x9286: "UserComment"}


def _text(value, limit: int = MAX_LABEL_BYTES) -> str:
    if isinstance(value, str):
        # Pillow decodes EXIF ASCII fields as Latin-1; Chinese apps write UTF-8 there (美图秀秀, 华为).
        # Text that is not mis-decoded UTF-8 is kept as Pillow read it.
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            value = value.encode("latin-1").decode("utf-8")
    if isinstance(value, bytes):
        value = value[:limit].decode("utf-8", "replace")
    return str(value)[:limit].replace("\x00", "").strip()


def _user_comment(raw) -> str:
    """Decode EXIF UserComment: an 8-byte character code, then the text."""
    if isinstance(raw, str):
        return raw
    raw = bytes(raw[: MAX_LABEL_BYTES + 8])
    prefix, body = raw[:8], raw[8:]
    if prefix.startswith(b"UNICODE"):
        for encoding in ("utf-16-be", "utf-16-le"):
            text = body.decode(encoding, "replace")
            if "{" in text:
                return text
        return body.decode("utf-16-be", "replace")
    if prefix.startswith(b"ASCII") or prefix == b"\x00" * 8:
        return body.decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")  # no prefix at all: some writers put the JSON straight in


def _aigc_fields(text: str) -> tuple[dict, str] | None:
    """Return the label's fields (verbatim) and variant if `text` is a GB 45438 label, wrapped or bare."""
    text = text.strip().strip("\x00")
    if not text.startswith("{") or len(text) > MAX_LABEL_BYTES:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    wrapped = isinstance(parsed.get("AIGC"), dict)
    inner = parsed["AIGC"] if wrapped else parsed
    fields = {str(key): _text(value, 512) for key, value in inner.items() if isinstance(value, (str, int, float))}
    if any(key in fields for key in AIGC_KEYS):
        return fields, "annex_e"
    if wrapped and any(key in fields for key in TENCENT_AIGC_KEYS):
        return fields, "tencent"
    return None


def _parse_xmp(probe: Probe, packet: bytes, place: str) -> None:
    try:
        root = SafeElementTree.fromstring(packet[: 1024 * 1024], forbid_dtd=True)
    except (SafeElementTree.ParseError, DefusedXmlException, ValueError):
        probe.unreadable.append(place)
        return
    for element in root.iter():
        tag_ns, _sep, tag_name = element.tag.rpartition("}")
        candidates = [(tag_ns.lstrip("{"), tag_name, (element.text or "").strip())]
        for attribute, value in element.attrib.items():
            attribute_ns, _sep, attribute_name = attribute.rpartition("}")
            candidates.append((attribute_ns.lstrip("{"), attribute_name, value))
        for namespace, name, value in candidates:
            if name == "AIGC" and value:
                # The TC260 sample's namespace is only an "example address": accept AIGC in any namespace.
                parsed = _aigc_fields(value)
                if parsed:
                    probe.labels.append({"place": place, "fields": parsed[0], "variant": parsed[1]})
            elif namespace == IPTC_NS and name == "DigitalSourceType":
                source = value or element.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}resource", "")
                if source:
                    probe.iptc_source_types.append(source.rstrip("/").rsplit("/", 1)[-1][:200])
            elif namespace == XMP_NS and name == "CreatorTool" and value:
                probe.creator_tools.append(value[:200])
            elif namespace == PHOTOSHOP_NS and name == "Credit" and value:
                probe.credit = value[:200]


def _png_text_chunks(data: bytes) -> tuple[dict, list[bytes]]:
    """Walk PNG chunks (bounded) for text and private AIGC chunks, including those after IDAT, without decoding."""
    texts: dict[str, str] = {}
    xmp: list[bytes] = []
    offset = 8
    seen = 0
    while offset + 8 <= len(data) and seen < 10_000:
        seen += 1
        length, chunk_type = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if chunk_type == b"IEND":
            break
        if len(texts) >= MAX_TEXT_CHUNKS or length > 4 * MAX_LABEL_BYTES * 16:
            continue
        try:
            if chunk_type == b"tEXt":
                key, _sep, value = body.partition(b"\x00")
                texts[key.decode("latin-1")] = value.decode("latin-1")
            elif chunk_type == b"zTXt":
                key, _sep, rest = body.partition(b"\x00")
                inflater = zlib.decompressobj()
                texts[key.decode("latin-1")] = inflater.decompress(rest[1:], MAX_LABEL_BYTES).decode("latin-1")
            elif chunk_type == b"iTXt":
                key, _sep, rest = body.partition(b"\x00")
                compressed, _method = rest[0], rest[1]
                _language, _sep, rest = rest[2:].partition(b"\x00")
                _translated, _sep, value = rest.partition(b"\x00")
                if compressed:
                    value = zlib.decompressobj().decompress(value, 1024 * 1024)
                name = key.decode("latin-1")
                if name == "XML:com.adobe.xmp":
                    xmp.append(value)
                else:
                    texts[name] = value.decode("utf-8", "replace")
            elif chunk_type.lower() == b"aigc":
                texts["AIGC"] = body[:MAX_LABEL_BYTES].decode("utf-8", "replace")
        except (IndexError, zlib.error, UnicodeDecodeError):
            texts.setdefault("_unreadable", chunk_type.decode("latin-1"))
    return texts, xmp


def _jpeg_quality(image: Image.Image) -> int | None:
    """Estimate the libjpeg quality setting from the luminance quantisation table (order-independent: sums)."""
    tables = getattr(image, "quantization", None)
    if not tables or 0 not in tables:
        return None
    scale = sum(tables[0]) / sum(STANDARD_LUMINANCE) * 100
    quality = (200 - scale) / 2 if scale <= 100 else 5000 / scale
    return max(1, min(100, round(quality)))


STANDARD_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
    87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip


def probe_image(data: bytes, content_type: str) -> Probe:
    """Read EXIF, XMP, PNG text and JPEG quality of an image without decoding its pixels."""
    probe = Probe(content_type=content_type)
    with _open_image(data, content_type) as image:
        try:
            exif = image.getexif()
            for tag, name in EXIF_BASE_TAGS.items():
                if tag in exif:
                    probe.exif[name] = _text(exif[tag])
            sub = exif.get_ifd(0x8769)
            for tag, name in EXIF_SUB_TAGS.items():
                if tag in sub:
                    probe.exif[name] = _user_comment(sub[tag]) if tag == 0x9286 else _text(sub[tag])
            gps = exif.get_ifd(0x8825)
            if gps:
                probe.exif["GPS"] = {str(key): _gps_value(value) for key, value in gps.items() if key in (1, 2, 3, 4)}
        except (OSError, ValueError, SyntaxError, struct.error, TypeError, KeyError):
            probe.unreadable.append("exif")
        if content_type == "image/png":
            texts, xmp_packets = _png_text_chunks(data)
            probe.texts = texts
            probe.xmp.extend(xmp_packets)
            if "_unreadable" in texts:
                probe.unreadable.append("png_text")
        else:
            packet = image.info.get("xmp")
            if packet:
                probe.xmp.append(packet if isinstance(packet, bytes) else str(packet).encode())
        if content_type == "image/jpeg":
            probe.jpeg_quality = _jpeg_quality(image)
    for name in ("UserComment", "ImageDescription"):
        if probe.exif.get(name):
            parsed = _aigc_fields(probe.exif[name])
            if parsed:
                probe.labels.append({"place": f"exif_{name}", "fields": parsed[0], "variant": parsed[1]})
    if probe.texts.get("AIGC"):
        parsed = _aigc_fields(probe.texts["AIGC"])
        if parsed:
            probe.labels.append({"place": "png_text", "fields": parsed[0], "variant": parsed[1]})
    for packet in probe.xmp:
        _parse_xmp(probe, packet, "xmp")
    return probe


def _gps_value(value):
    if isinstance(value, tuple):
        return [float(part) for part in value]
    return _text(value, 8)


def probe_video(data: bytes, content_type: str) -> Probe:
    """Look for an AIGC metadata tag in the head and tail of a video container (bounded byte scan, no demuxing)."""
    probe = Probe(content_type=content_type)
    regions = [data[:VIDEO_SCAN_BYTES]]
    if len(data) > VIDEO_SCAN_BYTES:
        regions.append(data[-VIDEO_SCAN_BYTES:])
    for region in regions:
        for match in re.finditer(rb"\{[^{}]{0,4096}?\}\}?", region):
            start = match.start()
            # A wrapped label is {"AIGC":{…}}: take the outer object when the match is its inner part.
            outer = region.rfind(b'{"AIGC"', max(0, start - 16), start + 1)
            text = region[outer if outer >= 0 else start : match.end()].decode("utf-8", "replace")
            parsed = _aigc_fields(text) or _aigc_fields(text[: text.rfind("}")] if text.endswith("}}") else text)
            if parsed and not any(label["fields"] == parsed[0] for label in probe.labels):
                probe.labels.append({"place": "video_metadata", "fields": parsed[0], "variant": parsed[1]})
    return probe


# ---------------------------------------------------------------------------------------------------- checks


def _label_signals(probe: Probe) -> list[Signal]:
    signals = []
    distinct: dict[str, dict] = {}
    for label in probe.labels:
        key = json.dumps(label["fields"], sort_keys=True, ensure_ascii=False)
        distinct.setdefault(key, {"fields": label["fields"], "variant": label["variant"], "places": []})
        distinct[key]["places"].append(label["place"])
    for entry in distinct.values():
        fields = entry["fields"]
        label = fields.get("Label", "")
        producer = fields.get("ContentProducer") or fields.get("ServiceProvider") or ""
        level = Level.WARNING if label == "1" else Level.NOTICE
        signals.append(
            _signal(
                "aigc_label",
                level,
                label=label or "?",
                producer=producer,
                places=entry["places"],
                variant=entry["variant"],
                # Reserved codes may carry a signature; no public keys exist, so it is "present, not verified".
                protected=bool(fields.get("ReservedCode1") or fields.get("ReservedCode2")),
                fields=fields,
            )
        )
    return signals


def _c2pa_signals(data: bytes, content_type: str) -> list[Signal]:
    try:
        context = c2pa.Context.from_dict(C2PA_CONTEXT_SETTINGS)
        reader = c2pa.Reader.try_create(content_type, io.BytesIO(data), context=context)
    except c2pa.C2paError as error:
        # A broken or unsupported JUMBF box: say it is unreadable rather than hide it.
        return [_signal("metadata_unreadable", Level.INFO, place="c2pa", error=str(error)[:200])]
    if reader is None:
        return []
    with reader:
        manifest = reader.get_active_manifest() or {}
        state = reader.get_validation_state() or ""
        results = reader.get_validation_results() or {}
    signature = manifest.get("signature_info") or {}
    issuer = _text(signature.get("issuer") or signature.get("common_name") or "?", 200)
    source_types = []
    actions = []
    for assertion in manifest.get("assertions") or []:
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in (assertion.get("data") or {}).get("actions") or []:
                actions.append(_text(action.get("action", ""), 100))
                source = action.get("digitalSourceType")
                if source:
                    source_types.append(str(source).rstrip("/").rsplit("/", 1)[-1][:200])
    failures = [
        item.get("code", "")
        for item in (results.get("activeManifest") or {}).get("failure") or []
        if item.get("code") != "signingCredential.untrusted"  # expected: no trust anchors are loaded
    ]
    base = {"issuer": issuer, "validation_state": state, "actions": actions, "source_types": source_types}
    signals = []
    ai_sources = [source for source in source_types if source in AI_SOURCE_TYPES]
    if ai_sources:
        wholly = any(source in WHOLLY_GENERATED_SOURCE_TYPES for source in ai_sources)
        signals.append(
            _signal("c2pa_ai_source", Level.WARNING if wholly else Level.NOTICE, source_type=ai_sources[0], **base)
        )
    else:
        signals.append(_signal("c2pa_manifest", Level.INFO, **base))
    if state == "Invalid" or failures:
        signals.append(_signal("c2pa_mismatch", Level.NOTICE, codes=failures or [state], issuer=issuer))
    return signals


def _tool_signals(probe: Probe) -> list[Signal]:
    signals = []
    tools = []
    for value in (probe.exif.get("Software", ""), *probe.creator_tools):
        value = value.strip()
        # iOS writes its version ("17.2") and phone makers their firmware: that is the camera, not an editor.
        if not value or re.fullmatch(r"[\d._ ]+", value) or value in tools:
            continue
        make = probe.exif.get("Make", "").strip().lower()
        if make and value.lower().startswith(make):
            continue
        tools.append(value)
    stamped = [*tools, probe.exif.get("Make", ""), probe.exif.get("Model", ""), probe.credit]
    generator = next(
        (value for value in stamped if value and any(name in value.lower() for name in GENERATOR_NAMES)), None
    )
    generator_keys = [key for key in GENERATOR_PNG_KEYS if key in probe.texts]
    if generator or generator_keys:
        signals.append(
            _signal("generator_tag", Level.NOTICE, tool=generator or ", ".join(generator_keys), png_keys=generator_keys)
        )
    for tool in tools:
        if tool != generator:
            signals.append(_signal("editing_software", Level.INFO, software=tool))
    if probe.jpeg_quality is not None and probe.jpeg_quality <= LOW_JPEG_QUALITY:
        signals.append(_signal("low_jpeg_quality", Level.INFO, quality=probe.jpeg_quality))
    return signals


def _iptc_signals(probe: Probe) -> list[Signal]:
    for source in probe.iptc_source_types:
        if source in AI_SOURCE_TYPES:
            level = Level.WARNING if source in WHOLLY_GENERATED_SOURCE_TYPES else Level.NOTICE
            return [_signal("iptc_ai_source", level, source_type=source, credit=probe.credit)]
    return []


def capture_time(probe: Probe) -> datetime | None:
    """Return EXIF DateTimeOriginal as an aware datetime (Asia/Shanghai when the file gives no offset)."""
    raw = probe.exif.get("DateTimeOriginal", "")
    try:
        naive = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007 - the zone is applied below
    except ValueError:
        return None
    offset = re.fullmatch(r"([+-])(\d{2}):(\d{2})", probe.exif.get("OffsetTimeOriginal", "").strip())
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        delta = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
        return naive.replace(tzinfo=timezone(sign * delta))
    return naive.replace(tzinfo=SHANGHAI)


def _time_signals(probe: Probe, context: EvidenceContext) -> list[Signal]:
    taken = capture_time(probe)
    if taken is None:
        return []
    params = {
        "captured_at": taken.astimezone(UTC).isoformat(),
        "local_time": f"{taken.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
    }
    anchor, code = context.technician_arrived_at, "capture_time_before"
    if anchor is None:
        anchor, code = context.ticket_created_at, "capture_time_before_ticket"
    if anchor is not None and taken < anchor:
        delta = (anchor - taken).total_seconds()
        return [_signal("capture_time", Level.NOTICE, message_code=code, delta_seconds=delta, **params)]
    if context.complaint_filed_at is not None and taken > context.complaint_filed_at:
        delta = (taken - context.complaint_filed_at).total_seconds()
        return [_signal("capture_time", Level.INFO, message_code="capture_time_after", delta_seconds=delta, **params)]
    if anchor is not None:
        return [_signal("capture_time", Level.INFO, message_code="capture_time_within", delta_seconds=0, **params)]
    return []


def _gps_degrees(values, ref) -> float | None:
    if not isinstance(values, list) or len(values) != 3:
        return None
    degrees = values[0] + values[1] / 60 + values[2] / 3600
    return -degrees if str(ref).upper() in ("S", "W") else degrees


def _wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """Convert a WGS-84 point to GCJ-02 (the datum of AMap/Tencent maps in mainland China; the public formula)."""
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lng - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    d_lng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lng += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lng += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lng += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((a * (1 - ee)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (a / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lat + d_lat, lng + d_lng


def _haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(min(1.0, h)))


def photo_location(probe: Probe) -> tuple[float, float] | None:
    """Return the photo's WGS-84 (lat, lng) from EXIF GPS, if present and plausible."""
    gps = probe.exif.get("GPS") or {}
    lat = _gps_degrees(gps.get("2"), gps.get("1", "N"))
    lng = _gps_degrees(gps.get("4"), gps.get("3", "E"))
    if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180) or (lat == 0 and lng == 0):
        return None
    return lat, lng


def _gps_signals(probe: Probe, context: EvidenceContext) -> list[Signal]:
    location = photo_location(probe)
    if location is None or context.address_lat is None or context.address_lng is None:
        return []
    lat, lng = location
    distances = []
    if context.address_datum in ("wgs84", "unknown"):
        distances.append(_haversine_km(lat, lng, context.address_lat, context.address_lng))
    if context.address_datum in ("gcj02", "unknown"):
        distances.append(_haversine_km(*_wgs84_to_gcj02(lat, lng), context.address_lat, context.address_lng))
    km = min(distances)
    return [_signal("gps_distance", Level.INFO, km=f"{km:.1f}", distance_km=round(km, 3), lat=lat, lng=lng)]


def _device_signals(probe: Probe, context: EvidenceContext) -> list[Signal]:
    devices = sorted({device for device in (probe.device, *context.other_devices) if device})
    if len(devices) < 2:
        return []
    return [_signal("device_mix", Level.INFO, count=len(devices), models=devices, device=probe.device)]


def _match(hashes: ImageHashes, other: int) -> tuple[int, bool]:
    direct, mirrored = hamming(hashes.phash, other), hamming(hashes.phash_mirror, other)
    return min(direct, mirrored), mirrored < direct


def _duplicate_signals(hashes: ImageHashes | None, context: EvidenceContext) -> list[Signal]:
    if hashes is None or hashes.low_detail:
        return []  # near-uniform images (dark, blank) all collide
    signals = []
    derived = []
    for photo in context.technician_photos:
        distance, mirrored = _match(hashes, photo.phash)
        if distance <= DERIVED_MAX:
            derived.append((distance, mirrored, photo))
    for distance, mirrored, photo in sorted(derived, key=lambda item: item[0])[:MAX_MATCHES]:
        code = "derived_same" if distance <= SAME_PHOTO_MAX else "derived_near"
        signals.append(
            _signal(
                "derived_from_tech_photo",
                Level.NOTICE,
                message_code=code,
                photo_kind=photo.kind,
                media=photo.ref,
                distance=distance,
                mirrored=mirrored,
            )
        )
    duplicates = []
    for photo in context.other_complaint_photos:
        distance, mirrored = _match(hashes, photo.phash)
        if distance <= DUP_OTHER_COMPLAINT_MAX:
            duplicates.append((distance, mirrored, photo))
    for distance, mirrored, photo in sorted(duplicates, key=lambda item: item[0])[:MAX_MATCHES]:
        code = "dup_other_complaint_same" if distance <= SAME_PHOTO_MAX else "dup_other_complaint_near"
        signals.append(
            _signal(
                "dup_other_complaint",
                Level.NOTICE,
                message_code=code,
                complaint=photo.complaint_number,
                date=photo.complaint_date,
                evidence=photo.ref,
                distance=distance,
                mirrored=mirrored,
            )
        )
    return signals


def evidence_signals(
    *,
    data: bytes | None = None,
    path: str | os.PathLike | None = None,
    context: EvidenceContext,
    intake: IntakeResult | None = None,
    hashes: ImageHashes | None = None,
) -> list[Signal]:
    """Return every signal for one file, strongest level first; raises EvidenceRefused if it is not safe to read."""
    if data is None:
        if intake is not None and intake.data:
            data = intake.data
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    content_type = intake.content_type if intake else sniff_content_type(data[:16])
    if content_type in VIDEO_TYPES:
        probe = probe_video(data, content_type)
        signals = _label_signals(probe) + _c2pa_signals(data, content_type)
    elif content_type in IMAGE_TYPES:
        probe = probe_image(data, content_type)
        if hashes is None:
            hashes = perceptual_hashes(data=data)
        signals = [
            *_label_signals(probe),
            *_c2pa_signals(data, content_type),
            *_iptc_signals(probe),
            *_tool_signals(probe),
        ]
        if not (probe.exif.get("DateTimeOriginal") or probe.exif.get("Make") or probe.exif.get("Model")):
            signals.append(_signal("no_capture_metadata", Level.INFO))
        signals += _time_signals(probe, context) + _gps_signals(probe, context) + _device_signals(probe, context)
        signals += _duplicate_signals(hashes, context)
    else:
        raise EvidenceTypeNotAllowed(content_type)
    for place in probe.unreadable:
        signals.append(_signal("metadata_unreadable", Level.INFO, place=place))
    if not any(signal.level in (Level.NOTICE, Level.WARNING) for signal in signals):
        signals.append(_signal("no_signals", Level.INFO))
    return sorted(signals, key=lambda signal: LEVEL_ORDER[signal.level])


def file_device(*, data: bytes) -> str:
    """Return "Make Model" from an image's EXIF ('' if none), for EvidenceContext.other_devices."""
    content_type = sniff_content_type(data[:16])
    if content_type not in IMAGE_TYPES:
        return ""
    return probe_image(data, content_type).device


def difference_image(*, evidence: bytes, reference: bytes, mirrored: bool = False, width: int = 480) -> bytes:
    """Return a PNG of where two photos differ (bright = different), the reference scaled to the evidence's frame
    (and mirrored back when the evidence is a mirror image): shown beside a near-duplicate pair so the reviewer sees
    *where* an edited copy departs from the technician's photo, not only how many hash bits differ."""
    with Image.open(io.BytesIO(evidence)) as first, Image.open(io.BytesIO(reference)) as second:
        a = ImageOps.exif_transpose(first).convert("RGB")
        b = ImageOps.exif_transpose(second).convert("RGB")
    size = (width, max(1, round(width * a.height / a.width)))
    a = a.resize(size, Image.Resampling.BILINEAR)
    b = b.resize(size, Image.Resampling.BILINEAR)
    if mirrored:
        b = ImageOps.mirror(b)
    difference = ImageOps.autocontrast(ImageChops.difference(a, b).convert("L"), cutoff=1)
    out = io.BytesIO()
    difference.save(out, "PNG")
    return out.getvalue()
