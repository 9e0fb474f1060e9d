"""A complaint that misses its acknowledge deadline is escalated: the manager's dashboard says so and links to it."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from dashboard.models import ManagerRegion
from sla.models import DeadlineKind, Outbox
from sla.selectors import deadline_get
from sla.services import deadline_fire_due, outbox_deliver


def _breach_acknowledge(complaint) -> None:
    clock = deadline_get(subject=complaint, kind=DeadlineKind.COMPLAINT_ACKNOWLEDGE)
    with time_machine.travel(clock.due_at + timedelta(seconds=1), tick=False):
        deadline_fire_due(now=timezone.now())
        outbox_deliver(outbox_id=Outbox.objects.get(deadline=clock, event="breach").pk)


def test_the_manager_dashboard_shows_escalated_complaints_with_a_link(client, manager, complaint, queued):
    client.force_login(manager)
    assert client.get("/manager/").context["escalated_complaints"] == 0

    _breach_acknowledge(complaint)

    response = client.get("/manager/")
    assert response.context["escalated_complaints"] == 1
    assert 'href="/review/?escalated=1"' in response.content.decode()
    assert [c.pk for c in client.get("/review/?escalated=1").context["complaints"]] == [complaint.pk]


def test_a_regional_manager_sees_only_their_provinces_escalations(client, manager, complaint, queued):
    ManagerRegion.objects.create(user=manager, province_id="110000")  # 北京: the complaint is in 山西
    _breach_acknowledge(complaint)
    client.force_login(manager)

    assert client.get("/manager/").context["escalated_complaints"] == 0
