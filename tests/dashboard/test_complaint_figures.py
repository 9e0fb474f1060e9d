"""Complaint figures: rate per 100 completed jobs, complaint clocks, outcomes per technician, drill-down."""

import pytest
from django.urls import reverse

from complaints.models import Complaint, Decision
from complaints.services import complaint_acknowledge, complaint_decide, complaint_file
from dashboard.models import TicketFact
from dashboard.selectors import (
    complaint_clock_summary,
    complaint_list_for_scope,
    complaint_outcomes,
    ticket_list_for_figure,
    ticket_summary,
)
from tests.dashboard.builders import MINUTE, cancel, local, new_ticket, sync, week, work

pytestmark = pytest.mark.django_db
PERIOD = {"start": "2026-11-23", "end": "2026-11-29"}


def _done(*, division, at, wang, operator):
    return work(
        new_ticket(division=division, at=at),
        technician=wang,
        operator=operator,
        accepted=at,
        responded=at + MINUTE,
        on_site=at + 20 * MINUTE,
        completed=at + 40 * MINUTE,
    )


def _complain(ticket, *, at, operator):
    return complaint_file(
        ticket=ticket,
        channel=Complaint.Channel.PHONE,
        category=Complaint.Category.QUALITY,
        description="锁又坏了",
        remedy_requested="re_service",
        by=operator,
        now=at,
    )


@pytest.fixture
def complained_week(operator, reviewer, wang, yonghe):
    """Four jobs done in the week (three complained about), one cancelled, and one job of the week before whose
    complaint was filed inside the week (it belongs to its ticket's day, so it is not counted)."""
    a = _done(division=yonghe, at=local(23, 10), wang=wang, operator=operator)
    # Created 23:50 on the 24th, finished after midnight: still the 24th's job.
    b = _done(division=yonghe, at=local(24, 23, 50), wang=wang, operator=operator)
    c = _done(division=yonghe, at=local(25, 9), wang=wang, operator=operator)
    _done(division=yonghe, at=local(27, 9), wang=wang, operator=operator)
    cancel(new_ticket(division=yonghe, at=local(27, 10)), by=operator, at=local(27, 10, 5))
    before = _done(division=yonghe, at=local(22, 20), wang=wang, operator=operator)

    # A: acknowledged in 30 minutes, upheld after 25 hours (the technician's 24-hour window had closed).
    first = _complain(a, at=local(23, 14), operator=operator)
    complaint_acknowledge(complaint=first, by=reviewer, now=local(23, 14, 30))
    complaint_decide(
        complaint=first, by=reviewer, outcome="upheld", reason="确有质量问题", remedy="re_service", now=local(24, 15)
    )
    # B: acknowledged after 2 hours (late), rejected after 3 hours without waiting for the technician.
    second = _complain(b, at=local(26, 9), operator=operator)
    complaint_acknowledge(complaint=second, by=reviewer, now=local(26, 11))
    complaint_decide(
        complaint=second,
        by=reviewer,
        outcome="rejected",
        reason="录音显示已告知",
        early_reason="有录音",
        now=local(26, 12),
    )
    # C: filed, nobody has looked yet (no verdict on either clock).
    _complain(c, at=local(25, 12), operator=operator)
    # The week before: acknowledged in 10 minutes, but its ticket is not of this week.
    earlier = _complain(before, at=local(23, 9), operator=operator)
    complaint_acknowledge(complaint=earlier, by=reviewer, now=local(23, 9, 10))
    sync()
    return {"a": a, "b": b, "c": c, "before": before}


def test_rate_is_complaints_about_the_periods_tickets_per_100_completed_jobs(complained_week):
    totals = ticket_summary(scope=week())
    assert (totals["completed"], totals["complaints"], totals["complaints_per_100_jobs"]) == (4, 3, 75.0)


def test_rate_is_not_available_without_completed_jobs(db):
    totals = ticket_summary(scope=week())
    assert (totals["complaints"], totals["complaints_per_100_jobs"]) == (0, None)


def test_complaint_clocks_met_share_and_percentiles(complained_week):
    acknowledge, decision = complaint_clock_summary(scope=week())
    # acknowledge: 30 min met, 120 min late; C still running has no verdict
    assert acknowledge["kind"] == "complaint_acknowledge"
    assert (acknowledge["met"], acknowledge["breached"], acknowledge["share_met"]) == (1, 1, 50.0)
    assert (acknowledge["p50"], acknowledge["p90"]) == (4500.0, 6660.0)  # of 1800 s and 7200 s
    # decide: 25 h and 3 h, both within 48 h
    assert decision["kind"] == "complaint_decision"
    assert (decision["met"], decision["breached"], decision["share_met"]) == (2, 0, 100.0)
    assert (decision["p50"], decision["p90"]) == (50400.0, 82080.0)  # of 10800 s and 90000 s


def test_outcomes_take_the_decision_in_force(complained_week, wang):
    outcomes = complaint_outcomes(complaints=complaint_list_for_scope(scope=week()).filter(ticket__technician=wang))
    assert outcomes == {"total": 3, "upheld": 1, "partly": 0, "rejected": 1, "undecided": 1}


def test_drill_down_lists_the_tickets_behind_each_complaint_figure(complained_week):
    numbers = lambda figure: [f.ticket.number for f in ticket_list_for_figure(scope=week(), figure=figure)]  # noqa: E731
    a, b, c = complained_week["a"].number, complained_week["b"].number, complained_week["c"].number
    assert numbers("complaints") == [c, b, a]
    assert numbers("complaint_acknowledge_breached") == [b]
    assert numbers("complaint_acknowledge_met") == [a]
    assert numbers("complaint_decision_met") == [b, a]


def test_sync_picks_up_a_complaint_filed_after_the_job_was_rolled_up(operator, wang, yonghe):
    ticket = _done(division=yonghe, at=local(23, 10), wang=wang, operator=operator)
    sync(local(23, 12))
    assert TicketFact.objects.get(ticket=ticket).complaints == 0
    _complain(ticket, at=local(23, 13), operator=operator)
    sync(local(23, 14))
    assert TicketFact.objects.get(ticket=ticket).complaints == 1


def test_home_shows_the_rate_and_complaint_clocks(client, manager, complained_week):
    client.force_login(manager)
    page = client.get(reverse("dashboard:home"), PERIOD).content.decode()
    assert 'figure=complaints" >75.0</a>' in page.replace('">75.0', '" >75.0')
    assert 'data-testid="share-complaint_acknowledge">50.0%<' in page
    assert 'data-testid="share-complaint_decision">100.0%<' in page


def test_drill_page_links_each_complaint(client, manager, complained_week):
    client.force_login(manager)
    page = client.get(reverse("dashboard:tickets"), {**PERIOD, "figure": "complaint_acknowledge_breached"})
    assert page.status_code == 200
    complaint = Complaint.objects.get(ticket=complained_week["b"])
    assert reverse("complaints:workspace", args=[complaint.pk]) in page.content.decode()
    assert page.content.decode().count('data-testid="complaint-link"') == 1


def test_technician_page_shows_complaint_outcomes(client, manager, wang, complained_week):
    client.force_login(manager)
    page = client.get(reverse("dashboard:technician", args=[wang.pk]), PERIOD).content.decode()
    for testid, value in (("complaints-upheld", 1), ("complaints-rejected", 1), ("complaints-undecided", 1)):
        assert f'data-testid="{testid}">{value}<' in page
    assert Decision.objects.count() == 2
