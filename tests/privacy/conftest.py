from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.dispatch.factories import TechnicianFactory, skill

POOL = ["+8617100000000", "+8617100000001"]


@pytest.fixture(autouse=True)
def number_pool(settings):
    """Two virtual numbers in the console backend's pool."""
    settings.PRIVACY_NUMBER_BACKEND = "privacy.backends.ConsoleBackend"
    settings.PRIVACY_NUMBER_POOL = ["+8617100000000-+8617100000001"]
    settings.PRIVACY_BINDING_HOURS = 72
    return POOL


@pytest.fixture
def t0():
    return datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def wang(technician, zhihe):
    return TechnicianFactory(
        user=technician, name="王师傅", phone="+8613900000001", coverage=[zhihe.parent], skills=[skill("biometric")]
    )


@pytest.fixture
def zhao(zhihe):
    return TechnicianFactory(
        name="赵师傅", phone="+8613900000002", coverage=[zhihe.parent], skills=[skill("biometric")]
    )


@pytest.fixture
def as_wang(client, wang):
    client.force_login(wang.user)
    return client
