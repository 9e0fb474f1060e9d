from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from dashboard.models import BreachReview
from dispatch.selectors import ticket_clocks
from sla.models import Heartbeat
from sla.selectors import TICK_HEARTBEAT
from tests.dashboard.builders import MINUTE, local, new_ticket, sync, work

pytestmark = pytest.mark.django_db
PERIOD = {"start": "2026-11-23", "end": "2026-11-29"}


@pytest.fixture
def late_in_shanxi(operator, wang, yonghe, yuyao):
    """One ticket answered 12 minutes late in 山西, one in time in 浙江."""
    t0 = local(24, 9)
    late = work(
        new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0 + 42 * MINUTE
    )
    work(new_ticket(division=yuyao, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0)
    sync()
    return late


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.MANAGER, 200), (Role.ADMIN, 200), (Role.OPERATOR, 403), (Role.TECHNICIAN, 403), (Role.REVIEWER, 403)],
)
def test_only_managers_and_administrators_open_the_dashboard(client, users_by_role, role, status):
    client.force_login(users_by_role[role])
    for name in ("dashboard:home", "dashboard:breaches", "dashboard:tickets"):
        assert client.get(reverse(name), PERIOD).status_code == status


def test_the_page_shows_the_response_share_and_links_to_the_late_tickets(client, manager, late_in_shanxi):
    client.force_login(manager)

    response = client.get(reverse("dashboard:home"), PERIOD)

    clocks = {row["kind"]: row for row in response.context["clocks"]}
    assert (clocks["response"]["met"], clocks["response"]["breached"], clocks["response"]["share_met"]) == (1, 1, 50.0)
    page = response.content.decode()
    assert 'data-testid="share-response">50.0%' in page
    assert "figure=response_breached" in page
    drill = client.get(reverse("dashboard:tickets"), {**PERIOD, "figure": "response_breached"})
    assert [fact.ticket.number for fact in drill.context["page"]] == [late_in_shanxi.number]


def test_a_regional_manager_sees_only_their_province_and_is_refused_another(client, regional_manager, late_in_shanxi):
    client.force_login(regional_manager)

    response = client.get(reverse("dashboard:home"), PERIOD)
    refused = client.get(reverse("dashboard:home"), {**PERIOD, "region": "330000"})

    assert response.context["totals"]["tickets"] == 1
    assert [row["key"] for row in response.context["by_region"]] == ["140000"]
    assert refused.status_code == 403


def test_exports_a_table_as_csv_with_a_byte_order_mark(client, manager, late_in_shanxi):
    client.force_login(manager)

    response = client.get(reverse("dashboard:home"), {**PERIOD, "export": "region"})

    body = response.content.decode("utf-8")
    assert response["Content-Type"].startswith("text/csv") and body.startswith("\ufeff")
    lines = body.lstrip("\ufeff").splitlines()
    assert lines[1:] == ["山西省,1,0,1,0.0,42.0", "浙江省,1,1,0,100.0,0.0"]


def test_exports_the_tickets_behind_a_figure(client, manager, late_in_shanxi):
    client.force_login(manager)

    response = client.get(reverse("dashboard:tickets"), {**PERIOD, "figure": "response_breached", "export": "csv"})

    rows = response.content.decode("utf-8").lstrip("\ufeff").splitlines()
    assert len(rows) == 2 and rows[1].startswith(late_in_shanxi.number + ",")


@pytest.mark.parametrize(("age", "alarm"), [(timedelta(seconds=3), False), (timedelta(seconds=30), True)])
def test_shows_the_tick_alarm_only_when_the_heartbeat_is_stale(client, manager, age, alarm):
    Heartbeat.objects.create(name=TICK_HEARTBEAT, beat_at=timezone.now() - age)
    client.force_login(manager)

    page = client.get(reverse("dashboard:home"), PERIOD).content.decode()

    assert ('data-testid="tick-alarm"' in page) is alarm


def test_a_manager_sets_the_reason_of_a_breach(client, manager, late_in_shanxi):
    breach = ticket_clocks(ticket=late_in_shanxi)["response"]
    client.force_login(manager)

    response = client.post(reverse("dashboard:breach-review", args=[breach.pk]), {"reason": "technician_late"})

    assert response.status_code == 302
    assert BreachReview.objects.values_list("deadline", "reason", "reviewed_by").get() == (
        breach.pk,
        "technician_late",
        manager.pk,
    )
    listed = client.get(reverse("dashboard:breaches"), PERIOD)
    assert [row.review.reason for row in listed.context["rows"]] == ["technician_late"]


def test_a_regional_manager_cannot_review_another_provinces_breach(client, operator, wang, yuyao, regional_manager):
    t0 = local(24, 9)
    late = work(
        new_ticket(division=yuyao, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0 + 40 * MINUTE
    )
    sync()
    client.force_login(regional_manager)

    response = client.post(
        reverse("dashboard:breach-review", args=[ticket_clocks(ticket=late)["response"].pk]), {"reason": "system"}
    )

    assert response.status_code == 403 and not BreachReview.objects.exists()


def test_the_technician_page_compares_with_peers(client, manager, wang, late_in_shanxi):
    client.force_login(manager)

    response = client.get(reverse("dashboard:technician", args=[wang.pk]), PERIOD)

    report = response.context["report"]
    assert (report["jobs"], report["response_met"], report["response_breached"], report["response_share_met"]) == (
        2,
        1,
        1,
        50.0,
    )
    assert (report["peers"], report["peer_median_jobs"]) == (1, 2)


def test_the_drill_down_counts_at_most_its_cap(client, manager, operator, wang, yonghe, monkeypatch):
    # given: three late answers, and a cap of two (10,000 in production)
    monkeypatch.setattr("dashboard.views.CappedPaginator.cap", 2)
    t0 = local(24, 9)
    for _ in range(3):
        work(
            new_ticket(division=yonghe, at=t0),
            technician=wang,
            operator=operator,
            accepted=t0,
            responded=t0 + 40 * MINUTE,
        )
    sync()
    client.force_login(manager)
    # when: narrowed to an hour, a count the rollup does not hold
    response = client.get(reverse("dashboard:tickets"), {**PERIOD, "figure": "response_breached", "hour": 9})
    whole = client.get(reverse("dashboard:tickets"), {**PERIOD, "figure": "response_breached"})
    # then: "more than 2", and the pages stop at the cap; the whole period's count comes exact from the rollup
    assert 'data-testid="drill-count-capped"' in response.content.decode()
    assert len(response.context["page"]) == 2
    assert (whole.context["page"].paginator.count, len(whole.context["page"])) == (3, 3)


def test_the_breach_review_lists_breaches_a_page_at_a_time(client, manager, operator, wang, yonghe, monkeypatch):
    monkeypatch.setattr("dashboard.views.BREACHES_PER_PAGE", 1)
    t0 = local(24, 9)
    late = [
        work(
            new_ticket(division=yonghe, at=t0 + minutes * MINUTE),
            technician=wang,
            operator=operator,
            accepted=t0,
            responded=t0 + 50 * MINUTE,
        )
        for minutes in (0, 5)
    ]
    sync()
    client.force_login(manager)

    first = client.get(reverse("dashboard:breaches"), PERIOD)
    second = client.get(reverse("dashboard:breaches"), {**PERIOD, "page": 2})

    assert [row.ticket.number for row in first.context["rows"]] == [late[1].number]
    assert [row.ticket.number for row in second.context["rows"]] == [late[0].number]
    assert 'data-testid="breach-pages"' in first.content.decode()
