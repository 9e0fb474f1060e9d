"""The operator's ticket page: the job's photos and repair recording, played in the browser through logged links."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from dispatch.models import MediaAccess
from dispatch.services import media_upload, ticket_assign, ticket_create
from regions.models import Division, ServiceArea
from tests.dispatch.factories import TechnicianFactory, skill
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

# The first bytes of a WebM file (EBML header), enough for the type check; the player only has to fetch it.
WEBM = bytes.fromhex("1a45dfa3") + b"\x00" * 512


def test_the_operator_sees_the_jobs_media_and_every_playback_is_logged(desktop, operator, technician, private_root):
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    wang = TechnicianFactory(
        user=technician, name="王师傅", coverage=[Division.objects.get(code="141032")], skills=[skill("biometric")]
    )
    ticket = ticket_create(
        phone="13812345678",
        division=Division.objects.get(code="141032100"),
        address_detail="芝河镇建设路 12 号",
        category="biometric",
        by=operator,
    )
    ticket = ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认")
    recording, _created = media_upload(
        ticket=ticket,
        kind="recording",
        upload=SimpleUploadedFile("repair.webm", WEBM, content_type="audio/webm"),
        client_id=uuid.uuid4(),
        by=technician,
    )
    log_in(desktop, "li_operator")

    desktop.goto(f"/dispatch/tickets/{ticket.number}/")

    gallery = desktop.get_by_test_id("media-gallery")
    expect(gallery).to_have_attribute("data-state", "loaded")
    player = gallery.get_by_test_id("media-audio")
    expect(player).to_have_count(1)
    # what the <audio> element does when the operator presses play: fetch the file through the expiring link
    status, content_type = desktop.evaluate(
        "async (src) => { const r = await fetch(src); return [r.status, r.headers.get('content-type')]; }",
        player.get_attribute("src"),
    )
    assert (status, content_type) == (200, "audio/webm")
    actions = list(MediaAccess.objects.filter(media=recording, user=operator).values_list("action", flat=True))
    assert sorted(actions) == ["link", "view"]
