import pytest
from django.contrib.auth.models import Group

from accounts.roles import PERMISSIONS, Role
from accounts.services import demo_users_ensure, role_sync

pytestmark = pytest.mark.django_db


def test_creates_one_group_per_role_with_its_permissions():
    role_sync()

    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.ALL)
    operator = Group.objects.get(name=Role.OPERATOR)
    assert {f"{p.content_type.app_label}.{p.codename}" for p in operator.permissions.all()} == set(
        PERMISSIONS[Role.OPERATOR]
    )
    assert not Group.objects.get(name=Role.TECHNICIAN).permissions.filter(codename="view_division").exists()


def test_running_again_removes_permissions_granted_by_hand():
    from django.contrib.auth.models import Permission

    operator = Group.objects.get(name=Role.OPERATOR)
    operator.permissions.add(Permission.objects.get(codename="delete_servicearea"))

    role_sync()

    assert not operator.permissions.filter(codename="delete_servicearea").exists()


def test_demo_users_log_in_with_the_printed_password(client):
    logins = demo_users_ensure()

    assert [login.role for login in logins] == list(Role.ALL)
    for login in logins:
        assert client.login(username=login.username, password=login.password)
    assert demo_users_ensure() == logins  # idempotent
