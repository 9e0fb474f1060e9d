from decimal import Decimal

import pytest

from complaints.exceptions import AppealAlreadyFiled, AppealEvidenceRequired, AppealNotAllowed
from complaints.models import Appeal, Decision, Evidence
from complaints.services import complaint_appeal, complaint_decide
from sla.models import Deadline, DeadlineKind
from sla.selectors import deadline_get
from tests.complaints.conftest import video


@pytest.fixture
def decided(complaint, reviewer, t0):
    complaint_decide(
        complaint=complaint,
        by=reviewer,
        outcome=Decision.Outcome.REJECTED,
        reason="完工照片显示把手完好",
        early_reason="师傅照片清楚",
        now=t0.replace(hour=12),
    )
    complaint.refresh_from_db()
    return complaint


def test_appeal_with_new_video_reopens_review_with_new_decision_clock(decided, t0):
    complaint_appeal(complaint=decided, reason="照片拍的是另一扇门", uploads=[video()], now=t0.replace(hour=14))

    decided.refresh_from_db(fields=["status"])
    assert decided.status == "appealed"
    clock = deadline_get(subject=decided, kind=DeadlineKind.COMPLAINT_DECISION)
    assert (clock.cycle, clock.state) == (2, Deadline.State.PENDING)
    assert Evidence.objects.get(complaint=decided, is_appeal=True).kind == "video"


def test_appeal_needs_new_evidence(decided, t0):
    with pytest.raises(AppealEvidenceRequired):
        complaint_appeal(complaint=decided, reason="不服", uploads=[], now=t0.replace(hour=14))

    assert not Appeal.objects.exists()


def test_only_one_appeal(decided, reviewer, t0):
    complaint_appeal(complaint=decided, reason="不服", uploads=[video()], now=t0.replace(hour=14))
    complaint_decide(
        complaint=decided,
        by=reviewer,
        outcome="rejected",
        reason="复核维持原决定",
        early_reason="师傅照片清楚",
        now=t0.replace(hour=15),
    )

    with pytest.raises(AppealAlreadyFiled):
        complaint_appeal(complaint=decided, reason="再申诉", uploads=[video()], now=t0.replace(hour=16))

    decided.refresh_from_db(fields=["status"])
    assert (decided.status, Appeal.objects.count()) == ("closed", 1)


def test_no_appeal_before_decision(complaint, t0):
    with pytest.raises(AppealNotAllowed):
        complaint_appeal(complaint=complaint, reason="不服", uploads=[video()], now=t0.replace(hour=12))

    assert not Evidence.objects.filter(is_appeal=True).exists()


def test_appeal_decision_over_threshold_needs_manager(decided, reviewer, manager, t0):
    from complaints.services import decision_approve

    complaint_appeal(complaint=decided, reason="不服", uploads=[video()], now=t0.replace(hour=14))
    decision = complaint_decide(
        complaint=decided,
        by=reviewer,
        outcome="upheld",
        remedy="compensation",
        amount=Decimal("900"),
        reason="视频显示损坏",
        early_reason="视频清楚",
        now=t0.replace(hour=15),
    )
    decided.refresh_from_db(fields=["status"])
    assert decided.status == "pending_approval"

    decision_approve(decision=decision, by=manager, now=t0.replace(hour=16))

    decided.refresh_from_db(fields=["status"])
    assert decided.status == "closed"
