import hashlib
import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from dispatch.exceptions import MediaLinkExpired, MediaLinkInvalid, MediaNotAllowed
from dispatch.models import Media, MediaAccess, Ticket
from dispatch.selectors import media_may_view
from dispatch.services import (
    media_link_issue,
    media_open,
    media_upload,
    ticket_assign,
    ticket_create,
    ticket_reassign,
)

WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01webm" + b"\x00\x01" * 300
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) + b"\xff\xd9"


@pytest.fixture
def job(ticket_input, wang, operator, t0) -> Ticket:
    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    return ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认", now=t0)


@pytest.fixture
def recording(job, technician, private_root) -> Media:
    """王师傅's recording of the repair."""
    media, _created = media_upload(
        ticket=job,
        kind=Media.Kind.RECORDING,
        upload=SimpleUploadedFile("recording.webm", WEBM, content_type="audio/webm"),
        client_id=uuid.uuid4(),
        by=technician,
        duration_seconds=42,
    )
    return media


def _content(response) -> bytes:
    return b"".join(response.streaming_content)


def _actions(media, user) -> list[str]:
    rows = MediaAccess.objects.filter(media=media, user=user).order_by("at", "pk")
    return list(rows.values_list("action", flat=True))


# ---- who may see a file --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.MANAGER, Role.REVIEWER, Role.ADMIN, Role.TECHNICIAN])
def test_staff_and_the_jobs_technician_may_view(role, users_by_role, recording):
    # users_by_role[TECHNICIAN] is 王师傅's user, the job's technician
    assert media_may_view(user=users_by_role[role], media=recording) is True


def test_other_technicians_may_not_view(recording, zhao, roleless_user):
    assert media_may_view(user=zhao.user, media=recording) is False
    assert media_may_view(user=roleless_user, media=recording) is False
    with pytest.raises(MediaNotAllowed):
        media_link_issue(media=recording, by=zhao.user)
    assert not MediaAccess.objects.exists()


# ---- links ---------------------------------------------------------------------------------------------------------


def test_operator_plays_the_recording_from_the_link(client, recording, operator):
    client.force_login(operator)
    token = media_link_issue(media=recording, by=operator)

    response = client.get(reverse("files:open", args=[token]))

    assert response.status_code == 200
    assert _content(response) == WEBM
    assert response["Content-Type"] == "audio/webm"
    assert response["Content-Disposition"].startswith("inline")
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert _actions(recording, operator) == ["link", "view"]


def test_download_is_an_attachment_and_is_logged(client, recording, manager):
    client.force_login(manager)
    token = media_link_issue(media=recording, by=manager)

    response = client.get(reverse("files:open", args=[token]), {"download": "1"})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert hashlib.sha256(_content(response)).hexdigest() == recording.sha256
    assert _actions(recording, manager) == ["link", "download"]


def test_every_view_is_logged(client, recording, operator):
    client.force_login(operator)
    token = media_link_issue(media=recording, by=operator)

    for _ in range(3):
        assert client.get(reverse("files:open", args=[token])).status_code == 200

    assert _actions(recording, operator) == ["link", "view", "view", "view"]


def test_the_link_expires(client, recording, operator, settings):
    client.force_login(operator)
    issued = timezone.now()
    with time_machine.travel(issued, tick=False):
        token = media_link_issue(media=recording, by=operator)
    url = reverse("files:open", args=[token])

    with time_machine.travel(issued + timedelta(seconds=settings.MEDIA_LINK_SECONDS - 1), tick=False):
        assert client.get(url).status_code == 200
    with time_machine.travel(issued + timedelta(seconds=settings.MEDIA_LINK_SECONDS + 1), tick=False):
        response = client.get(url)

    assert response.status_code == 403
    assert response.content.decode()  # says why
    assert _actions(recording, operator) == ["link", "view"]


def test_media_open_refuses_an_expired_link(recording, operator, settings):
    issued = timezone.now()
    token = media_link_issue(media=recording, by=operator, now=issued)

    with pytest.raises(MediaLinkExpired):
        media_open(
            token=token,
            by=operator,
            action=MediaAccess.Action.VIEW,
            now=issued + timedelta(seconds=settings.MEDIA_LINK_SECONDS + 1),
        )


def test_a_forged_link_is_not_found(client, recording, operator):
    client.force_login(operator)
    token = media_link_issue(media=recording, by=operator)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = client.get(reverse("files:open", args=[forged]))

    assert response.status_code == 404
    assert _actions(recording, operator) == ["link"]
    with pytest.raises(MediaLinkInvalid):
        media_open(token="1.1:abc:def", by=operator, action=MediaAccess.Action.VIEW)


def test_a_link_works_only_for_the_user_it_was_issued_to(client, recording, operator, manager):
    token = media_link_issue(media=recording, by=operator)
    client.force_login(manager)

    response = client.get(reverse("files:open", args=[token]))

    assert response.status_code == 403
    assert not MediaAccess.objects.filter(user=manager).exists()


def test_a_technician_taken_off_the_job_loses_the_link(client, recording, technician, operator):
    token = media_link_issue(media=recording, by=technician)
    ticket_reassign(ticket=recording.ticket, by=operator, reason="师傅临时有事")
    client.force_login(technician)

    response = client.get(reverse("files:open", args=[token]))

    assert response.status_code == 403
    assert _actions(recording, technician) == ["link"]


def test_anonymous_users_are_sent_to_log_in(client, recording, operator):
    token = media_link_issue(media=recording, by=operator)

    response = client.get(reverse("files:open", args=[token]))

    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert _actions(recording, operator) == ["link"]


# ---- the ticket page's gallery ---------------------------------------------------------------------------------------


def test_gallery_gives_the_operator_a_player_that_plays(client, recording, job, technician, operator):
    media_upload(
        ticket=job,
        kind=Media.Kind.PHOTO_BEFORE,
        upload=SimpleUploadedFile("before.jpg", JPEG, content_type="image/jpeg"),
        client_id=uuid.uuid4(),
        by=technician,
    )
    client.force_login(operator)

    page = client.get(reverse("files:gallery", args=[job.number])).content.decode()

    [audio_src] = re.findall(r'<audio[^>]*\ssrc="([^"]+)"', page)
    [photo_src] = re.findall(r'<img[^>]*\ssrc="([^"]+)"', page)
    played = client.get(audio_src)
    assert (played.status_code, played["Content-Type"], _content(played)) == (200, "audio/webm", WEBM)
    assert client.get(photo_src)["Content-Type"] == "image/jpeg"
    assert _actions(recording, operator) == ["link", "view"]


def test_gallery_is_closed_to_technicians(client, recording, job, technician):
    client.force_login(technician)

    response = client.get(reverse("files:gallery", args=[job.number]))

    assert response.status_code == 403
    assert not MediaAccess.objects.exists()


def test_gallery_says_when_there_is_nothing_yet(client, job, operator, private_root):
    client.force_login(operator)

    response = client.get(reverse("files:gallery", args=[job.number]))

    assert response.status_code == 200
    assert b'data-testid="media-empty"' in response.content


def test_the_partial_loads_the_gallery_when_given_only_the_ticket(job):
    html = render_to_string("dispatch/dispatcher/_media.html", {"ticket": job})

    assert f'hx-get="{reverse("files:gallery", args=[job.number])}"' in html
