"""Sign-in lockout (django-axes): per username + address, AXES_FAILURE_LIMIT failures, a cool-off, admin unlock."""

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

LOGIN = reverse("accounts:login")


def _attempt(client, username: str, password: str, address: str = "10.0.0.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def _fail(client, username: str, times: int, address: str = "10.0.0.7") -> None:
    for attempt in range(1, times + 1):
        response = _attempt(client, username, "wrong-password", address)
        # the form again with an error, until the failure that reaches the limit answers with the lockout page
        assert response.status_code == (429 if attempt == settings.AXES_FAILURE_LIMIT else 200)


def test_locked_after_the_limit_even_with_the_right_password(client, operator):
    _fail(client, "li_operator", settings.AXES_FAILURE_LIMIT)

    response = _attempt(client, "li_operator", "pw-for-tests")

    assert response.status_code == 429
    assert b'data-testid="lockout"' in response.content
    assert "_auth_user_id" not in client.session


def test_one_failure_fewer_still_signs_in(client, operator):
    _fail(client, "li_operator", settings.AXES_FAILURE_LIMIT - 1)

    response = _attempt(client, "li_operator", "pw-for-tests")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(operator.pk)


def test_the_lock_is_per_username_and_address(client, operator, reviewer):
    _fail(client, "li_operator", settings.AXES_FAILURE_LIMIT)

    # the same user from another PC, and another user from this PC, still sign in
    assert _attempt(client, "li_operator", "pw-for-tests", address="10.0.0.8").status_code == 302
    client.logout()
    assert _attempt(client, "chen_reviewer", "pw-for-tests").status_code == 302


def test_the_lock_ends_after_the_cool_off(client, operator):
    _fail(client, "li_operator", settings.AXES_FAILURE_LIMIT)

    later = timezone.now() + settings.AXES_COOLOFF_TIME + timezone.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        response = _attempt(client, "li_operator", "pw-for-tests")

    assert response.status_code == 302


def test_an_administrator_unlocks_in_the_admin(client, operator):
    _fail(client, "li_operator", settings.AXES_FAILURE_LIMIT)
    attempt = AccessAttempt.objects.get(username="li_operator")
    root = get_user_model().objects.create_superuser("root_admin", password="pw-for-tests-root")
    admin_client = client.__class__()
    admin_client.force_login(root)

    response = admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert _attempt(client, "li_operator", "pw-for-tests").status_code == 302


def test_the_lockout_page_is_translated(client, operator):
    _fail(client, "li_operator", settings.AXES_FAILURE_LIMIT)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = _attempt(client, "li_operator", "pw-for-tests")

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"Try again in {minutes} minutes".encode() in response.content


@pytest.mark.parametrize(
    ("forwarded", "expected"), [("203.0.113.9", "203.0.113.9"), ("6.6.6.6, 203.0.113.9", "203.0.113.9")]
)
def test_behind_one_proxy_the_address_is_the_one_it_saw(rf, settings, forwarded, expected):
    from audit.network import client_ip

    settings.SECURITY_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_without_a_proxy_forwarded_headers_are_ignored(rf, settings):
    from audit.network import client_ip

    settings.SECURITY_PROXY_COUNT = 0
    request = rf.get("/", REMOTE_ADDR="10.0.0.7", HTTP_X_FORWARDED_FOR="6.6.6.6")

    assert client_ip(request) == "10.0.0.7"
