from datetime import timedelta

import pytest

from sla.selectors import tick_heartbeat_age, tick_is_alive
from sla.services import deadline_fire_due

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


def test_no_tick_yet_is_not_alive(t0):
    assert tick_heartbeat_age(now=t0) is None
    assert not tick_is_alive(now=t0)


def test_alarm_when_the_last_tick_is_more_than_10_seconds_old(t0, queued):
    deadline_fire_due(now=t0)

    assert tick_is_alive(now=t0 + 10 * S)
    assert not tick_is_alive(now=t0 + 11 * S)
    assert tick_heartbeat_age(now=t0 + 11 * S) == 11 * S
