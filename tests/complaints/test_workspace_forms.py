"""The workspace's forms: each posts to one service and comes back to the workspace, with the refusal shown."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from complaints.models import ComplaintEvent, Decision, EvidenceRequest
from complaints.services import complaint_acknowledge, complaint_decide, evidence_request_create
from sla.models import Deadline, DeadlineKind
from sla.selectors import deadline_get

EARLY = "客户要求尽快处理"


@pytest.fixture
def pending(complaint, reviewer) -> Decision:
    """A compensation over the approval amount, decided by the reviewer, waiting for a manager."""
    return complaint_decide(
        complaint=complaint,
        by=reviewer,
        outcome=Decision.Outcome.UPHELD,
        remedy="compensation",
        amount=Decimal("800"),
        reason="门把手确有损坏",
        early_reason=EARLY,
    )


def _post(client, name: str, args, data=None):
    response = client.post(reverse(name, args=args), data or {}, HTTP_ACCEPT_LANGUAGE="en")
    return response, [str(message) for message in get_messages(response.wsgi_request)]


def test_decide_over_the_amount_waits_for_a_manager(client, reviewer, complaint):
    client.force_login(reviewer)

    response, _messages = _post(
        client,
        "complaints:decide",
        [complaint.pk],
        {
            "outcome": "upheld",
            "remedy": "compensation",
            "amount": "800",
            "reason": "门把手确有损坏",
            "early_reason": EARLY,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("complaints:workspace", args=[complaint.pk])
    decision = Decision.objects.get(complaint=complaint)
    assert (decision.approval, decision.amount, decision.early_reason) == ("pending", Decimal("800"), EARLY)
    complaint.refresh_from_db(fields=["status"])
    assert complaint.status == "pending_approval"


def test_decide_without_a_reason_shows_the_error(client, reviewer, complaint):
    client.force_login(reviewer)

    _response, messages = _post(client, "complaints:decide", [complaint.pk], {"outcome": "rejected", "reason": ""})

    assert messages == ["Give the reason for the decision; the customer reads it."]
    assert not Decision.objects.exists()
    complaint.refresh_from_db(fields=["status"])
    assert complaint.status == "filed"


def test_manager_approves(client, manager, pending):
    client.force_login(manager)

    _post(client, "complaints:approval", [pending.pk, "approve"], {"note": "同意"})

    pending.refresh_from_db(fields=["approval", "approved_by", "approval_note"])
    assert (pending.approval, pending.approved_by, pending.approval_note) == ("approved", manager, "同意")
    pending.complaint.refresh_from_db(fields=["status"])
    assert pending.complaint.status == "decided"


def test_send_back_needs_a_note(client, manager, pending):
    client.force_login(manager)

    _response, messages = _post(client, "complaints:approval", [pending.pk, "send-back"], {"note": ""})

    assert messages
    pending.refresh_from_db(fields=["approval"])
    assert pending.approval == "pending"
    assert not ComplaintEvent.objects.filter(kind=ComplaintEvent.Kind.APPROVAL).exists()


def test_send_back_with_a_note_returns_to_review(client, manager, pending):
    client.force_login(manager)

    _post(client, "complaints:approval", [pending.pk, "send-back"], {"note": "金额过高，请核实"})

    pending.refresh_from_db(fields=["approval", "approval_note"])
    assert (pending.approval, pending.approval_note) == ("sent_back", "金额过高，请核实")
    pending.complaint.refresh_from_db(fields=["status"])
    assert pending.complaint.status == "in_review"


def test_reviewer_cannot_use_the_approval_form(client, reviewer, pending):
    client.force_login(reviewer)

    response, _messages = _post(client, "complaints:approval", [pending.pk, "approve"])

    assert response.status_code == 403
    pending.refresh_from_db(fields=["approval"])
    assert pending.approval == "pending"


def test_request_evidence_from_the_customer_pauses_the_decision_clock(client, reviewer, complaint):
    client.force_login(reviewer)
    before = timezone.now()

    _post(client, "complaints:request-evidence", [complaint.pk], {"party": "customer", "instructions": "", "hours": 6})

    request = EvidenceRequest.objects.get(complaint=complaint)
    assert request.party == "customer" and complaint.ticket.number in request.instructions
    assert before + timedelta(hours=6) <= request.due_at <= timezone.now() + timedelta(hours=6)
    assert deadline_get(subject=complaint, kind=DeadlineKind.COMPLAINT_DECISION).state == Deadline.State.PAUSED


def test_request_evidence_refuses_bad_hours(client, reviewer, complaint):
    client.force_login(reviewer)

    _response, messages = _post(
        client, "complaints:request-evidence", [complaint.pk], {"party": "customer", "hours": 0}
    )

    assert messages
    assert not EvidenceRequest.objects.exists()


def test_close_request_restarts_the_decision_clock(client, reviewer, complaint):
    complaint_acknowledge(complaint=complaint, by=reviewer)
    request = evidence_request_create(complaint=complaint, party="customer", by=reviewer)
    client.force_login(reviewer)

    _post(client, "complaints:close-request", [request.pk])

    request.refresh_from_db(fields=["closed_at", "fulfilled_at"])
    assert request.closed_at is not None and request.fulfilled_at is None
    assert deadline_get(subject=complaint, kind=DeadlineKind.COMPLAINT_DECISION).state == Deadline.State.PENDING
    ComplaintEvent.objects.get(kind=ComplaintEvent.Kind.EVIDENCE_REQUEST_CLOSED, data__outcome="closed")
