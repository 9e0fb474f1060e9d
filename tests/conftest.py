import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.roles import Role
from accounts.services import role_sync
from regions.catalogue import catalogue_reset
from regions.services import catalogue_load

User = get_user_model()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the real division catalogue and the role groups once per test session; each test rolls back on top."""
    with django_db_blocker.unblock():
        catalogue_load()
        role_sync()
    yield


@pytest.fixture
def catalogue_changes():
    """For tests that rewrite the catalogue: drop the in-memory resolver index built from their rolled-back rows."""
    catalogue_reset()
    yield
    catalogue_reset()


def _user_with_role(username: str, role: str | None):
    # Django's admin site also needs staff status; administrators get it with the role.
    user = User.objects.create_user(username=username, password="pw-for-tests", is_staff=role == Role.ADMIN)
    if role is not None:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def operator(db):
    return _user_with_role("li_operator", Role.OPERATOR)


@pytest.fixture
def technician(db):
    return _user_with_role("wang_technician", Role.TECHNICIAN)


@pytest.fixture
def manager(db):
    return _user_with_role("zhao_manager", Role.MANAGER)


@pytest.fixture
def reviewer(db):
    return _user_with_role("chen_reviewer", Role.REVIEWER)


@pytest.fixture
def administrator(db):
    return _user_with_role("sun_admin", Role.ADMIN)


@pytest.fixture
def roleless_user(db):
    return _user_with_role("new_hire", None)


@pytest.fixture
def users_by_role(operator, technician, manager, reviewer, administrator):
    return {
        Role.OPERATOR: operator,
        Role.TECHNICIAN: technician,
        Role.MANAGER: manager,
        Role.REVIEWER: reviewer,
        Role.ADMIN: administrator,
    }
