import pytest
from django.urls import reverse

from complaints.exceptions import ComplaintClosed, ReasonRequired, SameTechnician
from complaints.models import ComplaintEvent, Reinspection
from complaints.services import complaint_decide, reinspection_order
from dispatch.models import Ticket


def test_orders_a_new_ticket_offered_to_another_technician(complaint, reviewer, zhao):
    reinspection = reinspection_order(complaint=complaint, technician=zhao, by=reviewer, reason="看门把手是否松动")

    ticket = reinspection.ticket
    original = complaint.ticket
    assert (reinspection.technician, reinspection.ordered_by) == (zhao, reviewer)
    assert (ticket.customer_id, ticket.division_id, ticket.address.detail) == (
        original.customer_id,
        original.division_id,
        original.address.detail,
    )
    assert complaint.number in ticket.notes and original.number in ticket.notes
    assert ticket.offers.get().technician == zhao
    event = ComplaintEvent.objects.get(complaint=complaint, kind=ComplaintEvent.Kind.REINSPECTION)
    assert (event.data["ticket"], event.reason) == (ticket.number, "看门把手是否松动")


@pytest.mark.parametrize(
    ("who", "reason", "error"),
    [("wang", "看门把手", SameTechnician), ("zhao", "  ", ReasonRequired)],
)
def test_refuses_same_technician_or_no_reason(complaint, reviewer, request, who, reason, error):
    tickets = Ticket.objects.count()

    with pytest.raises(error):
        reinspection_order(complaint=complaint, technician=request.getfixturevalue(who), by=reviewer, reason=reason)

    assert not Reinspection.objects.exists()
    assert Ticket.objects.count() == tickets


def test_refuses_a_decided_complaint(complaint, reviewer, zhao):
    complaint_decide(complaint=complaint, by=reviewer, outcome="rejected", reason="不成立", early_reason="客户撤回")

    with pytest.raises(ComplaintClosed):
        reinspection_order(complaint=complaint, technician=zhao, by=reviewer, reason="复检")

    assert not Reinspection.objects.exists()


def test_form_orders_it_from_the_workspace(client, reviewer, complaint, zhao):
    client.force_login(reviewer)

    response = client.post(
        reverse("complaints:reinspect", args=[complaint.pk]), {"technician": zhao.pk, "reason": "看门把手"}
    )

    assert response["Location"] == reverse("complaints:workspace", args=[complaint.pk])
    assert Reinspection.objects.get(complaint=complaint).technician == zhao
