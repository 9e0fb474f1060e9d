"""The board's table is rendered once per filter for BOARD_CACHE_SECONDS and shared by every board asking for the
same thing; never across languages or a regional manager's province limit."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from accounts.roles import Role
from dashboard.models import ManagerRegion
from dispatch.services import ticket_create
from tests.conftest import _user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def board_cache():
    cache.clear()
    with override_settings(BOARD_CACHE_SECONDS=60):
        yield
    cache.clear()


def _table(client, user, **query) -> str:
    client.force_login(user)
    return client.get(reverse("dispatch:board-table"), query).content.decode()


def test_two_operators_share_one_rendering_until_it_expires(client, ticket_input, operator):
    colleague = _user_with_role("zhou_operator", Role.OPERATOR)
    first = ticket_create(**ticket_input, by=operator)
    assert first.number in _table(client, operator)

    second = ticket_create(**{**ticket_input, "phone": "13900001111"}, by=operator)
    shared = _table(client, colleague)

    assert first.number in shared and second.number not in shared  # the rendering of a moment ago
    cache.clear()  # what expiry does after BOARD_CACHE_SECONDS
    assert second.number in _table(client, colleague)


def test_filters_and_languages_get_their_own_rendering(client, ticket_input, operator):
    ticket = ticket_create(**ticket_input, by=operator)
    _table(client, operator)

    assert ticket.number not in _table(client, operator, province="110000")  # 北京: not the cached national table
    client.cookies["django_language"] = "en"
    assert "Response due" in _table(client, operator)


def test_a_regional_manager_never_gets_a_table_rendered_for_someone_else(client, ticket_input, operator):
    ticket = ticket_create(**ticket_input, by=operator)  # 山西
    assert ticket.number in _table(client, operator)  # the national table is now cached
    beijing = _user_with_role("sun_beijing", Role.MANAGER)
    ManagerRegion.objects.create(user=beijing, province_id="110000")

    assert ticket.number not in _table(client, beijing)
