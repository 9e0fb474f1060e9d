import importlib
import io
import os
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.storage import storages
from django.db import connection, connections
from pytest_django.plugin import blocking_manager_key

from accounts.roles import Role
from accounts.services import role_sync
from dispatch.models import Media
from regions.catalogue import catalogue_reset
from regions.models import Division, ServiceArea
from regions.services import catalogue_load

User = get_user_model()

# The catalogue is loaded once per session (about 10 s). Tests that commit (transactional_db, live_server) end with a
# flush that empties every table; these tables are then copied back from a snapshot in well under a second, and the
# role groups and the default SLA policy are recreated.
CATALOGUE_TABLES = ["regions_division", "regions_divisionalias", "regions_catalogueimport"]


_catalogue_snapshot: dict[str, bytes] = {}
# The flush also empties data that migrations created: put the default SLA policy back the way 0002 made it.
_default_sla_policy = importlib.import_module("sla.migrations.0002_default_policy").create_default_policy


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the real division catalogue and the role groups once per test session; each test rolls back on top."""
    with django_db_blocker.unblock():
        catalogue_load()
        role_sync()
        with connection.cursor() as cursor:
            for table in CATALOGUE_TABLES:
                buffer = io.BytesIO()
                cursor.copy_expert(f"COPY {table} TO STDOUT", buffer)
                _catalogue_snapshot[table] = buffer.getvalue()
    yield


def _commits(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    transactional = marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    return bool(transactional) or bool({"transactional_db", "live_server"} & set(item.fixturenames))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a committing test's flush (the last thing its teardown does), copy the catalogue and roles back."""
    result = yield
    # With no next test the session teardown has already dropped the test database: nothing to restore.
    if _catalogue_snapshot and _commits(item) and nextitem is not None:
        with item.config.stash[blocking_manager_key].unblock():
            if not Division.objects.exists():
                with connection.cursor() as cursor:
                    for table in CATALOGUE_TABLES:
                        cursor.copy_expert(f"COPY {table} FROM STDIN", io.BytesIO(_catalogue_snapshot[table]))
                    for table in ("regions_divisionalias", "regions_catalogueimport"):
                        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}")
            role_sync()
            _default_sla_policy(django_apps, None)
            catalogue_reset()
            # Under Playwright's event loop this hook may hold its own connection; close it, or it would block the
            # test database's teardown.
            connections.close_all()
    return result


@pytest.fixture
def catalogue_changes():
    """For tests that rewrite the catalogue: drop the in-memory index built from their rolled-back rows."""
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


@pytest.fixture(autouse=True)
def dispatch_queued(request):
    """The auto-dispatch task's publish, patched for every test except those marked `real_broker` (a real worker
    dispatches there): records which tickets were handed to the broker after commit."""
    if request.node.get_closest_marker("real_broker"):
        yield None
        return
    with mock.patch("dispatch.services.ticket_dispatch_task.apply_async") as apply_async:
        yield apply_async


@pytest.fixture
def private_root(settings, tmp_path, monkeypatch):
    """The private storage (photos, recordings) pointed at a temporary directory; the model field holds its storage
    object from import time, so it is swapped too."""
    root = tmp_path / "private-media"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    monkeypatch.setattr(Media._meta.get_field("file"), "storage", storages["private"])
    return root


@pytest.fixture
def queued():
    """The SLA delivery task's apply_async, patched: records which outbox rows were handed to the broker."""
    with mock.patch("sla.services.outbox_deliver_task.apply_async") as apply_async:
        yield apply_async


# A served county and a ticket in it, for the tests of every app that needs one (directories may override them).
@pytest.fixture
def yonghe(db) -> Division:
    """山西省 临汾市 永和县, a served county."""
    ServiceArea.objects.create(division_id="141032", source_entry="临汾市永和县", outcome="exact")
    return Division.objects.get(code="141032")


@pytest.fixture
def zhihe(yonghe) -> Division:
    """芝河镇, a town in the served county."""
    return Division.objects.get(code="141032100")


@pytest.fixture
def ticket_input(zhihe):
    return {
        "phone": "13812345678",
        "name": "张伟",
        "division": zhihe,
        "address_detail": "芝河镇建设路 12 号 3 单元 501",
        "category": "biometric",
        "lock_brand": "德施曼",
    }


# Real-browser tests (tests/e2e, tests/security): Debian's chromium driven by Playwright, never a downloaded browser.
# One per test session, defined here so that every directory shares it: a second sync_playwright() while the first
# is alive fails ("Sync API inside the asyncio loop").
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test body still talks to the database.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
