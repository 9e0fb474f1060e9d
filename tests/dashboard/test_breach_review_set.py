import pytest

from dashboard.exceptions import NotABreach
from dashboard.models import BreachReview
from dashboard.selectors import breach_list
from dashboard.services import breach_review_set
from dispatch.selectors import ticket_clocks
from tests.dashboard.builders import MINUTE, local, new_ticket, sync, week, work

pytestmark = pytest.mark.django_db


@pytest.fixture
def late_ticket(operator, wang, yonghe):
    t0 = local(24, 9)
    return work(
        new_ticket(division=yonghe, at=t0), technician=wang, operator=operator, accepted=t0, responded=t0 + 42 * MINUTE
    )


def test_records_and_then_changes_the_reason(late_ticket, manager, administrator):
    breach = ticket_clocks(ticket=late_ticket)["response"]

    breach_review_set(deadline=breach, reason="technician_late", note="堵车", by=manager, now=local(25, 9))
    breach_review_set(deadline=breach, reason="customer_unreachable", by=administrator, now=local(25, 10))

    review = BreachReview.objects.get()
    assert (review.deadline, review.reason, review.note, review.reviewed_by) == (
        breach,
        "customer_unreachable",
        "",
        administrator,
    )


def test_refuses_a_clock_that_was_met(late_ticket, manager):
    met = ticket_clocks(ticket=late_ticket)["resolution"]  # still running: no verdict

    with pytest.raises(NotABreach):
        breach_review_set(deadline=met, reason="system", by=manager)
    assert not BreachReview.objects.exists()


def test_the_breach_list_shows_how_late_and_filters_by_review(late_ticket, manager):
    sync()
    [breach] = breach_list(scope=week(), now=local(30, 9))
    assert (breach.ticket, breach.kind, breach.late) == (late_ticket, "response", 12 * MINUTE)
    assert breach.review is None

    breach_review_set(deadline=breach, reason="no_technician", by=manager)

    assert breach_list(scope=week(), now=local(30, 9), reason="none") == []
    assert [b.review.reason for b in breach_list(scope=week(), now=local(30, 9), reason="no_technician")] == [
        "no_technician"
    ]
