import io
import uuid
from functools import cached_property

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.roles import Role
from complaints.models import Complaint, Evidence
from complaints.services import complaint_file
from dashboard.models import ManagerRegion
from dashboard.services import ticket_fact_sync
from dispatch.models import Media
from dispatch.services import _MediaLinkSigner, media_upload, ticket_create, ticket_offer
from regions.models import Division, ServiceArea
from sla.models import DeadlineKind
from sla.selectors import deadline_get
from tests.dispatch import conftest as dispatch_fixtures
from tests.dispatch.factories import job_through
from tests.security.matrix import ADMIN, MANAGER, OPERATOR, REGIONAL, REVIEWER, TECHNICIAN

User = get_user_model()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def photo(name: str = "lock.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg(), content_type="image/jpeg")


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """The public pages' rate-limit counters live in Redis and outlive a test's rollback."""
    cache.clear()


# 永和县 served (`yonghe`, tests/conftest.py), 王师傅 (the `technician` user) and 赵师傅 working there: the dispatch
# tests' own fixtures.
wang, zhao = dispatch_fixtures.wang, dispatch_fixtures.zhao


@pytest.fixture
def regional_manager(db):
    """钱经理, a manager limited to 山西省 (where every object of the World is, unless it says otherwise)."""
    user = User.objects.create_user(username="qian_regional", password="pw-for-tests")
    user.groups.add(Group.objects.get(name=Role.MANAGER))
    ManagerRegion.objects.create(user=user, province_id="140000")
    return user


@pytest.fixture
def evidence_storage(private_root, monkeypatch):
    """Complaint evidence in the same temporary private storage as the job's media."""
    from django.core.files.storage import storages

    for field in (Evidence._meta.get_field("file"), Evidence._meta.get_field("display_file")):
        monkeypatch.setattr(field, "storage", storages["private"])
    return private_root


class World:
    """The objects the routes name, built on first use so that each test pays only for what its route needs.

    "own" objects belong to the `technician` user (王师傅) and lie in 山西, the regional manager's province; "other"
    objects belong to 赵师傅 (another technician) or, for breaches, lie in 北京.
    """

    def __init__(self, *, users, wang, zhao, yonghe):
        self.users, self.wang, self.zhao, self.yonghe = users, wang, zhao, yonghe

    def _ticket(self, phone: str, division_code: str = "141032100"):
        return ticket_create(
            phone=phone,
            division=Division.objects.get(code=division_code),
            address_detail="芝河镇建设路 12 号",
            category="biometric",
            by=self.users[OPERATOR],
        )

    def _job(self, technician, phone: str, until: str):
        return job_through(self._ticket(phone), technician=technician, operator=self.users[OPERATOR], at=None,
                           until=until)  # fmt: skip

    @cached_property
    def job(self):
        return self._job(self.wang, "13812345678", "on_site")

    @cached_property
    def other_job(self):
        return self._job(self.zhao, "13912345678", "on_site")

    @cached_property
    def offer(self):
        return ticket_offer(ticket=self._ticket("13712345678"), technician=self.wang, by=self.users[OPERATOR])

    @cached_property
    def other_offer(self):
        return ticket_offer(ticket=self._ticket("13612345678"), technician=self.zhao, by=self.users[OPERATOR])

    def _complaint(self, technician, phone: str) -> Complaint:
        done = self._job(technician, phone, "completed")
        return complaint_file(
            ticket=done,
            channel=Complaint.Channel.PHONE,
            category=Complaint.Category.DAMAGE,
            description="师傅修完后门把手松了",
            remedy_requested="compensation",
            uploads=[photo()],
            by=self.users[OPERATOR],
        )

    @cached_property
    def complaint(self) -> Complaint:
        return self._complaint(self.wang, "13512345678")

    @cached_property
    def other_complaint(self) -> Complaint:
        return self._complaint(self.zhao, "13412345678")

    @cached_property
    def evidence(self) -> Evidence:
        return self.complaint.evidence.order_by("pk").first()

    def _media(self, ticket, technician) -> Media:
        media, _created = media_upload(
            ticket=ticket, kind=Media.Kind.PHOTO_BEFORE, upload=photo(), client_id=uuid.uuid4(), by=technician.user
        )
        return media

    @cached_property
    def media(self) -> Media:
        return self._media(self.job, self.wang)

    @cached_property
    def other_media(self) -> Media:
        return self._media(self.other_job, self.zhao)

    @cached_property
    def deadline(self):
        deadline = deadline_get(subject=self.job, kind=DeadlineKind.RESPONSE)
        ticket_fact_sync()  # a regional manager's provinces are read from the dashboard's rollup
        return deadline

    @cached_property
    def other_deadline(self):
        ServiceArea.objects.create(division_id="110101", source_entry="北京市东城区", outcome="exact")
        ticket = self._ticket("13312345678", "110101001")
        deadline = deadline_get(subject=ticket, kind=DeadlineKind.RESPONSE)
        ticket_fact_sync()
        return deadline

    def media_token(self, media: Media, user) -> str:
        """A personal link token as files:gallery issues it (signed for `user`, or for the operator if anonymous)."""
        holder = user if user is not None else self.users[OPERATOR]
        from django.utils import timezone

        return _MediaLinkSigner(now=timezone.now()).sign(f"{media.pk}.{holder.pk}")


@pytest.fixture
def world(operator, technician, manager, regional_manager, reviewer, administrator, wang, zhao, yonghe,
          evidence_storage):  # fmt: skip
    users = {
        OPERATOR: operator,
        TECHNICIAN: technician,
        MANAGER: manager,
        REGIONAL: regional_manager,
        REVIEWER: reviewer,
        ADMIN: administrator,
    }
    return World(users=users, wang=wang, zhao=zhao, yonghe=yonghe)
