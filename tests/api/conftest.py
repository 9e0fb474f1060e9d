import pytest
from rest_framework.test import APIClient

from api.models import Scope
from api.services import integration_key_create
from dispatch.services import ticket_create
from telephony.models import Call
from tests.dispatch.conftest import t0, wang, zhao  # noqa: F401 - shared actors

ALL_SCOPES = list(Scope.values)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def make_key(db, administrator):
    """Issue a key with these scopes (a new service account unless `user` is given); returns (key, token)."""

    def make(*scopes: str, user=None, name: str = "CTI"):
        return integration_key_create(name=name, scopes=list(scopes), by=administrator, user=user)

    return make


@pytest.fixture
def key_client(make_key):
    """An API client authenticated with a key holding the scopes given: key_client("tickets:read")."""

    def make(*scopes: str, user=None) -> APIClient:
        key, token = make_key(*scopes, user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        client.key = key
        return client

    return make


@pytest.fixture
def ticket(ticket_input, operator):
    return ticket_create(**ticket_input, by=operator)


@pytest.fixture
def call_storage(settings, tmp_path, monkeypatch, private_root):
    """Call recordings in the temporary private storage (the field holds its storage object from import time)."""
    from django.core.files.storage import storages

    monkeypatch.setattr(Call._meta.get_field("recording"), "storage", storages["private"])
    return private_root


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    """The one error shape: a non-empty message, a code, an extra object."""
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"message", "code", "extra"}, body
    assert body["message"] and isinstance(body["extra"], dict)
    if code is not None:
        assert body["code"] == code, body
    return body
