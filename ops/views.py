"""/healthz for load balancers and monitors, /metrics for Prometheus."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from ops.selectors import health_checks, metrics_snapshot


@require_GET
@never_cache
def healthz(request):
    """200 when the database, Redis and the SLA tick are all well, 503 naming what is not (no secrets in the body)."""
    checks = health_checks(now=timezone.now())
    healthy = all(check.ok for check in checks)
    body = {
        "status": "ok" if healthy else "failing",
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
    }
    return JsonResponse(body, status=200 if healthy else 503)


class _SnapshotCollector:
    """Exposes one metrics_snapshot() as Prometheus gauges; built per scrape, so every web process answers the same."""

    def __init__(self, snapshot: dict) -> None:
        self.snapshot = snapshot

    def collect(self):
        s = self.snapshot
        tickets = GaugeMetricFamily("dispatch_tickets", "Tickets by status.", labels=["status"])
        for status, count in sorted(s["tickets"].items()):
            tickets.add_metric([status], count)
        yield tickets
        clocks = GaugeMetricFamily("sla_open_clocks", "Pending and paused SLA clocks.", labels=["kind", "state"])
        for (kind, state), count in sorted(s["clocks"].items()):
            clocks.add_metric([kind, state], count)
        yield clocks
        lateness = GaugeMetricFamily(
            "sla_firing_lateness_seconds",
            "Seconds from a warning or breach being due to the tick recording it, over the last 5 minutes.",
            labels=["event", "quantile"],
        )
        fired = GaugeMetricFamily(
            "sla_fired_recent", "Warnings and breaches recorded in the last 5 minutes.", labels=["event"]
        )
        for event, row in sorted(s["lateness"].items()):
            for quantile, key in (("0.5", "p50"), ("0.99", "p99"), ("1", "max")):
                lateness.add_metric([event, quantile], float(row[key]))
            fired.add_metric([event], row["count"])
        yield lateness
        yield fired
        if s["tick_age"] is not None:
            yield GaugeMetricFamily("sla_tick_age_seconds", "Seconds since the SLA tick last ran.", value=s["tick_age"])
            yield GaugeMetricFamily(
                "sla_tick_duration_seconds", "How long the last SLA tick took.", value=s["tick_duration_ms"] / 1000
            )
        yield GaugeMetricFamily(
            "sla_outbox_unsent", "SLA events not yet delivered to handlers.", value=s["outbox_unsent"]
        )
        yield GaugeMetricFamily(
            "dispatch_offers_pending", "Offers waiting for a technician's answer.", value=s["offers_pending"]
        )
        yield GaugeMetricFamily(
            "dispatch_technicians_on_duty", "Technicians on duty now.", value=s["technicians_on_duty"]
        )


@require_GET
@never_cache
def metrics(request):
    """Prometheus text format; with METRICS_TOKEN set, only for `Authorization: Bearer <token>`."""
    token = settings.METRICS_TOKEN
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(metrics_snapshot(now=timezone.now())))
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
