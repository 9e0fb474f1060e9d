from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dispatch.models import Technician
from regions.models import Division, ServiceArea
from tests.dispatch.factories import TechnicianFactory, skill


@pytest.fixture
def t0():
    return datetime(2026, 11, 26, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def yonghe(db) -> Division:
    """山西省 临汾市 永和县, a served county."""
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    return Division.objects.get(code="141032")


@pytest.fixture
def zhihe(yonghe) -> Division:
    """芝河镇, a town in the served county."""
    return Division.objects.get(code="141032100")


@pytest.fixture
def ticket_input(zhihe):
    return {
        "phone": "13812345678",
        "name": "张伟",
        "division": zhihe,
        "address_detail": "芝河镇建设路 12 号 3 单元 501",
        "category": "biometric",
        "lock_brand": "德施曼",
    }


@pytest.fixture
def wang(technician, yonghe) -> Technician:
    """王师傅, the `technician` user's profile: on duty, covers 永和县, fixes fingerprint locks."""
    return TechnicianFactory(
        user=technician, name="王师傅", coverage=[yonghe], skills=[skill("biometric", "指纹/人脸")], capacity=2
    )


@pytest.fixture
def zhao(yonghe) -> Technician:
    """赵师傅, another technician on duty in 永和县 with the same skill."""
    return TechnicianFactory(name="赵师傅", coverage=[yonghe], skills=[skill("biometric", "指纹/人脸")], capacity=2)
