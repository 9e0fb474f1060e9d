from datetime import date

import pytest

from dashboard.selectors import (
    ROLLUP_FIGURES,
    breakdown,
    clock_summary,
    ticket_count_for_figure,
    ticket_list_for_figure,
)
from regions.models import Division
from tests.dashboard.builders import MINUTE, cancel, local, new_ticket, sync, week, work

pytestmark = pytest.mark.django_db


def test_a_ticket_crossing_midnight_belongs_to_the_day_and_hour_it_was_created(operator, wang, yonghe):
    # given: created 23:50 on the 25th (Shanghai; 15:50 UTC), answered 00:10 on the 26th
    created = local(25, 23, 50)
    work(
        new_ticket(division=yonghe, at=created),
        technician=wang,
        operator=operator,
        accepted=created,
        responded=created + 20 * MINUTE,
    )
    sync()
    # when
    days = breakdown(scope=week(), by="day")
    hours = breakdown(scope=week(), by="hour")
    # then
    assert [(row["key"], row["tickets"], row["response_met"]) for row in days] == [(date(2026, 11, 25), 1, 1)]
    assert len(hours) == 24 and hours[23]["tickets"] == 1 and sum(row["tickets"] for row in hours) == 1
    only_26th = week()
    only_26th = type(only_26th)(start=date(2026, 11, 26), end=date(2026, 11, 26))
    assert clock_summary(scope=only_26th)[0]["met"] == 0


def test_by_region_splits_the_country_into_provinces_and_a_province_into_cities(
    operator, wang, yonghe, xiaodian, yuyao
):
    # given: two tickets in 山西 (临汾 and 太原), one in 浙江, the 浙江 one answered late
    t0 = local(24, 9)
    for division in (yonghe, xiaodian):
        work(new_ticket(division=division, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0)
    work(
        new_ticket(division=yuyao, at=t0),
        technician=wang,
        operator=operator,
        accepted=t0,
        responded=t0 + 31 * MINUTE,
    )
    sync()
    # when
    national = breakdown(scope=week(), by="region")
    shanxi = breakdown(scope=week(region=Division.objects.get(code="140000")), by="region")
    # then
    assert [(r["key"], r["label"], r["tickets"], r["share_met"]) for r in national] == [
        ("140000", "山西省", 2, 100.0),
        ("330000", "浙江省", 1, 0.0),
    ]
    assert [(r["key"], r["tickets"]) for r in shanxi] == [("140100", 1), ("141000", 1)]


def test_by_technician_and_the_drill_down_list_the_same_tickets(operator, wang, zhao, yonghe):
    # given: 王 one job answered late, 赵 two jobs in time
    t0 = local(24, 9)
    late = work(
        new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0 + 45 * MINUTE
    )
    for _ in range(2):
        work(new_ticket(division=yonghe, at=t0), technician=zhao, operator=operator, accepted=t0, responded=t0)
    sync()
    # when
    rows = {row["label"]: row for row in breakdown(scope=week(), by="technician")}
    behind = ticket_list_for_figure(scope=week(), figure="response_breached")
    # then
    assert (rows["王师傅"]["tickets"], rows["王师傅"]["response_breached"]) == (1, 1)
    assert (rows["赵师傅"]["tickets"], rows["赵师傅"]["share_met"]) == (2, 100.0)
    assert [fact.ticket.number for fact in behind] == [late.number]
    assert ticket_list_for_figure(scope=week(), figure="all", technician_id=zhao.pk).count() == 2


def test_the_rollup_counts_the_same_tickets_the_drill_down_lists(operator, wang, zhao, yonghe, yuyao):
    # given: in time, late, cancelled and still waiting, on two days in two provinces
    t0 = local(24, 9)
    work(new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0)
    late = new_ticket(division=yuyao, at=local(25, 23, 50))
    work(late, technician=zhao, operator=operator, accepted=late.created_at, responded=late.created_at + 45 * MINUTE)
    cancel(new_ticket(division=yonghe, at=t0), by=operator, at=t0 + 5 * MINUTE)
    new_ticket(division=yuyao, at=t0)
    sync()
    scopes = [week(), week(region=Division.objects.get(code="330000")), week(provinces=("140000",))]
    for scope in scopes:
        for figure in ROLLUP_FIGURES:
            for day in (None, date(2026, 11, 25)):
                # then
                listed = ticket_list_for_figure(scope=scope, figure=figure, day=day).count()
                assert ticket_count_for_figure(scope=scope, figure=figure, day=day) == listed, (scope, figure, day)
    assert ticket_count_for_figure(scope=week(), figure="response_breached") == 1
    assert ticket_count_for_figure(scope=week(), figure="all", hour=9) is None
