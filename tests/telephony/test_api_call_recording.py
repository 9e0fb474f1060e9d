import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import AccessLog
from telephony.models import Call, RecordingAccess
from telephony.services import call_record_incoming, call_recording_link_issue, call_ticket_link
from tests.api.conftest import assert_error_shape

pytestmark = pytest.mark.django_db

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64


def _wav(data: bytes = WAV) -> SimpleUploadedFile:
    return SimpleUploadedFile("call.wav", data, content_type="audio/wav")


@pytest.fixture
def call(db):
    return call_record_incoming(external_id="cti-1", caller="13812345678", called="4008201234", by=None)[0]


def test_attaches_the_recording_to_the_call_and_its_ticket(key_client, call, ticket, call_storage):
    call_ticket_link(call_id=call.pk, ticket=ticket)

    response = key_client("calls:write").post(f"/api/v1/calls/{call.pk}/recording", {"file": _wav()})

    assert response.status_code == 201, response.json()
    call.refresh_from_db()
    assert response.json() == {
        "call": call.pk,
        "ticket": ticket.number,
        "sha256": hashlib.sha256(WAV).hexdigest(),
        "size": len(WAV),
        "content_type": "audio/wav",
        "created": True,
    }
    assert call.recording.read() == WAV
    # stored outside the web root, in the private storage
    assert str(call_storage) in call.recording.path


def test_the_same_file_again_is_a_harmless_retry(key_client, call, call_storage):
    client = key_client("calls:write")
    client.post(f"/api/v1/calls/{call.pk}/recording", {"file": _wav()})

    again = client.post(f"/api/v1/calls/{call.pk}/recording", {"file": _wav()})
    other = client.post(f"/api/v1/calls/{call.pk}/recording", {"file": _wav(WAV + b"more")})

    assert again.status_code == 200 and again.json()["created"] is False
    assert_error_shape(other, 409, "recording_already_attached")
    assert len(list(call_storage.rglob("*.wav"))) == 1


def test_not_audio_is_refused(key_client, call, call_storage):
    response = key_client("calls:write").post(
        f"/api/v1/calls/{call.pk}/recording",
        {"file": SimpleUploadedFile("x.wav", b"<html>not audio</html>", content_type="audio/wav")},
    )

    assert_error_shape(response, 400, "recording_type_not_allowed")
    assert not Call.objects.get(pk=call.pk).recording


def test_unknown_call_is_404(key_client, db):
    assert_error_shape(key_client("calls:write").post("/api/v1/calls/999999/recording", {"file": _wav()}), 404)


def test_ticket_page_shows_the_call_and_plays_the_recording(key_client, client, operator, call, ticket, call_storage):
    call_ticket_link(call_id=call.pk, ticket=ticket)
    key_client("calls:write").post(f"/api/v1/calls/{call.pk}/recording", {"file": _wav()})
    client.force_login(operator)

    page = client.get(f"/dispatch/tickets/{ticket.number}/").content.decode()

    assert 'data-testid="ticket-call"' in page and "4008201234" in page
    src = page.split('data-testid="call-recording"')[0].rsplit('src="', 1)[1].split('"')[0]
    played = client.get(src)
    assert played.status_code == 200 and b"".join(played.streaming_content) == WAV
    access = RecordingAccess.objects.get()
    assert (access.call_id, access.user) == (call.pk, operator) and access.at <= timezone.now()
    logged = AccessLog.objects.get(kind="media_view")
    assert (logged.user, logged.ticket_number) == (operator, ticket.number)


def test_recording_link_is_personal(client, operator, manager, call, ticket, call_storage, key_client):
    key_client("calls:write").post(f"/api/v1/calls/{call.pk}/recording", {"file": _wav()})

    token = call_recording_link_issue(call=call, by=operator)
    client.force_login(manager)

    assert client.get(f"/api/v1/calls/recordings/{token}/").status_code == 404
    assert not RecordingAccess.objects.exists()
