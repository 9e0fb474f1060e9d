import base64
import hashlib

import pytest
from django.conf import settings
from playwright.sync_api import expect

from dispatch.models import Media, Technician, Ticket
from dispatch.services import ticket_assign, ticket_create
from regions.models import Division, ServiceArea
from tests.dispatch.factories import TechnicianFactory, skill
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job(technician, operator) -> Ticket:
    """A fingerprint-lock job the operator gave to 王师傅 (the `technician` user) on the phone: accepted."""
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    wang: Technician = TechnicianFactory(
        user=technician, name="王师傅", coverage=[Division.objects.get(code="141032")], skills=[skill("biometric")]
    )
    ticket = ticket_create(
        phone="13812345678",
        division=Division.objects.get(code="141032100"),
        address_detail="芝河镇建设路 12 号 3 单元 501",
        category="biometric",
        by=operator,
    )
    return ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认")


def _camera_jpeg(page, colour: str) -> bytes:
    """A real JPEG, encoded by the browser from a drawn canvas (what a phone camera hands the page)."""
    data_url = page.evaluate(
        """(colour) => {
            const canvas = document.createElement("canvas");
            canvas.width = 64; canvas.height = 48;
            const g = canvas.getContext("2d");
            g.fillStyle = colour; g.fillRect(0, 0, 64, 48);
            g.fillStyle = "#fff"; g.fillRect(8, 8, 20, 12);
            return canvas.toDataURL("image/jpeg", 0.9);
        }""",
        colour,
    )
    return base64.b64decode(data_url.split(",", 1)[1])


def _item(page, kind: str):
    return page.locator(f"[data-testid='upload-item'][data-kind='{kind}']")


def test_photos_and_recording_reach_the_server_even_through_a_dropped_connection(phone, technician, job, private_root):
    page = phone
    log_in(page, "wang_technician")
    page.goto(f"/tech/jobs/{job.number}/")

    # a photo before the repair, from the camera input
    before = _camera_jpeg(page, "#c33")
    page.get_by_test_id("photo-before-input").set_input_files(
        files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": before}]
    )
    expect(_item(page, "photo_before")).to_have_attribute("data-state", "saved")

    # the recording: the consent sentence first, then two seconds with the elapsed time shown
    page.get_by_test_id("record").click()
    expect(page.get_by_test_id("consent-sentence")).to_be_visible()
    page.get_by_test_id("record-start").click()
    expect(page.get_by_test_id("record-elapsed")).to_have_text("0:02")
    page.get_by_test_id("record-stop").click()
    expect(_item(page, "recording")).to_have_attribute("data-state", "saved")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # fits the phone's width
    page.screenshot(path=str(settings.VAR_DIR / "e2e-technician-media.png"), full_page=True)

    photo = Media.objects.get(ticket=job, kind=Media.Kind.PHOTO_BEFORE)
    recording = Media.objects.get(ticket=job, kind=Media.Kind.RECORDING)
    assert (photo.sha256, photo.content_type, photo.uploaded_by) == (
        hashlib.sha256(before).hexdigest(),
        "image/jpeg",
        technician,
    )
    with photo.file.open("rb") as stored:
        assert stored.read() == before
    with recording.file.open("rb") as stored:
        audio = stored.read()
    assert (recording.content_type, recording.sha256) == ("audio/webm", hashlib.sha256(audio).hexdigest())
    assert len(audio) > 1000
    assert recording.duration_seconds in (2, 3)
    # the phone's own checksum was sent and matched (a mismatch is refused): it is the one in the list's item
    assert _item(page, "recording").get_attribute("data-client-id") == str(recording.client_id)

    # the connection drops: the photo after is kept on the phone and shown as queued
    page.context.set_offline(True)
    after = _camera_jpeg(page, "#3a3")
    page.get_by_test_id("photo-after-input").set_input_files(
        files=[{"name": "IMG_0002.jpg", "mimeType": "image/jpeg", "buffer": after}]
    )
    expect(_item(page, "photo_after")).to_have_attribute("data-state", "queued")
    expect(_item(page, "photo_after").get_by_test_id("upload-reason")).to_be_visible()
    assert not Media.objects.filter(ticket=job, kind=Media.Kind.PHOTO_AFTER).exists()

    # back online: it goes by itself, once
    page.context.set_offline(False)
    expect(_item(page, "photo_after")).to_have_attribute("data-state", "saved")
    [saved_after] = Media.objects.filter(ticket=job, kind=Media.Kind.PHOTO_AFTER)
    assert saved_after.sha256 == hashlib.sha256(after).hexdigest()
    assert Media.objects.filter(ticket=job).count() == 3


def test_a_queued_photo_survives_a_reload_and_is_sent_after_it(phone, technician, job, private_root):
    page = phone
    log_in(page, "wang_technician")
    page.goto(f"/tech/jobs/{job.number}/")
    page.context.set_offline(True)
    photo = _camera_jpeg(page, "#33c")
    page.get_by_test_id("photo-before-input").set_input_files(
        files=[{"name": "IMG_0003.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    expect(_item(page, "photo_before")).to_have_attribute("data-state", "queued")

    # the page is closed while offline; once back online the job is opened again: the file was in IndexedDB
    context = page.context
    page.close()
    context.set_offline(False)
    page = context.new_page()
    page.goto(f"/tech/jobs/{job.number}/")
    expect(_item(page, "photo_before")).to_have_attribute("data-state", "saved")
    assert Media.objects.get(ticket=job).sha256 == hashlib.sha256(photo).hexdigest()


def test_a_file_the_server_refuses_shows_why_and_can_be_removed(phone, job, private_root):
    page = phone
    log_in(page, "wang_technician")
    page.goto(f"/tech/jobs/{job.number}/")

    page.get_by_test_id("photo-before-input").set_input_files(
        files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo, only text\n" * 10}]
    )

    item = _item(page, "photo_before")
    expect(item).to_have_attribute("data-state", "failed")
    expect(item.get_by_test_id("upload-reason")).not_to_be_empty()
    assert not Media.objects.exists()
    item.get_by_test_id("upload-remove").click()
    expect(item).to_have_count(0)
