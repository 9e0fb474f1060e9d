from datetime import timedelta
from decimal import Decimal

import pytest

from complaints.exceptions import NotADecider, NotAManager, SelfApproval, SignalNotInComplaint, StatementWindowOpen
from complaints.models import ComplaintEvent, Decision, EvidenceCheck
from complaints.services import (
    complaint_acknowledge,
    complaint_decide,
    complaint_file,
    decision_approve,
    decision_send_back,
    statement_submit,
)
from dispatch.services import ticket_create
from regions.models import Division
from sla.models import Deadline, DeadlineKind
from sla.selectors import deadline_get
from tests.complaints.conftest import photo
from tests.dispatch.factories import job_through


def _decide(complaint, *, by, now, amount=None, early_reason=""):
    return complaint_decide(
        complaint=complaint,
        by=by,
        outcome=Decision.Outcome.UPHELD,
        remedy="compensation",
        amount=amount if amount is not None else Decimal("100"),
        reason="师傅承认安装时未拧紧",
        early_reason=early_reason,
        now=now,
    )


@pytest.fixture
def reviewing(complaint, reviewer, t0):
    return complaint_acknowledge(complaint=complaint, by=reviewer, now=t0.replace(hour=11, minute=10))


def test_refuses_decision_while_statement_window_open_without_reason(reviewing, reviewer, t0):
    with pytest.raises(StatementWindowOpen):
        _decide(reviewing, by=reviewer, now=t0.replace(hour=12))

    reviewing.refresh_from_db(fields=["status"])
    assert reviewing.status == "in_review"
    assert not Decision.objects.exists()


def test_early_decision_records_its_reason(reviewing, reviewer, t0):
    decision = _decide(reviewing, by=reviewer, now=t0.replace(hour=12), early_reason="客户被锁门外，安全优先")

    reviewing.refresh_from_db(fields=["status", "decided_at"])
    assert (reviewing.status, decision.early_reason) == ("decided", "客户被锁门外，安全优先")
    event = ComplaintEvent.objects.get(complaint=reviewing, kind=ComplaintEvent.Kind.DECISION)
    assert event.data["early_reason"] == "客户被锁门外，安全优先"


def test_decides_without_reason_once_statement_given(reviewing, reviewer, technician, wang, t0):
    statement_submit(complaint=reviewing, by=technician, position="accept", now=t0.replace(hour=11, minute=30))

    decision = _decide(reviewing, by=reviewer, now=t0.replace(hour=12))

    assert decision.early_reason == ""
    assert deadline_get(subject=reviewing, kind=DeadlineKind.COMPLAINT_DECISION).state == Deadline.State.MET


def test_decides_without_reason_once_window_over(reviewing, reviewer, t0):
    after_window = t0.replace(hour=11) + timedelta(hours=24, seconds=1)

    _decide(reviewing, by=reviewer, now=after_window)

    reviewing.refresh_from_db(fields=["status"])
    assert reviewing.status == "decided"


@pytest.mark.parametrize("role_fixture", ["operator", "technician"])
def test_only_reviewer_or_manager_decides(reviewing, role_fixture, request, t0):
    with pytest.raises(NotADecider):
        _decide(reviewing, by=request.getfixturevalue(role_fixture), now=t0.replace(hour=12), early_reason="x")

    assert not Decision.objects.exists()


def test_amount_at_threshold_needs_no_second_approval(reviewing, reviewer, t0):
    decision = _decide(reviewing, by=reviewer, now=t0.replace(hour=12), amount=Decimal("500"), early_reason="认错")

    reviewing.refresh_from_db(fields=["status"])
    assert (reviewing.status, decision.approval) == ("decided", Decision.Approval.NOT_NEEDED)


def test_amount_over_threshold_waits_for_manager(reviewing, reviewer, manager, t0):
    decision = _decide(reviewing, by=reviewer, now=t0.replace(hour=12), amount=Decimal("800"), early_reason="认错")

    reviewing.refresh_from_db(fields=["status"])
    assert (reviewing.status, decision.approval) == ("pending_approval", Decision.Approval.PENDING)
    assert deadline_get(subject=reviewing, kind=DeadlineKind.COMPLAINT_DECISION).state == Deadline.State.PENDING

    decision_approve(decision=decision, by=manager, now=t0.replace(hour=13))

    reviewing.refresh_from_db(fields=["status"])
    decision.refresh_from_db(fields=["approval", "approved_by"])
    assert (reviewing.status, decision.approval, decision.approved_by) == ("decided", "approved", manager)
    assert deadline_get(subject=reviewing, kind=DeadlineKind.COMPLAINT_DECISION).state == Deadline.State.MET


def test_threshold_comes_from_settings(reviewing, reviewer, settings, t0):
    settings.COMPLAINT_SECOND_APPROVAL_AMOUNT = Decimal("50")

    decision = _decide(reviewing, by=reviewer, now=t0.replace(hour=12), amount=Decimal("60"), early_reason="认错")

    assert decision.approval == Decision.Approval.PENDING


def test_reviewer_cannot_give_second_approval(reviewing, reviewer, t0, django_user_model):
    decision = _decide(reviewing, by=reviewer, now=t0.replace(hour=12), amount=Decimal("800"), early_reason="认错")

    with pytest.raises(NotAManager):
        decision_approve(decision=decision, by=reviewer, now=t0.replace(hour=13))

    decision.refresh_from_db(fields=["approval"])
    assert decision.approval == Decision.Approval.PENDING


def test_manager_cannot_approve_own_decision(reviewing, manager, t0):
    decision = _decide(reviewing, by=manager, now=t0.replace(hour=12), amount=Decimal("800"), early_reason="认错")

    with pytest.raises(SelfApproval):
        decision_approve(decision=decision, by=manager, now=t0.replace(hour=13))

    reviewing.refresh_from_db(fields=["status"])
    assert reviewing.status == "pending_approval"


def test_sent_back_decision_returns_to_review(reviewing, reviewer, manager, t0):
    decision = _decide(reviewing, by=reviewer, now=t0.replace(hour=12), amount=Decimal("800"), early_reason="认错")

    decision_send_back(decision=decision, by=manager, note="金额过高，先复检", now=t0.replace(hour=13))

    reviewing.refresh_from_db(fields=["status"])
    assert reviewing.status == "in_review"
    event = ComplaintEvent.objects.get(complaint=reviewing, kind=ComplaintEvent.Kind.APPROVAL)
    assert (event.actor, event.data["approval"]) == (manager, "sent_back")


def _signal(complaint, kind="editing_software"):
    evidence = complaint.evidence.first()
    return EvidenceCheck.objects.create(
        evidence=evidence,
        kind=kind,
        level="notice",
        message="由美图秀秀保存。",
        params={},
        checker_version="t",
        computed_at=evidence.uploaded_at,
    )


def test_a_decision_names_the_signals_it_relies_on_and_the_customer_sees_them(reviewing, reviewer, client, t0):
    signal = _signal(reviewing)

    decision = complaint_decide(
        complaint=reviewing,
        by=reviewer,
        outcome=Decision.Outcome.REJECTED,
        reason="照片经编辑软件保存，与师傅完工照片不符",
        early_reason="客户已补充视频",
        signals_cited=[signal],
        now=t0.replace(hour=12),
    )

    assert list(decision.signals_cited.all()) == [signal]
    event = ComplaintEvent.objects.get(complaint=reviewing, kind="decision")
    assert event.data["signals_cited"] == [signal.pk]
    client.post("/complaint/status/", {"number": reviewing.ticket.number, "phone": "13812345678"})
    page = client.get(f"/complaint/tickets/{reviewing.ticket.pk}/").content.decode()
    assert 'data-testid="decision-signals"' in page and "由美图秀秀保存。" in page


@pytest.fixture
def other_complaint(operator, zhao, evidence_root, t0):
    """Another customer's complaint about 赵师傅's job, with a photo."""
    ticket = ticket_create(
        phone="13987654321",
        division=Division.objects.get(code="141032100"),
        address_detail="芝河镇新华街 3 号",
        category="biometric",
        by=operator,
        now=t0,
    )
    job = job_through(ticket, technician=zhao, operator=operator, at=t0)
    return complaint_file(
        ticket=job,
        channel="phone",
        category="damage",
        description="门锁划伤",
        remedy_requested="compensation",
        uploads=[photo()],
        by=operator,
        now=t0.replace(hour=11),
    )


def test_a_signal_of_another_complaint_cannot_be_cited(reviewing, reviewer, other_complaint, t0):
    foreign = _signal(other_complaint)

    with pytest.raises(SignalNotInComplaint):
        complaint_decide(
            complaint=reviewing,
            by=reviewer,
            outcome=Decision.Outcome.REJECTED,
            reason="理由",
            early_reason="急",
            signals_cited=[foreign],
            now=t0.replace(hour=12),
        )

    assert not Decision.objects.exists()
