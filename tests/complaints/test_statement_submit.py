import pytest

from complaints.exceptions import NotYourComplaint, StatementAlreadyGiven, StatementTextRequired
from complaints.models import ComplaintEvent, Statement
from complaints.services import statement_submit
from sla.models import Deadline, DeadlineKind
from sla.selectors import deadline_get


def test_dispute_is_recorded_and_meets_statement_clock(complaint, technician, wang, t0):
    statement = statement_submit(
        complaint=complaint,
        by=technician,
        position="dispute",
        text="完工时拍了照片，把手是好的",
        now=t0.replace(hour=12),
    )

    assert (statement.technician, statement.position) == (wang, "dispute")
    clock = deadline_get(subject=complaint, kind=DeadlineKind.TECHNICIAN_STATEMENT)
    assert (clock.state, clock.met_at) == (Deadline.State.MET, t0.replace(hour=12))
    event = ComplaintEvent.objects.get(complaint=complaint, kind=ComplaintEvent.Kind.STATEMENT)
    assert (event.party, event.data["position"]) == ("technician", "dispute")


def test_dispute_needs_text(complaint, technician, wang, t0):
    with pytest.raises(StatementTextRequired):
        statement_submit(complaint=complaint, by=technician, position="dispute", text=" ", now=t0.replace(hour=12))

    assert not Statement.objects.exists()


def test_other_technician_cannot_answer(complaint, zhao, t0):
    with pytest.raises(NotYourComplaint):
        statement_submit(complaint=complaint, by=zhao.user, position="accept", now=t0.replace(hour=12))

    assert deadline_get(subject=complaint, kind=DeadlineKind.TECHNICIAN_STATEMENT).state == Deadline.State.PENDING


def test_answers_once(complaint, technician, wang, t0):
    statement_submit(complaint=complaint, by=technician, position="accept", now=t0.replace(hour=12))

    with pytest.raises(StatementAlreadyGiven):
        statement_submit(complaint=complaint, by=technician, position="dispute", text="改口", now=t0.replace(hour=13))

    assert Statement.objects.get(complaint=complaint).position == "accept"
