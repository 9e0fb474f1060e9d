import hashlib
import io
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from complaints.forensics import (
    EvidenceContext,
    EvidenceEmpty,
    EvidenceTooLarge,
    EvidenceTooManyPixels,
    EvidenceTypeNotAllowed,
    EvidenceUnreadable,
    display_copy,
    evidence_open,
    evidence_signals,
)
from tests.complaints import fixtures_forensics as fx

MB = 2**20


class Unreadable(io.RawIOBase):
    """A stream that announces its size and fails if anyone reads it."""

    size = 50 * MB

    def read(self, *args):
        raise AssertionError("read before the size check")


class Growing:
    """An upload whose declared size lies: it says 10 bytes and yields 3 MB."""

    size = 10

    def chunks(self, chunk_size=None):
        yield b"\xff\xd8\xff\xe0" + b"\x00" * MB
        yield b"\x00" * MB
        yield b"\x00" * MB


def test_accepts_jpeg_with_its_sha256():
    data = fx.encode(fx.photo())
    intake = evidence_open(data=data, declared_name="lock.JPG", max_bytes=MB)
    assert (intake.content_type, intake.extension, intake.size) == ("image/jpeg", ".jpg", len(data))
    assert intake.sha256 == hashlib.sha256(data).hexdigest()
    assert (intake.width, intake.height, intake.extension_matches) == (800, 600, True)
    assert intake.data == data


def test_reads_a_django_upload():
    data = fx.encode(fx.photo(), "WEBP")
    intake = evidence_open(data=SimpleUploadedFile("a.webp", data), declared_name="a.webp", max_bytes=MB)
    assert (intake.content_type, intake.sha256) == ("image/webp", hashlib.sha256(data).hexdigest())


def test_type_comes_from_the_bytes_when_the_extension_lies():
    data = fx.encode(fx.photo(), "PNG")
    intake = evidence_open(data=data, declared_name="damage.jpg", max_bytes=5 * MB)
    assert (intake.content_type, intake.extension, intake.extension_matches) == ("image/png", ".png", False)


def test_refuses_a_page_named_like_a_photo():
    with pytest.raises(EvidenceTypeNotAllowed) as refused:
        evidence_open(data=b"<html><script>alert(1)</script></html>", declared_name="lock.jpg", max_bytes=MB)
    assert refused.value.code == "type_not_allowed"


def test_refuses_heic_so_the_customer_sends_jpeg():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100
    with pytest.raises(EvidenceTypeNotAllowed):
        evidence_open(data=heic, declared_name="IMG_0001.HEIC", max_bytes=MB)


def test_accepts_mp4_video_without_decoding():
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 300
    intake = evidence_open(data=mp4, declared_name="clip.mp4", max_bytes=MB)
    assert (intake.content_type, intake.is_image, intake.width) == ("video/mp4", False, None)


def test_refuses_oversized_file_before_reading_it():
    with pytest.raises(EvidenceTooLarge) as refused:
        evidence_open(data=Unreadable(), declared_name="big.jpg", max_bytes=20 * MB)
    assert refused.value.extra == {"code": "too_large", "limit": 20 * MB}


def test_counts_bytes_when_the_declared_size_lies():
    with pytest.raises(EvidenceTooLarge):
        evidence_open(data=Growing(), declared_name="a.jpg", max_bytes=2 * MB)


def test_refuses_empty_file():
    with pytest.raises(EvidenceEmpty):
        evidence_open(data=b"", declared_name="a.jpg", max_bytes=MB)


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (50_000, 50_000),  # beyond twice Pillow's limit: Pillow itself raises
        (12_000, 12_000),  # between Pillow's warning and error: only a warning unless turned into an error
        (7_000, 6_000),  # under Pillow's limit, over our 40 MP budget
    ],
)
def test_refuses_decompression_bomb_headers(width, height):
    data = fx.png_header_bomb(width, height)
    assert len(data) < 200
    with pytest.raises(EvidenceTooManyPixels) as refused:
        evidence_open(data=data, declared_name="small.png", max_bytes=MB)
    assert refused.value.code == "too_many_pixels"


def test_refuses_real_bomb_without_decoding_it():
    data = fx.png_real_bomb(8000, 6000)  # valid PNG, tens of KB, 48 MP of zeros
    started = time.perf_counter()
    with pytest.raises(EvidenceTooManyPixels):
        evidence_open(data=data, declared_name="bomb.png", max_bytes=MB)
    assert time.perf_counter() - started < 0.5  # decoding 48 MP would take far longer
    # The pixel budget is what refused it: the same file passes under a larger budget.
    assert evidence_open(data=data, declared_name="bomb.png", max_bytes=MB, max_pixels=50_000_000).width == 8000


def test_refuses_cut_short_image():
    with pytest.raises(EvidenceUnreadable):
        evidence_open(data=fx.encode(fx.photo())[:12] + b"\x00" * 4, declared_name="a.jpg", max_bytes=MB)


def test_refusal_message_is_translated():
    with translation.override("en"), pytest.raises(EvidenceTooLarge) as refused:
        evidence_open(data=b"\xff\xd8\xff" + b"\x00" * 3 * MB, declared_name="a.jpg", max_bytes=2 * MB)
    assert "larger than 2 MB" in refused.value.message


def test_display_copy_carries_no_metadata():
    source = fx.encode(
        fx.photo(4000, 3000),
        "JPEG",
        exif=fx.exif(make="Apple", model="iPhone 15", taken="2026:11:26 10:00:00", gps=(31.23, 121.47)),
        xmp=fx.xmp_packet(label=fx.LABEL),
    )
    copy = display_copy(data=source)
    image = Image.open(io.BytesIO(copy))
    assert (image.format, max(image.size)) == ("JPEG", 1600)
    assert len(image.getexif()) == 0
    assert "xmp" not in image.info and "exif" not in image.info
    assert b"AIGC" not in copy and b"iPhone" not in copy
    kinds = {signal.kind for signal in evidence_signals(data=copy, context=EvidenceContext())}
    assert "aigc_label" not in kinds and "no_capture_metadata" in kinds


def test_display_copy_applies_orientation():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    source = fx.encode(fx.photo(800, 600), "JPEG", exif=exif)
    image = Image.open(io.BytesIO(display_copy(data=source)))
    assert image.size == (600, 800)


def test_display_copy_flattens_transparency():
    source = fx.encode(fx.photo(300, 200).convert("RGBA"), "PNG")
    image = Image.open(io.BytesIO(display_copy(data=source)))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (300, 200))


def test_display_copy_refuses_bomb():
    with pytest.raises(EvidenceTooManyPixels):
        display_copy(data=fx.png_real_bomb(8000, 6000))
