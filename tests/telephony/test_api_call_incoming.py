import pytest
from django.db import connection

from dispatch.models import Ticket
from telephony.models import Call
from tests.api.conftest import assert_error_shape

pytestmark = pytest.mark.django_db

URL = "/api/v1/calls/incoming"


@pytest.fixture
def event():
    return {"external_id": "cti-20261126-0001", "caller": "13812345678", "called": "400-820-1234"}


def test_records_the_call_and_returns_the_screen_pop(key_client, event):
    response = key_client("calls:write").post(URL, event, format="json")

    assert response.status_code == 201, response.json()
    call = Call.objects.get()
    assert (call.caller, call.called, call.ticket) == ("+8613812345678", "400-820-1234", None)
    assert response.json() == {
        "call": call.pk,
        "screen_pop_url": f"http://testserver/dispatch/console/?phone=%2B8613812345678&call={call.pk}",
        "created": True,
    }


def test_caller_number_is_encrypted_at_rest(key_client, event):
    key_client("calls:write").post(URL, event, format="json")

    with connection.cursor() as cursor:
        cursor.execute("SELECT caller FROM telephony_call")
        (stored,) = cursor.fetchone()
    assert "13812345678" not in stored


def test_same_external_id_is_recorded_once(key_client, event):
    client = key_client("calls:write")
    first = client.post(URL, event, format="json").json()

    again = client.post(URL, event, format="json")

    assert again.status_code == 200 and again.json() == {**first, "created": False}
    assert Call.objects.count() == 1


def test_same_external_id_for_another_caller_is_a_conflict(key_client, event):
    client = key_client("calls:write")
    client.post(URL, event, format="json")

    response = client.post(URL, {**event, "caller": "13900001111"}, format="json")

    assert_error_shape(response, 409, "call_id_reused")
    assert Call.objects.get().caller == "+8613812345678"


def test_needs_the_calls_scope(key_client, event):
    assert_error_shape(key_client("tickets:create").post(URL, event, format="json"), 403, "permission_denied")
    assert not Call.objects.exists()


def test_screen_pop_opens_the_console_with_the_callers_card(key_client, client, operator, event, ticket):
    screen_pop = key_client("calls:write").post(URL, event, format="json").json()["screen_pop_url"]
    client.force_login(operator)

    page = client.get(screen_pop.removeprefix("http://testserver")).content.decode()

    # the caller's card: masked number and their open ticket; the form carries the call along
    assert "138****5678" in page and ticket.number in page
    assert f'name="call" value="{Call.objects.get().pk}"' in page


def test_ticket_created_from_the_screen_pop_is_linked_to_the_call(key_client, client, operator, event, zhihe):
    call_id = key_client("calls:write").post(URL, event, format="json").json()["call"]
    client.force_login(operator)

    response = client.post(
        "/dispatch/console/",
        {
            "phone": "13812345678",
            "name": "张伟",
            "division": zhihe.code,
            "address_detail": "建设路 12 号 501",
            "category": "locked_out",
            "call": str(call_id),
        },
    )

    assert response.status_code == 302
    assert Call.objects.get(pk=call_id).ticket == Ticket.objects.get()


def test_api_ticket_creation_links_the_call(key_client, event, zhihe):
    client = key_client("calls:write", "tickets:create")
    call_id = client.post(URL, event, format="json").json()["call"]

    response = client.post(
        "/api/v1/tickets",
        {
            "phone": "13812345678",
            "division": zhihe.code,
            "address_detail": "建设路 12 号 501",
            "category": "power",
            "call": call_id,
        },
        format="json",
    )

    assert response.status_code == 201
    assert Call.objects.get(pk=call_id).ticket.number == response.json()["number"]
