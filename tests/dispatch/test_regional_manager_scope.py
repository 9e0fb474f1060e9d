"""A regional manager sees the tickets of their provinces only: on the board, the ticket page, the gallery and the
API. Operators and national managers see every ticket."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from dashboard.models import ManagerRegion
from dispatch.services import ticket_create
from tests.conftest import _user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(ticket_input, operator):
    return ticket_create(**ticket_input, by=operator)  # 山西 临汾 永和县


def _manager_of(province: str, username: str):
    user = _user_with_role(username, Role.MANAGER)
    ManagerRegion.objects.create(user=user, province_id=province)
    return user


def _sees(client, user, ticket) -> dict[str, bool]:
    client.force_login(user)
    board = client.get(reverse("dispatch:board-table"))
    api_list = client.get(reverse("api:tickets"))
    return {
        "board": f'data-number="{ticket.number}"'.encode() in board.content,
        "page": client.get(reverse("dispatch:ticket", args=[ticket.number])).status_code == 200,
        "gallery": client.get(reverse("files:gallery", args=[ticket.number])).status_code == 200,
        "api list": ticket.number in [row["number"] for row in api_list.json()["results"]],
        "api detail": client.get(reverse("api:ticket", args=[ticket.number])).status_code == 200,
    }


def test_a_manager_of_another_province_sees_none_of_the_ticket(client, ticket):
    beijing = _manager_of("110000", "sun_beijing")

    assert _sees(client, beijing, ticket) == dict.fromkeys(
        ["board", "page", "gallery", "api list", "api detail"], False
    )


def test_a_manager_of_the_province_and_national_roles_see_it(client, ticket, manager, operator):
    shanxi = _manager_of("140000", "qian_shanxi")

    everything = dict.fromkeys(["board", "page", "gallery", "api list", "api detail"], True)
    assert _sees(client, shanxi, ticket) == everything
    assert _sees(client, manager, ticket) == everything  # no provinces in the admin: the whole country
    assert _sees(client, operator, ticket) == everything


def test_the_board_offers_only_the_managers_provinces_as_a_filter(client, ticket):
    client.force_login(_manager_of("140000", "qian_shanxi"))

    provinces = [code for code, _name in client.get(reverse("dispatch:board")).context["provinces"]]

    assert provinces == ["140000"]
