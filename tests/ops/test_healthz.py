from datetime import timedelta

import pytest
from django.utils import timezone

from sla.models import Heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_tick():
    return Heartbeat.objects.create(name="sla_tick", beat_at=timezone.now(), fired=0, duration_ms=3.5)


def test_healthy_when_database_redis_and_the_tick_are_well(client, fresh_tick):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "redis": True,
        "sla_tick": True,
    }


def test_a_stale_tick_fails_the_check_and_says_so(client, fresh_tick):
    Heartbeat.objects.filter(pk=fresh_tick.pk).update(beat_at=timezone.now() - timedelta(minutes=2))

    response = client.get("/healthz")

    assert response.status_code == 503
    tick = response.json()["checks"]["sla_tick"]
    assert tick["ok"] is False and tick["detail"].startswith("last tick 12")


def test_redis_down_fails_the_check(client, fresh_tick, settings, tmp_path):
    settings.REDIS_URL = f"unix://{tmp_path}/nobody-listens.sock"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False
    assert response.json()["checks"]["database"]["ok"] is True
