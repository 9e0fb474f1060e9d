from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.services import ticket_create
from sla.models import Heartbeat
from sla.services import deadline_fire_due

pytestmark = pytest.mark.django_db


def _value(text: str, line_start: str) -> float:
    (line,) = [line for line in text.splitlines() if line.startswith(line_start + " ")]
    return float(line.rsplit(" ", 1)[1])


def test_metrics_show_tickets_clocks_and_how_late_the_breaches_fired(client, ticket_input, operator, queued):
    created = timezone.now() - timedelta(minutes=31)
    ticket_create(**ticket_input, by=operator, now=created)
    # the tick noticed the 30-minute breach 1.5 s late
    deadline_fire_due(now=created + timedelta(minutes=30, seconds=1.5))
    Heartbeat.objects.filter(name="sla_tick").update(beat_at=timezone.now() - timedelta(seconds=2), duration_ms=40)

    text = client.get("/metrics").content.decode()

    assert _value(text, 'dispatch_tickets{status="new"}') == 1
    assert _value(text, 'sla_open_clocks{kind="resolution",state="pending"}') == 1
    assert _value(text, 'sla_firing_lateness_seconds{event="breach",quantile="0.99"}') == pytest.approx(1.5)
    assert _value(text, 'sla_fired_recent{event="breach"}') == 1
    assert 2 <= _value(text, "sla_tick_age_seconds") < 10
    assert _value(text, "sla_tick_duration_seconds") == pytest.approx(0.04)


def test_with_a_token_metrics_need_it(client, settings):
    settings.METRICS_TOKEN = "s3cret"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
