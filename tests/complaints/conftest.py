import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from complaints.models import Complaint, Evidence
from complaints.services import complaint_file
from dispatch.services import ticket_create
from regions.models import Division
from tests.dispatch.factories import TechnicianFactory, job_through, skill


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# A real (tiny) photo: the intake decodes the header to guard against decompression bombs.
JPEG = _jpeg()
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 200


def photo(name: str = "lock.jpg", data: bytes = JPEG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def video(name: str = "lock.mp4") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, MP4, content_type="video/mp4")


@pytest.fixture
def t0():
    return datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def evidence_root(private_root, monkeypatch):
    """The private storage in a temporary directory (tests/conftest.py's private_root: the job's own photos) for the
    evidence originals and their display copies too (the fields hold their storage object from import time)."""
    for field in (Evidence._meta.get_field("file"), Evidence._meta.get_field("display_file")):
        monkeypatch.setattr(field, "storage", storages["private"])
    return private_root


@pytest.fixture
def wang(technician, yonghe):
    """王师傅, the `technician` user's profile."""
    return TechnicianFactory(user=technician, name="王师傅", coverage=[yonghe], skills=[skill("biometric")])


@pytest.fixture
def zhao(yonghe):
    """赵师傅, another technician in the same county."""
    return TechnicianFactory(name="赵师傅", coverage=[yonghe], skills=[skill("biometric")])


@pytest.fixture
def done_job(operator, wang, yonghe, t0):
    """A job 王师傅 completed for the customer 13812345678."""
    ticket = ticket_create(
        phone="13812345678",
        division=Division.objects.get(code="141032100"),
        address_detail="芝河镇建设路 12 号",
        category="biometric",
        by=operator,
        now=t0,
    )
    return job_through(ticket, technician=wang, operator=operator, at=t0)


@pytest.fixture
def complaint(done_job, operator, evidence_root, t0) -> Complaint:
    """A damage complaint the operator filed on the phone, 1 hour after the job, with one photo."""
    return complaint_file(
        ticket=done_job,
        channel=Complaint.Channel.PHONE,
        category=Complaint.Category.DAMAGE,
        description="师傅修完后门把手松了",
        remedy_requested="compensation",
        uploads=[photo()],
        by=operator,
        now=t0.replace(hour=11),
    )


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """The public pages' counters live in Redis and outlive a test's rollback: start each test with none."""
    cache.clear()
