from datetime import date

import pytest
from django.core.management import call_command

from dashboard.models import RegionDayRollup, RollupLevel
from dashboard.selectors import Scope, staffing_by_hour
from dispatch.models import DutyPeriod
from tests.dashboard.builders import local, new_ticket, sync

pytestmark = pytest.mark.django_db


def test_rebuilds_what_a_hand_edit_changed_behind_the_sync(wang, yonghe, capsys):
    # given: a shift rolled up, then shortened by hand (no sync sees an edit of an old period); a ticket's rows lost
    period = DutyPeriod.objects.create(technician=wang, started_at=local(24, 8), ended_at=local(24, 12))
    new_ticket(division=yonghe, at=local(24, 9))
    sync()
    DutyPeriod.objects.filter(pk=period.pk).update(ended_at=local(24, 10))
    RegionDayRollup.objects.all().delete()
    day = Scope(start=date(2026, 11, 24), end=date(2026, 11, 24))
    assert [row["on_duty"] for row in staffing_by_hour(scope=day)][8:12] == [1, 1, 1, 1]
    # when
    call_command("rollup_rebuild")
    # then
    assert [row["on_duty"] for row in staffing_by_hour(scope=day)][8:12] == [1, 1, 0, 0]
    assert RegionDayRollup.objects.get(day=date(2026, 11, 24), level=RollupLevel.NATIONAL).tickets == 1
    assert "rollup rows" in capsys.readouterr().out
