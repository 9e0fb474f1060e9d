"""The check task's photo comparisons: hashes stored with their indexed chunks, the job's own before/after photos
hashed once, other complaints' photos found through PostgreSQL, and the stripped display copy."""

import hashlib
import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageOps

from complaints import forensics
from complaints.models import Complaint, EvidenceCheck, ImageHash
from complaints.services import complaint_file, evidence_add, evidence_check_run
from dispatch.models import Media
from dispatch.services import media_upload, ticket_create
from regions.models import Division
from tests.complaints.conftest import photo as upload
from tests.complaints.conftest import video
from tests.complaints.fixtures_forensics import edited_copy, encode, exif
from tests.complaints.fixtures_forensics import photo as picture
from tests.dispatch.factories import job_through


def _file(*, ticket, data: bytes, by, now) -> Complaint:
    return complaint_file(
        ticket=ticket,
        channel=Complaint.Channel.PHONE,
        category=Complaint.Category.DAMAGE,
        description="门锁面板被划伤",
        remedy_requested="compensation",
        uploads=[upload(data=data)],
        by=by,
        now=now,
    )


def _job_photo(*, ticket, technician, data: bytes, kind: str = Media.Kind.PHOTO_BEFORE) -> Media:
    media, _created = media_upload(
        ticket=ticket,
        kind=kind,
        upload=SimpleUploadedFile("before.jpg", data, content_type="image/jpeg"),
        client_id=uuid.uuid4(),
        by=technician.user,
    )
    return media


def _signals(evidence, kind: str) -> list[EvidenceCheck]:
    return list(EvidenceCheck.objects.filter(evidence=evidence, kind=kind))


@pytest.fixture
def other_job(operator, zhao, t0):
    """Another customer's job, done by 赵师傅."""
    ticket = ticket_create(
        phone="13987654321",
        division=Division.objects.get(code="141032100"),
        address_detail="芝河镇新华街 3 号",
        category="biometric",
        by=operator,
        now=t0,
    )
    return job_through(ticket, technician=zhao, operator=operator, at=t0)


def test_stores_hashes_in_the_indexed_chunk_columns(done_job, operator, evidence_root, t0):
    data = encode(picture(seed=2))
    complaint = _file(ticket=done_job, data=data, by=operator, now=t0.replace(hour=11))
    evidence = complaint.evidence.get()

    evidence_check_run(evidence_id=evidence.pk)

    row = ImageHash.objects.get(evidence=evidence)
    expected = forensics.perceptual_hashes(data=data)
    assert (row.phash, row.phash_mirror, row.dhash, row.complaint_id) == (
        expected.phash,
        expected.phash_mirror,
        expected.dhash,
        complaint.pk,
    )
    assert (row.c0, row.c1, row.c2, row.c3) == forensics.hash_chunks(expected.phash)


def test_flags_edited_copy_of_the_technicians_own_photo(done_job, wang, operator, evidence_root, t0):
    original = picture(seed=3)
    before = _job_photo(ticket=done_job, technician=wang, data=encode(original))
    complaint = _file(ticket=done_job, data=encode(edited_copy(original)), by=operator, now=t0.replace(hour=11))
    evidence = complaint.evidence.get()

    evidence_check_run(evidence_id=evidence.pk)

    [signal] = _signals(evidence, "derived_from_tech_photo")
    assert signal.level == "notice"
    assert (signal.params["media"], signal.params["photo_kind"]) == (str(before.pk), "before")
    assert signal.params["distance"] <= forensics.DERIVED_MAX
    assert ImageHash.objects.get(media=before).phash == forensics.perceptual_hashes(data=encode(original)).phash


def test_hashes_the_job_photos_once(done_job, wang, operator, evidence_root, t0):
    original = picture(seed=3)
    before = _job_photo(ticket=done_job, technician=wang, data=encode(original))
    complaint = _file(ticket=done_job, data=encode(edited_copy(original)), by=operator, now=t0.replace(hour=11))
    evidence_check_run(evidence_id=complaint.evidence.get().pk)
    first = ImageHash.objects.get(media=before)
    [second] = evidence_add(complaint=complaint, party="customer", uploads=[upload(data=encode(original))])

    evidence_check_run(evidence_id=second.pk)

    assert ImageHash.objects.filter(media__isnull=False).count() == 1
    assert ImageHash.objects.get(media=before).computed_at == first.computed_at  # not hashed again
    [signal] = _signals(second, "derived_from_tech_photo")
    assert signal.params["distance"] <= forensics.SAME_PHOTO_MAX


def test_unrelated_photo_is_not_flagged(done_job, wang, operator, evidence_root, t0):
    _job_photo(ticket=done_job, technician=wang, data=encode(picture(seed=3)))
    complaint = _file(ticket=done_job, data=encode(picture(seed=7)), by=operator, now=t0.replace(hour=11))
    evidence = complaint.evidence.get()

    evidence_check_run(evidence_id=evidence.pk)

    assert _signals(evidence, "derived_from_tech_photo") == []
    assert _signals(evidence, "dup_other_complaint") == []


def test_finds_the_mirrored_photo_in_another_complaint(done_job, other_job, operator, evidence_root, t0):
    image = picture(seed=5)
    first = _file(ticket=done_job, data=encode(image), by=operator, now=t0.replace(hour=11))
    evidence_check_run(evidence_id=first.evidence.get().pk)
    second = _file(ticket=other_job, data=encode(ImageOps.mirror(image)), by=operator, now=t0.replace(hour=12))
    evidence = second.evidence.get()

    evidence_check_run(evidence_id=evidence.pk)

    [signal] = _signals(evidence, "dup_other_complaint")
    assert (signal.params["complaint"], signal.params["date"]) == (first.number, "2026-11-26")
    assert (signal.params["evidence"], signal.params["mirrored"]) == (str(first.evidence.get().pk), True)
    assert _signals(first.evidence.get(), "dup_other_complaint") == []  # a complaint never matches its own files


def test_display_copy_drops_metadata_and_keeps_the_original(done_job, operator, evidence_root, t0):
    data = encode(picture(seed=4), exif=exif(make="Xiaomi", model="14", gps=(36.76, 110.63)))
    complaint = _file(ticket=done_job, data=data, by=operator, now=t0.replace(hour=11))
    evidence = complaint.evidence.get()

    evidence_check_run(evidence_id=evidence.pk)

    evidence.refresh_from_db(fields=["display_file", "sha256"])
    with evidence.display_file.open("rb") as handle:
        copy = handle.read()
    with Image.open(io.BytesIO(copy)) as image:
        assert (image.format, dict(image.getexif())) == ("JPEG", {})
        assert "xmp" not in image.info and "exif" not in image.info
    with evidence.file.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == evidence.sha256 == hashlib.sha256(data).hexdigest()
    name = evidence.display_file.name
    assert evidence_check_run(evidence_id=evidence.pk) == 0  # a redelivered task changes nothing
    evidence.refresh_from_db(fields=["display_file"])
    assert evidence.display_file.name == name
    assert len(list((evidence_root / "evidence" / "display").rglob("*.jpg"))) == 1


def test_video_gets_no_hash_or_display_copy(done_job, operator, evidence_root, t0):
    complaint = complaint_file(
        ticket=done_job,
        channel=Complaint.Channel.PHONE,
        category=Complaint.Category.DAMAGE,
        description="视频",
        remedy_requested="re_service",
        uploads=[video()],
        by=operator,
        now=t0.replace(hour=11),
    )
    evidence = complaint.evidence.get()

    assert evidence_check_run(evidence_id=evidence.pk) >= 1

    evidence.refresh_from_db(fields=["display_file"])
    assert not evidence.display_file
    assert not ImageHash.objects.filter(evidence=evidence).exists()
