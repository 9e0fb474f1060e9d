import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from api.models import IntegrationKey
from api.services import integration_key_revoke, token_hash
from tests.api.conftest import assert_error_shape

pytestmark = pytest.mark.django_db

URL = "/api/v1/regions"


def test_only_the_hash_of_the_token_is_stored(make_key):
    key, token = make_key("regions:read")

    assert key.token_hash == token_hash(token) and key.prefix == token.split("_")[0] + "_" + token.split("_")[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(k)::text FROM api_integrationkey k")
        (stored,) = cursor.fetchone()
    secret = token[len(key.prefix) + 1 :]
    assert secret not in stored and token not in stored
    assert key.user.username == f"api-{key.prefix}" and not key.user.has_usable_password()


def test_bearer_and_x_api_key_both_authenticate(api, make_key):
    key, token = make_key("regions:read")

    assert api.get(URL, {"q": "永和"}, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert api.get(URL, {"q": "永和"}, HTTP_X_API_KEY=token).status_code == 200
    key.refresh_from_db(fields=["last_used_at"])
    assert key.last_used_at is not None


def test_revoked_key_gets_401(api, make_key):
    key, token = make_key("regions:read")
    integration_key_revoke(key=key)

    response = api.get(URL, {"q": "永和"}, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert_error_shape(response, 401, "authentication_failed")


def test_unknown_token_gets_401(api, make_key):
    make_key("regions:read")

    response = api.get(URL, {"q": "永和"}, HTTP_AUTHORIZATION="Bearer lk_00000000_not-a-real-token")

    assert_error_shape(response, 401, "authentication_failed")


def test_key_for_a_person_is_limited_by_their_role(api, make_key, technician):
    # a technician's key asking for regions:read: technicians do not search regions, so the key cannot either
    _key, token = make_key("regions:read", "tickets:read", user=technician)

    response = api.get(URL, {"q": "永和"}, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert_error_shape(response, 403, "permission_denied")


def test_command_prints_a_working_token_once(api, capsys):
    call_command("api_key_create", "--name", "Call center CTI", "--scopes", "regions:read,calls:write")

    token = capsys.readouterr().out.strip()
    key = IntegrationKey.objects.get()
    assert (key.name, key.scopes) == ("Call center CTI", ["calls:write", "regions:read"])
    assert api.get(URL, {"q": "永和"}, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


# A superuser: the administrator role's permissions for IntegrationKey are listed in accounts/roles.py by its owner.
def test_admin_add_shows_the_token_once(admin_client, admin_user):
    client = admin_client
    response = client.post(
        reverse("admin:api_integrationkey_add"), {"name": "CRM", "scopes": ["tickets:read"]}, follow=True
    )

    key = IntegrationKey.objects.get()
    shown = [str(message) for message in response.context["messages"]]
    # the token in the message, whatever the language's punctuation around it (Chinese puts no space before it)
    tokens = [token for message in shown for token in re.findall(re.escape(key.prefix) + r"[\w-]+", message)]
    assert len(tokens) == 1 and token_hash(tokens[0]) == key.token_hash
    assert key.created_by == admin_user
    # the change page shows the prefix, never the token again
    page = client.get(reverse("admin:api_integrationkey_change", args=[key.pk])).content.decode()
    assert key.prefix in page and tokens[0] not in page


def test_admin_action_revokes(admin_client, make_key):
    key, _token = make_key("tickets:read")

    admin_client.post(
        reverse("admin:api_integrationkey_changelist"), {"action": "revoke", "_selected_action": [key.pk]}
    )

    key.refresh_from_db(fields=["revoked_at"])
    assert key.revoked_at is not None and key.revoked_at <= timezone.now()
