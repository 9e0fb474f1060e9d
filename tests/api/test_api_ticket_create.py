import pytest

from dispatch.models import Ticket, TicketEvent
from regions.models import Division
from tests.api.conftest import assert_error_shape

pytestmark = pytest.mark.django_db

URL = "/api/v1/tickets"


@pytest.fixture
def body(zhihe):
    return {
        "phone": "13812345678",
        "name": "张伟",
        "division": zhihe.code,
        "address_detail": "芝河镇建设路 12 号 3 单元 501",
        "category": "locked_out",
        "lock_brand": "德施曼",
    }


def test_creates_a_ticket_with_a_scoped_key(key_client, body, dispatch_queued, django_capture_on_commit_callbacks):
    client = key_client("tickets:create")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get()
    data = response.json()
    assert (data["number"], data["status"], data["channel"], data["urgency"]) == (ticket.number, "new", "api", "urgent")
    assert data["customer"] == {"phone_masked": "138****5678", "name": "张伟"}
    assert "13812345678" not in response.content.decode()
    # the same service as the console: the free first inspection, the event under the key's account, dispatch queued
    assert ticket.inspection_fee_waived and ticket.created_by == client.key.user
    assert TicketEvent.objects.get(ticket=ticket, kind="created").actor == client.key.user
    dispatch_queued.assert_called_once()


def test_key_without_the_scope_is_refused_in_the_error_shape(key_client, body):
    response = key_client("tickets:read", "calls:write").post(URL, body, format="json")

    error = assert_error_shape(response, 403, "permission_denied")
    assert "tickets:create" in error["message"]
    assert not Ticket.objects.exists()


def test_without_credentials_answers_401(api, body):
    response = api.post(URL, body, format="json")

    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_invalid_fields_are_listed_and_nothing_is_saved(key_client, body):
    response = key_client("tickets:create").post(
        URL, {**body, "category": "teleport", "division": "999999", "address_detail": ""}, format="json"
    )

    error = assert_error_shape(response, 400, "invalid")
    assert set(error["extra"]["fields"]) == {"category", "division", "address_detail"}
    assert not Ticket.objects.exists()


def test_business_rule_refusal_has_the_same_shape(key_client, body):
    # 吉县, a county of the same prefecture that is not served
    other = Division.objects.filter(parent_id="141000", level="county").exclude(code="141032").first()

    response = key_client("tickets:create").post(URL, {**body, "division": other.code}, format="json")

    error = assert_error_shape(response, 400, "outside_service_area")
    assert error["extra"]["path"] == other.full_name
    assert not Ticket.objects.exists()


def test_bad_phone_is_a_field_free_refusal_with_the_number(key_client, body):
    response = key_client("tickets:create").post(URL, {**body, "phone": "12345"}, format="json")

    error = assert_error_shape(response, 400, "invalid_phone")
    assert error["extra"] == {"phone": "12345"}


def test_operator_session_may_create_a_technician_session_may_not(api, operator, technician, body):
    api.force_login(technician)
    assert_error_shape(api.post(URL, body, format="json"), 403, "permission_denied")

    api.force_login(operator)
    response = api.post(URL, body, format="json")

    assert response.status_code == 201
    assert Ticket.objects.get().created_by == operator
