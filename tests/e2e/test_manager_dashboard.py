"""The managers' morning question in the browser: did we keep the 30-minute promise last week in 山西, where not, and
why. The manager narrows the dashboard to 山西 and last week, reads the response clock's share, opens the late
tickets behind it and records why a breach happened."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dashboard.models import BreachReview
from dashboard.services import ticket_fact_sync
from dispatch.models import DutyPeriod
from dispatch.selectors import ticket_clocks
from dispatch.services import ticket_assign, ticket_create, ticket_progress
from regions.models import Division, ServiceArea
from sla.models import Heartbeat
from sla.selectors import TICK_HEARTBEAT
from tests.dispatch.factories import TechnicianFactory, skill
from tests.e2e.conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.django_db(transaction=True)
MINUTE = timedelta(minutes=1)


def last_week() -> tuple:
    """Monday to Sunday of the week before this one (Asia/Shanghai)."""
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday() + 7)
    return monday, monday + timedelta(days=6)


def answered(*, division, technician, operator, at, after: int):
    """A ticket created `at`, assigned at once and answered by phone `after` minutes later."""
    ticket = ticket_create(
        phone=f"1390000{at.day:02d}{at.hour:02d}", division=division, address_detail="建设路 1 号",
        category="biometric", by=operator, now=at, allow_duplicate=True,
    )  # fmt: skip
    ticket = ticket_assign(ticket=ticket, technician=technician, by=operator, reason="电话确认", now=at)
    return ticket_progress(ticket=ticket, by=technician.user, to="responded", now=at + after * MINUTE)


@pytest.fixture
def shanxi_week(operator, technician):
    """Last week in 山西 (永和县, 小店区): ten tickets answered in time, one 42 minutes after the call; in 浙江 one
    late ticket that 山西's figures must not show. The rollup job has run."""
    for code, entry in (("141032", "临汾市永和县"), ("140105", "太原市小店区"), ("330281", "宁波市余姚市")):
        ServiceArea.objects.create(division_id=code, source_entry=entry, outcome="exact")
    yonghe, xiaodian, yuyao = (Division.objects.get(code=c) for c in ("141032", "140105", "330281"))
    wang = TechnicianFactory(
        user=technician, name="王师傅", coverage=[yonghe, xiaodian], skills=[skill("biometric")], capacity=50
    )
    zhou = TechnicianFactory(name="周师傅", coverage=[yuyao], skills=[skill("biometric")])
    monday, _sunday = last_week()
    zone = timezone.get_default_timezone()
    for offset in range(7):
        start = datetime.combine(monday + timedelta(days=offset), time(8), tzinfo=zone)
        DutyPeriod.objects.create(technician=wang, started_at=start, ended_at=start + timedelta(hours=10))
    for index in range(10):
        at = datetime.combine(monday + timedelta(days=index % 7), time(9 + index % 8, 5), tzinfo=zone)
        answered(division=(yonghe, xiaodian)[index % 2], technician=wang, operator=operator, at=at, after=5 + index)
    wednesday = datetime.combine(monday + timedelta(days=2), time(19, 30), tzinfo=zone)
    late = answered(division=yonghe, technician=wang, operator=operator, at=wednesday, after=42)
    answered(division=yuyao, technician=zhou, operator=operator, at=wednesday, after=50)
    ticket_fact_sync(now=timezone.now())
    Heartbeat.objects.create(name=TICK_HEARTBEAT, beat_at=timezone.now())  # the SLA tick is running
    return late


def test_a_manager_finds_last_weeks_late_answers_in_shanxi_and_says_why(desktop, manager, shanxi_week):
    monday, sunday = last_week()
    log_in(desktop, manager.username)
    desktop.goto("/manager/")

    # picks last week, then 山西 from the regions below the country
    desktop.locator("#id_start").fill(monday.isoformat())
    desktop.locator("#id_end").fill(sunday.isoformat())
    desktop.locator("#period-form button").click()
    desktop.get_by_test_id("region-children").locator('a[href$="region=140000"]').click()
    expect(desktop.get_by_test_id("region-path")).to_contain_text("山西省")

    # 10 of the 11 response clocks were met: 90.9 %, and one breach
    expect(desktop.get_by_test_id("share-response")).to_have_text("90.9%")
    expect(desktop.get_by_test_id("figure-tickets")).to_have_text("11")
    desktop.screenshot(path=str(SCREENSHOTS / "manager-dashboard.png"), full_page=True)

    # the breached count opens the ticket behind it
    desktop.locator('[data-testid="clocks"] tr[data-kind="response"] a.text-danger').click()
    expect(desktop.locator('[data-testid="drill-tickets"] tbody tr')).to_have_count(1)
    expect(desktop.locator(f'tr[data-number="{shanxi_week.number}"]')).to_be_visible()

    # back on the dashboard, the breaches figure opens the breach review, where the manager records why
    desktop.go_back()
    desktop.get_by_test_id("figure-breaches").click()
    breach = ticket_clocks(ticket=shanxi_week)["response"]
    row = desktop.locator(f'tr[data-deadline="{breach.pk}"]')
    expect(desktop.locator('[data-testid="breaches"] tbody tr')).to_have_count(1)
    row.locator(f"#reason-{breach.pk}").select_option("technician_late")
    row.get_by_role("textbox").fill("师傅在另一单耽误了")
    row.get_by_role("button").click()

    row = desktop.locator(f'tr[data-deadline="{breach.pk}"]')
    expect(row.locator(f"#reason-{breach.pk}")).to_have_value("technician_late")
    expect(row.get_by_role("textbox")).to_have_value("师傅在另一单耽误了")
    review = BreachReview.objects.get(deadline=breach)
    assert (review.reason, review.reviewed_by) == ("technician_late", manager)
