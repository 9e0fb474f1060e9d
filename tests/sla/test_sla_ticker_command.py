from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from sla.models import Deadline, DeadlineKind, Outbox
from sla.services import deadline_open

pytestmark = pytest.mark.django_db


def test_fires_and_delivers_without_celery(subject, t0, recorded_handlers):
    deadline = deadline_open(subject=subject, kind=DeadlineKind.RESPONSE, now=t0, due_at=t0 + timedelta(seconds=5))

    with time_machine.travel(t0 + timedelta(seconds=6), tick=False):
        out = StringIO()
        # --deliver runs the handlers here, so no broker is needed at all
        call_command("sla_ticker", "--once", "--deliver", stdout=out)

    deadline.refresh_from_db(fields=["state"])
    assert deadline.state == Deadline.State.BREACHED
    assert Outbox.objects.get(deadline=deadline).sent_at is not None
    assert recorded_handlers == [("breach", deadline.pk, 0)]
    assert "fired 1" in out.getvalue()
