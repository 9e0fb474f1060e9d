from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dispatch.models import Technician
from tests.dispatch.factories import TechnicianFactory, skill


@pytest.fixture
def t0():
    return datetime(2026, 11, 26, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


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
