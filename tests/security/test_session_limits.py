"""Shared call-center PCs: signed out after SESSION_IDLE_SECONDS idle and SESSION_COOKIE_AGE after sign-in."""

from datetime import timedelta

import time_machine
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

BOARD = reverse("dispatch:board")
BOARD_TABLE = reverse("dispatch:board-table")


def _signed_in(client, user, at) -> None:
    with time_machine.travel(at, tick=False):
        client.force_login(user)
        assert client.get(BOARD).status_code == 200


def test_idle_operator_is_signed_out(client, operator):
    start = timezone.now()
    _signed_in(client, operator, start)

    with time_machine.travel(start + timedelta(seconds=settings.SESSION_IDLE_SECONDS + 61), tick=False):
        response = client.get(BOARD)

    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert "_auth_user_id" not in client.session


def test_activity_keeps_the_operator_signed_in(client, operator):
    start = timezone.now()
    _signed_in(client, operator, start)
    half = timedelta(seconds=settings.SESSION_IDLE_SECONDS * 2 // 3)

    with time_machine.travel(start + half, tick=False):
        assert client.get(BOARD).status_code == 200  # a page load is activity
    with time_machine.travel(start + 2 * half, tick=False):
        response = client.get(BOARD)

    assert response.status_code == 200


def test_board_polling_is_not_activity(client, operator):
    start = timezone.now()
    _signed_in(client, operator, start)
    step = timedelta(seconds=settings.SESSION_IDLE_SECONDS // 3)

    for n in (1, 2):  # the board refreshes itself while nobody is at the PC
        with time_machine.travel(start + n * step, tick=False):
            assert client.get(BOARD_TABLE, headers={"HX-Request": "true"}).status_code == 200
    with time_machine.travel(start + 3 * step + timedelta(seconds=61), tick=False):
        response = client.get(BOARD_TABLE, headers={"HX-Request": "true"})

    # the fragment's answer sends the whole page to the login form
    assert response.status_code == 204 and reverse("accounts:login") in response["HX-Redirect"]


def test_a_technician_on_a_long_job_is_not_signed_out_for_idling(client, wang):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(wang.user)
        assert client.get(reverse("technician:home")).status_code == 200

    with time_machine.travel(start + timedelta(seconds=settings.SESSION_IDLE_SECONDS * 3), tick=False):
        response = client.get(reverse("technician:home"))

    assert response.status_code == 200


def test_the_shift_limit_holds_whatever_the_activity(client, operator):
    start = timezone.now()
    _signed_in(client, operator, start)
    step = timedelta(seconds=settings.SESSION_IDLE_SECONDS // 2)
    end = start + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    moment = start + step
    while moment < end:  # busy all shift: never idle
        with time_machine.travel(moment, tick=False):
            assert client.get(BOARD).status_code == 200
        moment += step
    with time_machine.travel(end + timedelta(seconds=61), tick=False):
        response = client.get(BOARD)

    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_the_session_cookie_ends_with_the_browser(client, operator):
    response = client.post(reverse("accounts:login"), {"username": "li_operator", "password": "pw-for-tests"})

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert response.status_code == 302
    assert (cookie["expires"], cookie["max-age"]) == ("", "")  # a browser-session cookie: gone when it closes
    assert cookie["httponly"] is True


def test_staff_passwords_need_ten_characters(operator):
    try:
        validate_password("Zq7#mK2!x", user=operator)  # 9 characters, otherwise strong
    except ValidationError as error:
        assert [e.code for e in error.error_list] == ["password_too_short"]
    else:
        raise AssertionError("a 9-character password was accepted")
    validate_password("Zq7#mK2!xR", user=operator)


def test_the_admin_refuses_a_short_password_for_a_new_user(client, db):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root_admin", password="pw-for-tests-root")
    client.force_login(root)

    response = client.post(
        reverse("admin:auth_user_add"),
        {"username": "new_operator", "password1": "Zq7#mK2!x", "password2": "Zq7#mK2!x", "usable_password": "true"},
    )

    assert response.status_code == 200  # the form again, with the error
    assert not get_user_model().objects.filter(username="new_operator").exists()
