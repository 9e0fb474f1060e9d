import hashlib
import threading
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse

from dispatch.exceptions import (
    MediaChecksumMismatch,
    MediaClientIdTaken,
    MediaTooLarge,
    MediaTypeNotAllowed,
    MediaUploadClosed,
    NotYourJob,
)
from dispatch.media import media_inspect, sniff_content_type
from dispatch.models import Media, Ticket, TicketEvent
from dispatch.services import media_upload, ticket_assign, ticket_cancel, ticket_create

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01webm" + b"\x00\x01" * 300


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(root) -> list:
    return sorted(path for path in root.rglob("*") if path.is_file())


@pytest.fixture
def job(ticket_input, wang, operator, t0) -> Ticket:
    """A ticket the operator gave to 王师傅 (the `technician` user): accepted, so photos may be taken."""
    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    return ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认", now=t0)


def _upload(job, by, data=JPEG, *, kind=Media.Kind.PHOTO_BEFORE, client_id=None, name="IMG_0001.jpg", **extra):
    return media_upload(
        ticket=job,
        kind=kind,
        upload=SimpleUploadedFile(name, data, content_type="image/jpeg"),
        client_id=client_id or uuid.uuid4(),
        by=by,
        **extra,
    )


# ---- the service ---------------------------------------------------------------------------------------------------


def test_keeps_the_bytes_unchanged_with_their_sha256_and_sniffed_type(job, technician, private_root):
    client_id = uuid.uuid4()

    media, created = _upload(job, technician, client_id=client_id, sha256=_sha(JPEG))

    assert created is True
    media.refresh_from_db()
    assert (media.ticket_id, media.kind, media.client_id) == (job.pk, "photo_before", client_id)
    assert (media.sha256, media.size, media.content_type) == (_sha(JPEG), len(JPEG), "image/jpeg")
    assert media.uploaded_by == technician
    [stored] = _files(private_root)
    assert stored.read_bytes() == JPEG
    assert stored.name == f"{client_id}.jpg"
    event = TicketEvent.objects.get(ticket=job, kind=TicketEvent.Kind.MEDIA)
    assert (event.actor, event.data["media"], event.data["sha256"]) == (technician, media.pk, _sha(JPEG))


def test_keeps_a_recording_with_its_length(job, technician, private_root):
    media, _created = _upload(job, technician, WEBM, kind=Media.Kind.RECORDING, name="rec.webm", duration_seconds=95)

    media.refresh_from_db()
    assert (media.content_type, media.duration_seconds, media.sha256) == ("audio/webm", 95, _sha(WEBM))


def test_a_retry_with_the_same_client_id_keeps_one_row_and_one_file(job, technician, private_root):
    client_id = uuid.uuid4()
    first, _created = _upload(job, technician, client_id=client_id)

    again, created = _upload(job, technician, client_id=client_id)

    assert (again.pk, created) == (first.pk, False)
    assert Media.objects.count() == 1
    assert len(_files(private_root)) == 1
    assert TicketEvent.objects.filter(ticket=job, kind=TicketEvent.Kind.MEDIA).count() == 1


def test_refuses_a_client_id_already_used_on_another_job(job, technician, ticket_input, operator, wang, private_root):
    client_id = uuid.uuid4()
    _upload(job, technician, client_id=client_id)
    other = ticket_create(**{**ticket_input, "address_detail": "另一处 8 号"}, by=operator)
    other = ticket_assign(ticket=other, technician=wang, by=operator, reason="电话确认")

    with pytest.raises(MediaClientIdTaken):
        _upload(other, technician, client_id=client_id)

    assert not Media.objects.filter(ticket=other).exists()


def test_refuses_a_declared_checksum_that_is_not_the_bytes(job, technician, private_root):
    with pytest.raises(MediaChecksumMismatch):
        _upload(job, technician, sha256=_sha(JPEG + b"x"))

    assert not Media.objects.exists()
    assert _files(private_root) == []
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.MEDIA).exists()


def test_refuses_a_text_file_named_jpg(job, technician, private_root):
    with pytest.raises(MediaTypeNotAllowed):
        _upload(job, technician, b"<html>not a photo at all, whatever the name says</html>", name="photo.jpg")

    assert not Media.objects.exists()
    assert _files(private_root) == []


def test_refuses_a_photo_sent_as_the_recording(job, technician, private_root):
    with pytest.raises(MediaTypeNotAllowed):
        _upload(job, technician, JPEG, kind=Media.Kind.RECORDING)

    assert not Media.objects.exists()


class _UnreadableUpload:
    """An upload that announces its size; reading it fails the test."""

    name = "big.jpg"
    content_type = "image/jpeg"

    def __init__(self, size: int) -> None:
        self.size = size

    def chunks(self, chunk_size=None):
        raise AssertionError("the body was read")


def test_refuses_a_file_over_the_limit_before_reading_it(job, technician, private_root, settings):
    settings.MEDIA_MAX_PHOTO_BYTES = 1000

    with pytest.raises(MediaTooLarge):
        media_upload(
            ticket=job,
            kind=Media.Kind.PHOTO_BEFORE,
            upload=_UnreadableUpload(1001),
            client_id=uuid.uuid4(),
            by=technician,
        )

    assert not Media.objects.exists()
    assert _files(private_root) == []


def test_counts_the_bytes_when_the_declared_size_is_wrong(settings):
    settings.MEDIA_MAX_PHOTO_BYTES = 1000
    upload = SimpleUploadedFile("x.jpg", JPEG[:3] + b"\x00" * 1100)
    upload.size = 10  # a size that lies

    with pytest.raises(MediaTooLarge):
        media_inspect(upload=upload, kind=Media.Kind.PHOTO_BEFORE)


def test_another_technician_cannot_upload(job, zhao, private_root):
    with pytest.raises(NotYourJob):
        _upload(job, zhao.user)

    assert not Media.objects.exists()
    assert _files(private_root) == []


def test_refuses_uploads_once_the_job_is_cancelled(job, technician, operator, private_root):
    ticket_cancel(ticket=job, by=operator, reason="客户取消")

    with pytest.raises(MediaUploadClosed):
        _upload(job, technician)

    assert not Media.objects.exists()
    assert _files(private_root) == []


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"\xff\xd8\xff\xdb", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", "image/heif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "audio/webm"),
        (b"OggS\x00\x02\x00\x00\x00\x00\x00\x00", "audio/ogg"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio/mp4"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "audio/mp4"),
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"%PDF-1.7\n", None),
        (b"\x00\x00\x00\x20ftypqt  \x00\x00\x00\x00", None),
    ],
)
def test_sniffs_the_type_from_the_first_bytes(head, content_type):
    assert sniff_content_type(head) == content_type


# ---- the endpoint the phone's queue posts to ------------------------------------------------------------------------


def _post(client, job, data=JPEG, **fields):
    form = {
        "client_id": str(uuid.uuid4()),
        "kind": "photo_before",
        "sha256": _sha(data),
        "captured_at": "2026-11-26T10:05:00+08:00",
        "file": SimpleUploadedFile("IMG_0002.jpg", data, content_type="image/jpeg"),
        **fields,
    }
    return client.post(reverse("files:upload", args=[job.number]), form)


def test_endpoint_answers_201_then_200_for_a_retry(client, job, technician, private_root):
    client.force_login(technician)
    client_id = str(uuid.uuid4())

    first = _post(client, job, client_id=client_id)
    again = _post(client, job, client_id=client_id)

    media = Media.objects.get()
    assert (first.status_code, first.json()) == (201, {"id": media.pk, "created": True, "sha256": _sha(JPEG)})
    assert (again.status_code, again.json()) == (200, {"id": media.pk, "created": False, "sha256": _sha(JPEG)})
    assert media.captured_at.isoformat() == "2026-11-26T02:05:00+00:00"
    assert len(_files(private_root)) == 1


def test_endpoint_refuses_a_text_file_named_jpg_with_a_message(client, job, technician, private_root):
    client.force_login(technician)

    response = _post(client, job, b"just some text\n" * 20)

    assert response.status_code == 400
    assert response.json()["message"]
    assert not Media.objects.exists()
    assert _files(private_root) == []


def test_endpoint_refuses_a_lying_checksum(client, job, technician, private_root):
    client.force_login(technician)

    response = _post(client, job, sha256="0" * 64)

    assert response.status_code == 400
    assert not Media.objects.exists()


def test_endpoint_refuses_a_photo_just_over_the_limit_with_413(client, job, technician, private_root, settings):
    settings.MEDIA_MAX_PHOTO_BYTES = len(JPEG) - 1
    client.force_login(technician)

    response = _post(client, job)

    assert response.status_code == 413
    assert response.json()["message"]
    assert not Media.objects.exists()
    assert _files(private_root) == []


def test_endpoint_refuses_an_oversize_body_from_its_content_length_alone(client, job, technician, settings):
    settings.MEDIA_MAX_PHOTO_BYTES = settings.MEDIA_MAX_AUDIO_BYTES = 1000
    client.force_login(technician)
    # Not even valid multipart: had the body been parsed, the answer would be a 400.
    body = b"x" * (1000 + 64 * 1024 + 1)

    response = client.generic(
        "POST",
        reverse("files:upload", args=[job.number]),
        body,
        content_type="multipart/form-data; boundary=nothing-here",
    )

    assert response.status_code == 413
    assert not Media.objects.exists()


def test_endpoint_refuses_another_technician_with_403(client, job, zhao, private_root):
    client.force_login(zhao.user)

    response = _post(client, job)

    assert response.status_code == 403
    assert response.json()["message"]
    assert not Media.objects.exists()
    assert _files(private_root) == []


def test_endpoint_asks_to_log_in_again_without_losing_the_file(client, job, private_root):
    response = _post(client, job)

    assert response.status_code == 401  # not a login redirect: the phone keeps the file queued
    assert response.json()["message"]
    assert not Media.objects.exists()


def test_endpoint_checks_the_csrf_token(job, technician, private_root):
    client = Client(enforce_csrf_checks=True)
    client.force_login(technician)

    response = _post(client, job)

    assert response.status_code == 403
    assert not Media.objects.exists()


# ---- two retries at the same moment ----------------------------------------------------------------------------------


def _waiting_on_locks(count: int) -> None:
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction the activity view is a snapshot taken once: clear it for each look.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.02)
    raise AssertionError(f"{count} uploads never waited on the ticket lock")  # pragma: no cover


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_retries_keep_one_row_and_one_file(ticket_input, wang, technician, operator, private_root):
    ticket = ticket_create(**ticket_input, by=operator)
    job = ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认")
    client_id = uuid.uuid4()
    results, errors = [], []

    def retry():
        try:
            results.append(_upload(job, technician, client_id=client_id))
        except Exception as error:  # reported by the assertions below
            errors.append(error)
        finally:
            connections.close_all()

    # given: the ticket row is locked, so both requests get past the "already kept?" check and store their file
    with transaction.atomic():
        Ticket.objects.select_for_update().get(pk=job.pk)
        threads = [threading.Thread(target=retry) for _ in range(2)]
        for thread in threads:
            thread.start()
        _waiting_on_locks(2)
    # when: the lock is released, one insert wins and the other meets the unique client_id
    for thread in threads:
        thread.join(timeout=20)

    # then
    assert errors == []
    assert sorted(created for _media, created in results) == [False, True]
    assert len({media.pk for media, _created in results}) == 1
    assert Media.objects.count() == 1
    assert len(_files(private_root)) == 1
    assert TicketEvent.objects.filter(ticket=job, kind=TicketEvent.Kind.MEDIA).count() == 1
