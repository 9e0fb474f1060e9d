"""The reviewer sees the stripped display copy by default, the original one (logged) click away, and an evidence photo
derived from the technician's own photo side by side with it."""

import io
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from complaints.models import Complaint, EvidenceAccess
from complaints.services import complaint_file, evidence_check_run
from dispatch.models import Media, MediaAccess
from dispatch.services import media_upload
from tests.complaints.conftest import photo as upload
from tests.complaints.fixtures_forensics import edited_copy, encode
from tests.complaints.fixtures_forensics import photo as picture


def _workspace(client, complaint) -> str:
    response = client.get(reverse("complaints:workspace", args=[complaint.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_shows_display_copy_by_default_without_logging(client, reviewer, complaint):
    evidence = complaint.evidence.get()
    evidence_check_run(evidence_id=evidence.pk)
    client.force_login(reviewer)

    html = _workspace(client, complaint)
    display = client.get(reverse("complaints:evidence-display", args=[evidence.pk]))

    assert f'src="{reverse("complaints:evidence-display", args=[evidence.pk])}"' in html
    assert f'src="{reverse("complaints:evidence-file", args=[evidence.pk])}"' not in html  # no original loads by itself
    assert 'data-testid="open-original"' in html
    assert (display.status_code, display["Content-Type"]) == (200, "image/jpeg")
    assert b"".join(display.streaming_content).startswith(b"\xff\xd8\xff")
    assert not EvidenceAccess.objects.filter(evidence=evidence).exists()


def test_original_is_one_logged_click_away(client, reviewer, complaint):
    evidence = complaint.evidence.get()
    evidence_check_run(evidence_id=evidence.pk)
    client.force_login(reviewer)
    html = _workspace(client, complaint)
    link = reverse("complaints:evidence-file", args=[evidence.pk])
    assert f'href="{link}"' in html

    response = client.get(link)

    assert response.status_code == 200
    access = EvidenceAccess.objects.get(evidence=evidence)
    assert (access.user, access.is_download) == (reviewer, False)


def test_before_the_check_ran_the_original_is_not_loaded(client, reviewer, complaint):
    evidence = complaint.evidence.get()
    client.force_login(reviewer)

    html = _workspace(client, complaint)

    assert 'data-testid="display-pending"' in html
    assert client.get(reverse("complaints:evidence-display", args=[evidence.pk])).status_code == 404
    assert not EvidenceAccess.objects.filter(evidence=evidence).exists()


def test_technician_cannot_fetch_display_copy(client, technician, wang, complaint):
    evidence = complaint.evidence.get()
    evidence_check_run(evidence_id=evidence.pk)
    client.force_login(technician)

    assert client.get(reverse("complaints:evidence-display", args=[evidence.pk])).status_code == 403


def test_derived_photo_is_shown_beside_the_technicians_photo(
    client, reviewer, done_job, wang, operator, evidence_root, t0
):
    original = picture(seed=3)
    before, _created = media_upload(
        ticket=done_job,
        kind=Media.Kind.PHOTO_BEFORE,
        upload=SimpleUploadedFile("before.jpg", encode(original), content_type="image/jpeg"),
        client_id=uuid.uuid4(),
        by=wang.user,
    )
    complaint = complaint_file(
        ticket=done_job,
        channel=Complaint.Channel.PHONE,
        category=Complaint.Category.DAMAGE,
        description="门锁面板被划伤",
        remedy_requested="compensation",
        uploads=[upload(data=encode(edited_copy(original)))],
        by=operator,
        now=t0.replace(hour=11),
    )
    evidence = complaint.evidence.get()
    evidence_check_run(evidence_id=evidence.pk)
    distance = evidence.checks.get(kind="derived_from_tech_photo").params["distance"]
    client.force_login(reviewer)

    response = client.get(reverse("complaints:workspace", args=[complaint.pk]), HTTP_ACCEPT_LANGUAGE="en")

    [pair] = response.context["customer_evidence"][0].derived_pairs
    assert pair["media"] == before
    html = response.content.decode()
    assert f'data-testid="derived-pair" data-media-id="{before.pk}" data-distance="{distance}"' in html
    technician_photo = client.get(reverse("files:open", args=[pair["token"]]))
    assert technician_photo.status_code == 200  # a personal, permission-checked link
    assert MediaAccess.objects.filter(media=before, user=reviewer, action=MediaAccess.Action.VIEW).count() == 1
    # and where the two differ: the edited corner stands out in the difference image
    difference = client.get(reverse("complaints:evidence-difference", args=[evidence.pk, before.pk]))
    assert (difference.status_code, difference["Content-Type"]) == (200, "image/png")
    assert f'src="{reverse("complaints:evidence-difference", args=[evidence.pk, before.pk])}"' in html
    assert MediaAccess.objects.filter(media=before, user=reviewer, action=MediaAccess.Action.VIEW).count() == 2
    with Image.open(io.BytesIO(difference.content)) as image:
        assert image.mode == "L" and image.getextrema()[1] > 0


def test_only_pairs_a_signal_names_have_a_difference_image(client, reviewer, technician, complaint, done_job, wang):
    unrelated, _created = media_upload(
        ticket=done_job,
        kind=Media.Kind.PHOTO_AFTER,
        upload=SimpleUploadedFile("after.jpg", encode(picture(seed=9)), content_type="image/jpeg"),
        client_id=uuid.uuid4(),
        by=wang.user,
    )
    evidence = complaint.evidence.get()
    url = reverse("complaints:evidence-difference", args=[evidence.pk, unrelated.pk])
    client.force_login(reviewer)
    assert client.get(url).status_code == 404  # no signal names this pair
    client.force_login(technician)
    assert client.get(url).status_code == 403
    assert not MediaAccess.objects.filter(media=unrelated).exists()
