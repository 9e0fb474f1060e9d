import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from sla.models import Heartbeat

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "screen"),
    [
        (Role.OPERATOR, "/dispatch/console/"),
        (Role.TECHNICIAN, "/tech/"),
        (Role.MANAGER, "/manager/"),
        (Role.REVIEWER, "/review/"),
        (Role.ADMIN, "/admin/"),
    ],
)
def test_home_sends_each_role_to_its_screen(client, users_by_role, role, screen):
    client.force_login(users_by_role[role])

    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, screen)
    assert client.get(screen).status_code == 200


@pytest.mark.parametrize(
    ("role", "forbidden"),
    [
        (Role.TECHNICIAN, "/console/"),
        (Role.OPERATOR, "/tech/"),
        (Role.OPERATOR, "/manager/"),
        (Role.TECHNICIAN, "/review/"),
        (Role.REVIEWER, "/console/regions?q=永和"),
    ],
)
def test_other_roles_screens_are_forbidden(client, users_by_role, role, forbidden):
    client.force_login(users_by_role[role])

    assert client.get(forbidden).status_code == 403


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/console/")

    assert (response.status_code, response["Location"]) == (302, "/login/?next=/console/")


def test_user_without_a_role_is_told_to_ask_for_one(client, roleless_user):
    client.force_login(roleless_user)

    response = client.get("/")

    assert response.status_code == 403
    assert "尚未分配角色" in response.content.decode()


def test_user_with_two_roles_chooses_a_screen(client, operator):
    operator.groups.add(*operator.groups.model.objects.filter(name=Role.MANAGER))
    client.force_login(operator)

    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/dispatch/console/"' in page and 'href="/manager/"' in page


def test_login_page_is_chinese_and_logs_in(client, operator):
    page = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="zh-hans">' in page
    assert "用户名" in page and "密码" in page

    response = client.post(reverse("accounts:login"), {"username": "li_operator", "password": "pw-for-tests"})

    assert (response.status_code, response["Location"]) == (302, "/")


def test_wrong_password_gets_a_chinese_message_and_no_session(client, operator):
    response = client.post(reverse("accounts:login"), {"username": "li_operator", "password": "wrong"})

    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client, operator):
    client.force_login(operator)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert client.get("/console/").status_code == 302


def test_language_switch_shows_english(client, operator):
    client.force_login(operator)

    client.post(reverse("set_language"), {"language": "en", "next": "/console/"})
    page = client.get("/console/").content.decode()

    assert '<html lang="en">' in page
    assert "Service-area check" in page


def test_operator_lookup_shows_served_badge(client, operator):
    from regions.models import ServiceArea

    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    client.force_login(operator)

    page = client.get(reverse("accounts:region-lookup"), {"q": "永和县"}).content.decode()

    assert 'data-code="141032"' in page
    assert "已开通" in page


def test_operator_lookup_says_when_nothing_matches(client, operator):
    client.force_login(operator)

    page = client.get(reverse("accounts:region-lookup"), {"q": "火星基地"}).content.decode()

    assert "没有与“火星基地”匹配的区域" in page


def test_manager_is_alarmed_when_the_sla_clocks_are_not_checked(client, manager):
    client.force_login(manager)

    assert 'data-testid="tick-alarm"' in client.get("/manager/").content.decode()


def test_no_alarm_while_the_sla_tick_is_alive(client, manager):
    Heartbeat.objects.create(name="sla_tick", beat_at=timezone.now())
    client.force_login(manager)

    assert 'data-testid="tick-alarm"' not in client.get("/manager/").content.decode()


def test_a_polling_fragment_whose_session_ran_out_sends_the_whole_page_to_login(client):
    response = client.get(
        "/dispatch/board/table",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://127.0.0.1:8000/dispatch/board/?province=140000",
    )

    assert response.status_code == 204
    assert response["HX-Redirect"] == "/login/?next=%2Fdispatch%2Fboard%2F%3Fprovince%3D140000"
    assert client.get("/dispatch/board/table")["Location"] == "/login/?next=/dispatch/board/table"


def test_a_role_taken_away_or_a_deactivated_account_counts_from_the_next_request(client, operator):
    client.force_login(operator)
    assert client.get("/dispatch/console/").status_code == 200

    operator.groups.clear()  # the administrator takes the role away while the operator is signed in
    assert client.get("/dispatch/console/").status_code == 403

    operator.groups.add(operator.groups.model.objects.get(name=Role.OPERATOR))
    assert client.get("/dispatch/console/").status_code == 200

    operator.is_active = False
    operator.save(update_fields=["is_active"])
    assert client.get("/dispatch/console/").status_code == 302  # signed out: to the sign-in page


def test_a_signed_in_request_reads_the_user_and_their_roles_in_one_query(client, operator, django_assert_num_queries):
    operator.groups.add(operator.groups.model.objects.get(name=Role.MANAGER))
    client.force_login(operator)

    with django_assert_num_queries(2):  # the session, then the user with their roles; no separate groups query
        page = client.get("/").content.decode()

    assert 'href="/dispatch/console/"' in page and 'href="/manager/"' in page
