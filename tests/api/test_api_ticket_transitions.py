import pytest

from dispatch.models import Offer, Ticket, TicketEvent
from dispatch.services import ticket_offer
from tests.api.conftest import assert_error_shape
from tests.dispatch.factories import job_through

pytestmark = pytest.mark.django_db


def test_cancel_with_a_reason_through_its_service(key_client, ticket):
    client = key_client("tickets:transition")

    response = client.post(f"/api/v1/tickets/{ticket.number}/cancel", {"reason": "客户自行解决"}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    event = TicketEvent.objects.get(ticket=ticket, kind="status", new_status="cancelled")
    assert (event.actor, event.reason) == (client.key.user, "客户自行解决")


def test_transition_not_in_the_table_is_a_conflict_and_changes_nothing(key_client, ticket):
    response = key_client("tickets:transition").post(f"/api/v1/tickets/{ticket.number}/resume", format="json")

    error = assert_error_shape(response, 409, "transition_not_allowed")
    assert error["extra"] == {"from": "new", "to": "new"}
    ticket.refresh_from_db(fields=["status"])
    assert ticket.status == "new"


def test_reason_is_required(key_client, ticket):
    response = key_client("tickets:transition").post(f"/api/v1/tickets/{ticket.number}/wait", {}, format="json")

    assert set(assert_error_shape(response, 400, "invalid")["extra"]["fields"]) == {"reason"}


def test_operator_assigns_and_the_technician_walks_their_job(api, operator, technician, wang, ticket):
    api.force_login(operator)
    response = api.post(
        f"/api/v1/tickets/{ticket.number}/assign", {"technician": wang.pk, "reason": "电话确认"}, format="json"
    )
    assert response.json()["technician"] == {"id": wang.pk, "name": "王师傅"}

    api.force_login(technician)
    for step, status in (("respond", "responded"), ("depart", "en_route"), ("arrive", "on_site")):
        assert api.post(f"/api/v1/tickets/{ticket.number}/{step}", {}, format="json").json()["status"] == status
    response = api.post(
        f"/api/v1/tickets/{ticket.number}/complete", {"work_done": "更换指纹模块", "labour_fee": "80"}, format="json"
    )

    assert response.json()["status"] == "completed"
    ticket.refresh_from_db(fields=["status", "labour_fee"])
    assert (ticket.status, str(ticket.labour_fee)) == ("completed", "80.00")


def test_technician_cannot_cancel_even_their_own_job(api, operator, technician, wang, ticket, t0):
    job_through(ticket, technician=wang, operator=operator, at=t0, until="accepted")
    api.force_login(technician)

    response = api.post(f"/api/v1/tickets/{ticket.number}/cancel", {"reason": "不想去"}, format="json")

    assert_error_shape(response, 403, "permission_denied")
    assert Ticket.objects.get(pk=ticket.pk).status == "accepted"


def test_integration_cannot_claim_a_technicians_step(key_client, operator, wang, ticket, t0):
    job_through(ticket, technician=wang, operator=operator, at=t0, until="accepted")

    response = key_client("tickets:transition").post(f"/api/v1/tickets/{ticket.number}/arrive", {}, format="json")

    assert_error_shape(response, 403, "not_your_job")
    assert Ticket.objects.get(pk=ticket.pk).status == "accepted"


def test_technician_accepts_an_offer_through_the_api(api, operator, technician, wang, ticket):
    ticket_offer(ticket=ticket, technician=wang, by=operator)
    api.force_login(technician)

    assert ticket.number in [row["number"] for row in api.get("/api/v1/tickets").json()["results"]]
    response = api.post(f"/api/v1/tickets/{ticket.number}/accept", {}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert Offer.objects.get(ticket=ticket).outcome == "accepted"


def test_technician_declines_with_a_reason(api, operator, technician, wang, ticket):
    ticket_offer(ticket=ticket, technician=wang, by=operator)
    api.force_login(technician)

    response = api.post(f"/api/v1/tickets/{ticket.number}/decline", {"reason": "太远"}, format="json")

    assert response.status_code == 200
    offer = Offer.objects.get(ticket=ticket)
    assert (offer.outcome, offer.reason) == ("declined", "太远")
    assert_error_shape(api.get(f"/api/v1/tickets/{ticket.number}"), 404, "not_found")


def test_accept_without_an_offer_is_404(api, technician, wang, ticket):
    api.force_login(technician)

    assert_error_shape(api.post(f"/api/v1/tickets/{ticket.number}/accept", {}, format="json"), 404, "not_found")
