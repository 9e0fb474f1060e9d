import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.roles import Role
from dashboard.models import ManagerRegion
from regions.models import Division, ServiceArea
from tests.dispatch.factories import TechnicianFactory, skill


@pytest.fixture
def xiaodian(db) -> Division:
    """山西省 太原市 小店区, served."""
    ServiceArea.objects.create(division_id="140105", source_entry="太原市小店区", outcome="exact")
    return Division.objects.get(code="140105")


@pytest.fixture
def yuyao(db) -> Division:
    """浙江省 宁波市 余姚市, served."""
    ServiceArea.objects.create(division_id="330281", source_entry="宁波市余姚市", outcome="exact")
    return Division.objects.get(code="330281")


@pytest.fixture
def wang(technician, yonghe, xiaodian, yuyao):
    """王师傅: on duty, covers the three served counties, fixes fingerprint locks."""
    return TechnicianFactory(
        user=technician,
        name="王师傅",
        coverage=[yonghe, xiaodian, yuyao],
        skills=[skill("biometric", "指纹/人脸")],
        capacity=50,
    )


@pytest.fixture
def zhao(yonghe):
    """赵师傅: on duty in 永和县."""
    return TechnicianFactory(name="赵师傅", coverage=[yonghe], skills=[skill("biometric", "指纹/人脸")], capacity=50)


@pytest.fixture
def regional_manager(db, yonghe):
    """A manager who sees only 山西省."""
    user = get_user_model().objects.create_user(username="shanxi_manager", password="pw-for-tests")
    user.groups.add(Group.objects.get(name=Role.MANAGER))
    ManagerRegion.objects.create(user=user, province_id="140000")
    return user
