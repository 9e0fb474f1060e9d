import pytest
from django.urls import reverse

from dispatch.models import Ticket, TicketEvent
from dispatch.services import ticket_create

pytestmark = pytest.mark.django_db

CONSOLE = "/dispatch/console/"


@pytest.fixture
def form_data(zhihe):
    return {
        "phone": "13812345678",
        "name": "张伟",
        "division": zhihe.code,
        "address_detail": "建设路 12 号 501",
        "category": "locked_out",
        "lock_brand": "德施曼",
        "lock_model": "Q5",
        "urgency": "",
        "appointment_start": "",
        "appointment_end": "",
        "notes": "",
    }


def test_operator_creates_a_ticket_and_lands_on_its_page(client, operator, form_data):
    client.force_login(operator)

    response = client.post(CONSOLE, form_data)

    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dispatch/tickets/{ticket.number}/"
    assert (ticket.urgency, ticket.created_by, ticket.lock_model) == ("urgent", operator, "Q5")
    page = client.get(response["Location"]).content.decode()
    assert "138****5678" in page and "13812345678" not in page
    assert 'data-testid="clocks"' in page


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"division": ""}, "division"),
        ({"division": "999999"}, "division"),
        ({"address_detail": ""}, "address_detail"),
        ({"category": "teleport"}, "category"),
        ({"appointment_start": "2026-11-27T10:00", "appointment_end": "2026-11-27T09:00"}, None),
    ],
)
def test_bad_input_is_shown_and_nothing_is_saved(client, operator, form_data, changes, field):
    client.force_login(operator)

    response = client.post(CONSOLE, {**form_data, **changes})

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors and (field is None or field in form.errors)
    assert not Ticket.objects.exists()


def test_outside_the_area_asks_for_confirmation(client, operator, form_data):
    client.force_login(operator)
    data = {**form_data, "division": "141025"}  # 古县, not served

    refused = client.post(CONSOLE, data)
    assert refused.status_code == 400 and refused.context["confirm"] == {"outside": True}
    assert not Ticket.objects.exists()

    accepted = client.post(CONSOLE, {**data, "allow_outside_area": "on"})
    assert accepted.status_code == 302 and Ticket.objects.get().division_id == "141025"


def test_duplicate_links_to_the_open_ticket(client, operator, form_data, ticket_input):
    first = ticket_create(**{**ticket_input, "address_detail": form_data["address_detail"]}, by=operator)
    client.force_login(operator)

    response = client.post(CONSOLE, form_data)

    assert response.status_code == 400
    assert f'href="/dispatch/tickets/{first.number}/"' in response.content.decode()
    assert Ticket.objects.count() == 1


def test_incoming_call_shows_the_customer_card(client, operator, ticket_input):
    ticket = ticket_create(**ticket_input, by=operator)
    client.force_login(operator)

    page = client.get(CONSOLE, {"phone": "+86 138 1234 5678"}).content.decode()

    assert "138****5678" in page and ticket.number in page
    assert 'data-testid="free-inspection"' not in page  # the free inspection is taken by the open ticket


def test_new_caller_is_told_the_inspection_is_free(client, operator, yonghe):
    client.force_login(operator)

    page = client.get(CONSOLE, {"phone": "13900001111"}).content.decode()

    assert 'data-testid="free-inspection"' in page


def test_reveal_needs_a_reason_and_is_logged(client, operator, ticket_input):
    ticket = ticket_create(**ticket_input, by=operator)
    client.force_login(operator)
    url = reverse("dispatch:phone-reveal", args=[ticket.number])

    client.post(url, {"reason": ""})
    assert not TicketEvent.objects.filter(kind="pii_reveal").exists()

    client.post(url, {"reason": "回拨"})
    page = client.get(reverse("dispatch:ticket", args=[ticket.number])).content.decode()
    assert "+8613812345678" in page
    assert TicketEvent.objects.get(kind="pii_reveal").actor == operator
    # shown once: the next visit is masked again
    assert "+8613812345678" not in client.get(reverse("dispatch:ticket", args=[ticket.number])).content.decode()


def test_cancel_from_the_ticket_page(client, operator, ticket_input):
    ticket = ticket_create(**ticket_input, by=operator)
    client.force_login(operator)

    client.post(reverse("dispatch:ticket-action", args=[ticket.number, "cancel"]), {"reason": ""})
    assert Ticket.objects.get().status == "new"
    client.post(reverse("dispatch:ticket-action", args=[ticket.number, "cancel"]), {"reason": "客户取消"})
    assert Ticket.objects.get().status == "cancelled"


@pytest.mark.parametrize(("role", "status"), [("technician", 403), ("reviewer", 403), ("manager", 200)])
def test_board_access_by_role(client, users_by_role, role, status):
    client.force_login(users_by_role[role])

    assert client.get("/dispatch/board/").status_code == status


def test_board_filters_and_marks_breaches(client, operator, ticket_input, t0, queued):
    from sla.services import deadline_fire_due

    urgent = ticket_create(**{**ticket_input, "category": "locked_out"}, by=operator, now=t0)
    calm = ticket_create(**{**ticket_input, "phone": "13900001111"}, by=operator, now=t0)
    deadline_fire_due(now=t0.replace(hour=2, minute=45))  # both response clocks breached
    client.force_login(operator)

    rows = client.get("/dispatch/board/table", {"urgency": "urgent"}).context["tickets"]
    assert [t.number for t in rows] == [urgent.number]
    page = client.get("/dispatch/board/table").content.decode()
    assert page.count('data-sla="breached"') == 2 and calm.number in page
    assert [t.number for t in client.get("/dispatch/board/table", {"province": "110000"}).context["tickets"]] == []


def test_board_query_count_does_not_grow(client, operator, ticket_input, django_assert_max_num_queries):
    for i in range(15):
        ticket_create(**{**ticket_input, "phone": f"139000{i:05d}"}, by=operator)
    client.force_login(operator)

    with django_assert_max_num_queries(6):
        response = client.get("/dispatch/board/table")
    assert len(response.context["tickets"]) == 15


@pytest.mark.parametrize(
    ("role", "status"), [("operator", 200), ("admin", 200), ("technician", 403), ("manager", 403), ("reviewer", 403)]
)
def test_only_operators_take_calls(client, users_by_role, role, status):
    client.force_login(users_by_role[role])

    assert client.get(CONSOLE).status_code == status
    assert client.get("/dispatch/console/areas", {"area": "永和"}).status_code == status


def test_anonymous_callers_are_sent_to_login(client):
    assert client.get(CONSOLE)["Location"] == "/login/?next=/dispatch/console/"


@pytest.mark.parametrize("role", ["technician", "reviewer"])
def test_ticket_pages_and_actions_are_staff_only(client, users_by_role, role, ticket_input, operator):
    ticket = ticket_create(**ticket_input, by=operator)
    client.force_login(users_by_role[role])

    assert client.get(reverse("dispatch:ticket", args=[ticket.number])).status_code == 403
    assert client.post(reverse("dispatch:phone-reveal", args=[ticket.number]), {"reason": "x"}).status_code == 403
    assert (
        client.post(reverse("dispatch:ticket-action", args=[ticket.number, "cancel"]), {"reason": "x"}).status_code
        == 403
    )
    assert Ticket.objects.get().status == "new" and not TicketEvent.objects.filter(kind="pii_reveal").exists()
