import json
from datetime import UTC
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction

from complaints.models import Decision
from complaints.services import complaint_decide, complaint_file
from dispatch.exceptions import TransitionNotAllowed
from dispatch.services import ticket_assign, ticket_cancel, ticket_create, ticket_wait_customer
from tests.dispatch.factories import job_through
from webhooks.models import Delivery, EventType, WebhookEvent
from webhooks.services import subscriber_create


class Boom(Exception):
    pass


def _types() -> list[str]:
    return list(WebhookEvent.objects.order_by("pk").values_list("event_type", flat=True))


def test_transition_writes_the_outbox_row_and_queues_it_after_commit(
    crm, ticket_input, operator, t0, django_capture_on_commit_callbacks
):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    WebhookEvent.objects.all().delete()

    with (
        mock.patch("webhooks.services.delivery_attempt_task.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        ticket_cancel(ticket=ticket, by=operator, reason="客户自己打开了", now=t0)

    assert _types() == [EventType.TICKET_STATUS_CHANGED, EventType.TICKET_CANCELLED]
    deliveries = list(Delivery.objects.order_by("pk"))
    assert [(d.subscriber_id, d.state, d.next_attempt_at) for d in deliveries] == [(crm.pk, "pending", t0)] * 2
    assert delay.call_args_list == [mock.call(delivery_id=d.pk) for d in deliveries]


def test_rolled_back_transition_writes_no_outbox_row(crm, ticket_input, operator, t0):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    before = WebhookEvent.objects.count()

    with pytest.raises(Boom), transaction.atomic():
        ticket_wait_customer(ticket=ticket, by=operator, reason="客户出差", now=t0)
        assert WebhookEvent.objects.count() == before + 1  # written inside the transaction...
        raise Boom

    assert WebhookEvent.objects.count() == before  # ...and gone with it
    assert not Delivery.objects.filter(event__payload__new_status="waiting_customer").exists()


def test_refused_transition_writes_no_outbox_row(crm, ticket_input, operator, t0):
    ticket = ticket_cancel(
        ticket=ticket_create(**ticket_input, by=operator, now=t0), by=operator, reason="重复", now=t0
    )
    before = WebhookEvent.objects.count()

    with pytest.raises(TransitionNotAllowed):
        ticket_cancel(ticket=ticket, by=operator, reason="再取消一次", now=t0)

    assert WebhookEvent.objects.count() == before


def test_created_event_carries_the_issued_number_and_no_personal_data(crm, ticket_input, operator, t0):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)

    event = WebhookEvent.objects.get(event_type=EventType.TICKET_CREATED)
    assert event.payload["ticket"]["number"] == ticket.number
    assert event.payload["ticket"]["region_code"] == "141032100"
    assert (event.payload["new_status"], event.payload["ticket"]["technician_id"]) == ("new", None)
    text = json.dumps(event.payload, ensure_ascii=False)
    for personal in ("13812345678", "5678", "张伟", "建设路", "501"):
        assert personal not in text


def test_assignment_publishes_the_technician_id(crm, ticket_input, operator, wang, t0):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)

    ticket_assign(ticket=ticket, technician=wang, by=operator, reason="电话确认", now=t0)

    event = WebhookEvent.objects.get(event_type=EventType.TICKET_TECHNICIAN_ASSIGNED)
    assert (event.payload["ticket"]["technician_id"], event.payload["ticket"]["status"]) == (wang.pk, "accepted")
    assert event.payload["old_status"] == "new"
    assert "王师傅" not in json.dumps(event.payload, ensure_ascii=False)


def test_completion_is_published_with_its_time(crm, ticket_input, operator, wang, t0):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)

    job_through(ticket, technician=wang, operator=operator, at=t0)

    event = WebhookEvent.objects.get(event_type=EventType.TICKET_COMPLETED)
    assert event.payload["ticket"]["completed_at"] == t0.astimezone(UTC).isoformat() == "2026-11-26T02:00:00+00:00"
    assert _types().count(EventType.TICKET_STATUS_CHANGED) == 5  # accepted, responded, en route, on site, completed


def test_only_subscribed_types_are_written(ticket_input, operator, t0):
    subscriber_create(name="CRM", url="http://127.0.0.1:9/", event_types=[EventType.TICKET_CANCELLED])
    subscriber_create(name="停用", url="http://127.0.0.1:9/", event_types=[EventType.TICKET_CREATED], is_active=False)

    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    assert _types() == []

    ticket_cancel(ticket=ticket, by=operator, reason="客户取消", now=t0)
    assert _types() == [EventType.TICKET_CANCELLED]


def test_complaint_filed_and_decided_are_published(crm, ticket_input, operator, reviewer, t0):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    complaint = complaint_file(
        ticket=ticket,
        channel="phone",
        category="attitude",
        description="客户张伟说电话 13812345678 一直没人接",
        remedy_requested="compensation",
        by=operator,
        now=t0,
    )
    WebhookEvent.objects.filter(event_type__startswith="ticket.").delete()

    complaint_decide(
        complaint=complaint, by=reviewer, outcome=Decision.Outcome.REJECTED, reason="通话记录显示已联系", now=t0
    )

    assert _types() == [
        EventType.COMPLAINT_FILED,
        EventType.COMPLAINT_STATUS_CHANGED,  # in review
        EventType.COMPLAINT_STATUS_CHANGED,  # decided
        EventType.COMPLAINT_DECIDED,
    ]
    decided = WebhookEvent.objects.get(event_type=EventType.COMPLAINT_DECIDED)
    assert decided.payload["complaint"]["number"] == complaint.number
    assert decided.payload["complaint"]["ticket_number"] == ticket.number
    assert decided.payload["decision"] == {
        "outcome": "rejected",
        "remedy": "",
        "amount": None,
        "is_appeal": False,
        "decided_at": "2026-11-26T02:00:00+00:00",
    }
    text = json.dumps([e.payload for e in WebhookEvent.objects.all()], ensure_ascii=False)
    assert "13812345678" not in text and "张伟" not in text


def test_paid_decision_publishes_its_amount(crm, ticket_input, operator, reviewer, t0):
    ticket = ticket_create(**ticket_input, by=operator, now=t0)
    complaint = complaint_file(
        ticket=ticket,
        channel="phone",
        category="price",
        description="多收费",
        remedy_requested="partial_refund",
        now=t0,
    )

    complaint_decide(
        complaint=complaint,
        by=reviewer,
        outcome=Decision.Outcome.UPHELD,
        remedy="partial_refund",
        amount=Decimal("30"),
        reason="退差价",
        now=t0,
    )

    decided = WebhookEvent.objects.get(event_type=EventType.COMPLAINT_DECIDED)
    assert (decided.payload["decision"]["amount"], decided.payload["complaint"]["status"]) == ("30.00", "decided")
