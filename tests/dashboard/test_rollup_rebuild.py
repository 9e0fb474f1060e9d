from datetime import date, timedelta

import pytest

from dashboard.models import RegionDayRollup, RegionHourRollup, RollupLevel, StaffingHour, TechnicianDayRollup
from dashboard.selectors import Scope, breakdown, clock_summary, staffing_by_hour, ticket_summary
from dashboard.services import rollup_rebuild, staffing_rebuild
from dispatch.models import DutyPeriod
from dispatch.services import ticket_progress, ticket_resume, ticket_wait_customer
from tests.dashboard.builders import MINUTE, cancel, local, new_ticket, sync, week, work

pytestmark = pytest.mark.django_db
SECOND = timedelta(seconds=1)


def snapshot() -> dict:
    """Every rollup row, without its id, in a stable order."""
    tables = {}
    for model in (RegionDayRollup, RegionHourRollup, TechnicianDayRollup, StaffingHour):
        fields = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        tables[model.__name__] = sorted(model.objects.values_list(*fields), key=repr)
    return tables


def national(day: int) -> dict:
    return RegionDayRollup.objects.values().get(day=date(2026, 11, day), level=RollupLevel.NATIONAL)


def test_rebuilding_from_the_facts_gives_the_rows_the_syncs_kept(operator, wang, zhao, yonghe, xiaodian, yuyao):
    # given: a history built sync by sync: late and in-time answers, a pause, a cancellation, a ticket crossing
    # midnight, in two provinces, with duty periods
    t0 = local(24, 9)
    DutyPeriod.objects.create(technician=wang, started_at=local(24, 8), ended_at=local(24, 18))
    work(new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0 + 7 * MINUTE)
    sync(t0 + 10 * MINUTE)
    late = work(new_ticket(division=yuyao, at=t0 + MINUTE), technician=zhao, operator=operator, accepted=t0)
    late = ticket_wait_customer(ticket=late, by=operator, reason="客户改约", now=t0 + 5 * MINUTE)
    sync(t0 + 20 * MINUTE)
    late = ticket_resume(ticket=late, by=operator, now=t0 + 30 * MINUTE)
    ticket_progress(ticket=late, by=zhao.user, to="responded", now=t0 + 70 * MINUTE)
    cancel(new_ticket(division=xiaodian, at=t0), by=operator, at=t0 + 3 * MINUTE)
    midnight = local(25, 23, 50)
    DutyPeriod.objects.create(technician=zhao, started_at=local(25, 22), ended_at=local(26, 2))
    work(
        new_ticket(division=xiaodian, at=midnight),
        technician=wang,
        operator=operator,
        accepted=midnight,
        responded=midnight + 25 * MINUTE,
    )
    sync(local(26, 1))
    sync(local(26, 3))
    kept = snapshot()
    assert kept["RegionDayRollup"] and kept["RegionHourRollup"] and kept["StaffingHour"]
    # when: everything is derived again from scratch
    RegionDayRollup.objects.all().delete()
    RegionHourRollup.objects.all().delete()
    TechnicianDayRollup.objects.all().delete()
    rollup_rebuild(days=[date(2026, 11, 24), date(2026, 11, 25)])
    staffing_rebuild(now=local(26, 3))
    # then
    assert snapshot() == kept
    # and running it twice changes nothing
    rollup_rebuild(days=[date(2026, 11, 24), date(2026, 11, 25)])
    assert snapshot() == kept


def test_a_late_change_to_a_ticket_moves_the_rows_of_the_day_it_was_created(operator, wang, yonghe):
    # given: created at 23:50 on the 25th, still waiting at the first sync
    created = local(25, 23, 50)
    ticket = work(new_ticket(division=yonghe, at=created), technician=wang, operator=operator, accepted=created)
    sync(created + 5 * MINUTE)
    before = national(25)
    assert (before["tickets"], before["response_met"], before["response_minutes"]) == (1, 0, [])
    # when: answered after midnight, and the next sync runs
    ticket_progress(ticket=ticket, by=wang.user, to="responded", now=created + 22 * MINUTE)
    sync(created + 25 * MINUTE)
    # then: the 25th's rows carry the answer, at every level; the 26th has none
    after = national(25)
    assert (after["tickets"], after["response_met"], after["response_minutes"], after["response_counts"]) == (
        1,
        1,
        [22],
        [1],
    )
    county = RegionDayRollup.objects.get(day=date(2026, 11, 25), level=RollupLevel.COUNTY, county_code="141032")
    assert (county.response_met, county.province_code, county.prefecture_code) == (1, "140000", "141000")
    assert not RegionDayRollup.objects.filter(day=date(2026, 11, 26)).exists()
    assert RegionHourRollup.objects.get(day=date(2026, 11, 25), hour=23, level=RollupLevel.NATIONAL).response_met == 1


def test_percentiles_come_from_the_one_minute_histogram(operator, wang, yonghe):
    # given: answered after 10 min 40 s and after 20 min 50 s
    t0 = local(24, 9)
    for answer in (10 * MINUTE + 40 * SECOND, 20 * MINUTE + 50 * SECOND):
        work(new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0 + answer)
    sync()
    # when
    response = clock_summary(scope=week())[0]
    hours = breakdown(scope=week(), by="hour")
    # then: each time counts as its whole minutes (the exact p50 would be 15 min 45 s), interpolated between them
    assert (response["p50"], response["p90"]) == (15 * 60, 19 * 60)
    assert hours[9]["response_p50"] == 15 * 60


def test_a_regional_manager_adds_up_only_their_provinces(operator, wang, yonghe, xiaodian, yuyao):
    # given: two tickets in 山西, one in 浙江; 王 (covering both provinces) on duty 9–10 on the 24th
    t0 = local(24, 9)
    for division in (yonghe, xiaodian, yuyao):
        work(new_ticket(division=division, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0)
    DutyPeriod.objects.create(technician=wang, started_at=t0, ended_at=t0 + 60 * MINUTE)
    sync()
    shanxi = week(provinces=("140000",))
    both = week(provinces=("140000", "330000"))
    # then
    assert ticket_summary(scope=shanxi)["tickets"] == 2
    assert clock_summary(scope=shanxi)[0]["met"] == 2
    assert [row["key"] for row in breakdown(scope=shanxi, by="region")] == ["140000"]
    assert [(row["label"], row["tickets"]) for row in breakdown(scope=shanxi, by="technician")] == [("王师傅", 2)]
    assert ticket_summary(scope=both)["tickets"] == 3
    # 王 counts for both provinces' rows, but once for a manager of both
    day = Scope(start=date(2026, 11, 24), end=date(2026, 11, 24), provinces=("140000", "330000"))
    assert staffing_by_hour(scope=day)[9]["on_duty"] == 1
