"""The Celery app the chaos test's worker processes run: the project's app plus a recording breach handler.

`celery -A tests.integration.chaos_app worker` imports this module before the pool forks, so every pool process has
the handler, the way an app registers its handlers in AppConfig.ready().
"""

import time

from django.apps import apps
from django.utils import timezone

from config.celery import app
from sla import registry

# A kind of its own: handlers other apps register for the real clocks must not run against the test's subjects.
KIND = "chaos_probe"
HANDLED_PREFIX = "chaos-handled:"
# Stands in for the SMS gateway's round trip, so a burst of breaches keeps the delivery queue busy for a while.
HANDLER_SECONDS = 0.05


def record_breach(*, deadline, outbox) -> None:
    """Create one group per run, named after the outbox row and the time the handler ran.

    Deliberately not idempotent: the group commits in the delivery transaction, so a second committed run of the
    same event would leave a second group and the test would see it.
    """
    ran_at = timezone.now()
    time.sleep(HANDLER_SECONDS)
    group_model = apps.get_model("auth", "Group")
    group_model.objects.create(name=f"{HANDLED_PREFIX}{outbox.pk}@{ran_at.isoformat()}")


registry.register(KIND, on_breach=record_breach)

__all__ = ["app"]
