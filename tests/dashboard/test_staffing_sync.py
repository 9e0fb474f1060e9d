from datetime import date

import pytest

from dashboard.selectors import Scope, staffing_by_hour
from dashboard.services import staffing_rebuild
from dispatch.models import DutyPeriod
from regions.models import Division
from tests.dashboard.builders import local, sync
from tests.dispatch.factories import TechnicianFactory

pytestmark = pytest.mark.django_db


def on_duty(day: int, region: Division | None = None) -> list[float]:
    scope = Scope(start=date(2026, 11, day), end=date(2026, 11, day), region=region)
    return [row["on_duty"] for row in staffing_by_hour(scope=scope)]


def test_a_duty_period_spanning_midnight_counts_on_both_days(wang):
    # given: on duty 22:00 on the 24th to 01:30 on the 25th (Shanghai)
    DutyPeriod.objects.create(technician=wang, started_at=local(24, 22), ended_at=local(25, 1, 30))
    # when
    sync()
    # then
    assert on_duty(24)[21:] == [0, 1, 1]
    assert on_duty(25)[:3] == [1, 1, 0]


def test_an_open_duty_period_counts_up_to_now_and_grows_with_each_sync(wang):
    # given: on duty since 22:00 on the 25th, never closed
    DutyPeriod.objects.create(technician=wang, started_at=local(25, 22))
    # when: the job runs at 01:30, then at 03:10
    sync(local(26, 1, 30))
    # then: the hours up to now count, not the rest of the night
    assert on_duty(25)[22:] == [1, 1]
    assert on_duty(26)[:3] == [1, 1, 0]
    sync(local(26, 3, 10))
    assert on_duty(26)[:5] == [1, 1, 1, 1, 0]
    # when: off duty at 03:40; the next run at 05:00
    DutyPeriod.objects.filter(technician=wang).update(ended_at=local(26, 3, 40))
    sync(local(26, 5))
    # then: nothing after 03:40, and the same rows as a rebuild from scratch
    assert on_duty(26)[:6] == [1, 1, 1, 1, 0, 0]
    kept = on_duty(26)
    staffing_rebuild(now=local(26, 5))
    assert on_duty(26) == kept


def test_overlapping_periods_of_one_technician_count_once(wang):
    # given: two periods of 王 that overlap from 10:00 to 11:00
    DutyPeriod.objects.create(technician=wang, started_at=local(24, 8), ended_at=local(24, 11))
    DutyPeriod.objects.create(technician=wang, started_at=local(24, 10), ended_at=local(24, 12))
    # when
    sync()
    # then
    assert on_duty(24)[7:13] == [0, 1, 1, 1, 1, 0]


def test_a_technician_covering_a_whole_city_counts_for_its_counties(yonghe, xiaodian):
    # given: 钱 covers 临汾市 as a whole, 孙 only 永和县 (in 临汾); both on duty 9–10
    linfen = Division.objects.get(code="141000")
    qian = TechnicianFactory(name="钱师傅", coverage=[linfen])
    sun = TechnicianFactory(name="孙师傅", coverage=[yonghe])
    for technician in (qian, sun):
        DutyPeriod.objects.create(technician=technician, started_at=local(24, 9), ended_at=local(24, 10))
    # when
    sync()
    # then: both count for 永和县, 临汾市 and 山西; neither for 太原's 小店区; everyone nationwide
    assert on_duty(24, yonghe)[9] == 2
    assert on_duty(24, linfen)[9] == 2
    assert on_duty(24, Division.objects.get(code="140000"))[9] == 2
    assert on_duty(24, xiaodian)[9] == 0
    assert on_duty(24)[9] == 2
