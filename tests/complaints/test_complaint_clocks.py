from datetime import timedelta

import time_machine
from django.utils import timezone

from complaints.models import ComplaintEvent, Decision
from complaints.services import complaint_acknowledge, evidence_add, evidence_request_create
from sla.models import Deadline, DeadlineKind, Outbox
from sla.selectors import deadline_get
from sla.services import deadline_fire_due, outbox_deliver
from tests.complaints.conftest import video


def test_acknowledge_in_time_meets_clock(complaint, reviewer, t0):
    complaint_acknowledge(complaint=complaint, by=reviewer, now=t0.replace(hour=11, minute=30))

    clock = deadline_get(subject=complaint, kind=DeadlineKind.COMPLAINT_ACKNOWLEDGE)
    assert (clock.state, clock.met_at) == (Deadline.State.MET, t0.replace(hour=11, minute=30))


def test_breached_acknowledge_escalates_once_and_decides_nothing(complaint, queued):
    clock = deadline_get(subject=complaint, kind=DeadlineKind.COMPLAINT_ACKNOWLEDGE)
    late = clock.due_at + timedelta(seconds=1)

    with time_machine.travel(late, tick=False):
        deadline_fire_due(now=timezone.now())
        breach = Outbox.objects.get(deadline=clock, event="breach")
        assert outbox_deliver(outbox_id=breach.pk) is True
        assert deadline_fire_due(now=timezone.now()) == 0

    complaint.refresh_from_db()
    assert (complaint.is_escalated, complaint.escalated_at, complaint.status) == (True, late, "filed")
    ComplaintEvent.objects.get(complaint=complaint, kind=ComplaintEvent.Kind.ESCALATED)
    sla = ComplaintEvent.objects.get(complaint=complaint, kind=ComplaintEvent.Kind.SLA, data__event="breach")
    assert sla.data["clock"] == DeadlineKind.COMPLAINT_ACKNOWLEDGE
    assert not Decision.objects.exists()


def test_redelivered_breach_records_nothing_twice(complaint, queued):
    clock = deadline_get(subject=complaint, kind=DeadlineKind.COMPLAINT_ACKNOWLEDGE)
    with time_machine.travel(clock.due_at + timedelta(seconds=1), tick=False):
        deadline_fire_due(now=timezone.now())
    breach = Outbox.objects.get(deadline=clock, event="breach")
    from complaints.handlers import _record

    _record(deadline=clock, outbox=breach)
    _record(deadline=clock, outbox=breach)

    assert ComplaintEvent.objects.filter(complaint=complaint, kind=ComplaintEvent.Kind.ESCALATED).count() == 1
    assert ComplaintEvent.objects.filter(complaint=complaint, kind=ComplaintEvent.Kind.SLA).count() == 1


def test_breached_statement_window_is_recorded_without_escalation(complaint, queued):
    clock = deadline_get(subject=complaint, kind=DeadlineKind.TECHNICIAN_STATEMENT)
    complaint_acknowledge(complaint=complaint, by=None, now=clock.started_at)

    with time_machine.travel(clock.due_at + timedelta(seconds=1), tick=False):
        deadline_fire_due(now=timezone.now())
        outbox_deliver(outbox_id=Outbox.objects.get(deadline=clock, event="breach").pk)

    complaint.refresh_from_db()
    assert complaint.is_escalated is False
    ComplaintEvent.objects.get(complaint=complaint, kind=ComplaintEvent.Kind.SLA, data__clock="technician_statement")


def test_asking_customer_for_video_pauses_decision_clock_until_it_arrives(complaint, reviewer, t0):
    asked = t0.replace(hour=12)
    request = evidence_request_create(complaint=complaint, party="customer", by=reviewer, now=asked)

    assert "20261126" in request.instructions.replace("-", "")[:200] or complaint.ticket.number in request.instructions
    assert "2026-11-26" in request.instructions
    clock = deadline_get(subject=complaint, kind=DeadlineKind.COMPLAINT_DECISION)
    assert (clock.state, clock.remaining) == (Deadline.State.PAUSED, timedelta(hours=47))

    evidence_add(complaint=complaint, party="customer", uploads=[video()], now=asked + timedelta(hours=5))

    clock.refresh_from_db()
    request.refresh_from_db()
    assert (clock.state, clock.due_at) == (Deadline.State.PENDING, asked + timedelta(hours=5 + 47))
    assert request.fulfilled_at == asked + timedelta(hours=5)
