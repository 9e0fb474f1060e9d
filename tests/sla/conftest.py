from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group

from sla import registry


@pytest.fixture
def t0():
    """A fixed instant: 2026-11-26 02:00 in Shanghai, the middle of a night shift."""
    return datetime(2026, 11, 26, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def subject(db):
    """Any model instance can carry clocks; the engine knows nothing about tickets."""
    return Group.objects.create(name="ticket-stand-in")


@pytest.fixture
def other_subject(db):
    return Group.objects.create(name="another-stand-in")


def queued_ids(apply_async) -> list[int]:
    return [outbox_id for call in apply_async.call_args_list for outbox_id in call.kwargs["kwargs"]["outbox_ids"]]


@pytest.fixture
def recorded_handlers():
    """Register recording handlers for the response clock for the duration of a test."""
    calls = []
    handlers = registry.register(
        "response",
        on_warning=lambda *, deadline, outbox: calls.append(("warning", deadline.pk, outbox.generation)),
        on_breach=lambda *, deadline, outbox: calls.append(("breach", deadline.pk, outbox.generation)),
        on_breach_revoked=lambda *, deadline, outbox: calls.append(("breach_revoked", deadline.pk, outbox.generation)),
    )
    yield calls
    registry.unregister("response", handlers)
