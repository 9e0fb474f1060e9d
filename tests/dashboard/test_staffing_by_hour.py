from datetime import date

import pytest

from dashboard.selectors import Scope, staffing_by_hour
from dispatch.models import DutyPeriod
from regions.models import Division
from tests.dashboard.builders import local, new_ticket, sync

pytestmark = pytest.mark.django_db


def test_on_duty_from_duty_periods_and_needed_from_tickets_by_hour(wang, zhao, yonghe, yuyao):
    # given: 王 on duty 08:00–10:30, 赵 09:30–09:45 on the 24th; three tickets at 9 o'clock in 永和
    DutyPeriod.objects.create(technician=wang, started_at=local(24, 8), ended_at=local(24, 10, 30))
    DutyPeriod.objects.create(technician=zhao, started_at=local(24, 9, 30), ended_at=local(24, 9, 45))
    for minute in (0, 20, 40):
        new_ticket(division=yonghe, at=local(24, 9, minute))
    sync()
    day = Scope(start=date(2026, 11, 24), end=date(2026, 11, 24))
    # when
    rows = staffing_by_hour(scope=day)
    # then
    assert [(r["hour"], r["on_duty"], r["needed"]) for r in rows[7:12]] == [
        (7, 0, 0),
        (8, 1, 0),
        (9, 2, 3),
        (10, 1, 0),
        (11, 0, 0),
    ]
    # 赵 does not cover 浙江: only 王 counts there
    zhejiang = Scope(start=date(2026, 11, 24), end=date(2026, 11, 24), region=Division.objects.get(code="330000"))
    assert staffing_by_hour(scope=zhejiang)[9]["on_duty"] == 1
