import signal
import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from sla.models import Outbox
from sla.services import deadline_fire_due, outbox_deliver_many


class Command(BaseCommand):
    help = (
        "Fire due SLA clocks in a loop, needing only PostgreSQL (an alternative or a standby to Celery beat's "
        "sla_tick). With --deliver it also runs the handlers itself instead of queueing them for Celery."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks (default 1)")
        parser.add_argument("--deliver", action="store_true", help="run handlers here rather than through Celery")
        parser.add_argument("--once", action="store_true", help="tick once and exit")

    def handle(self, *args, interval: float, deliver: bool, once: bool, **options):
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        self.stdout.write(f"SLA ticker: every {interval:g} s{', delivering inline' if deliver else ''}. Ctrl-C stops.")
        try:
            while not stopping:
                started = time.monotonic()
                fired = deadline_fire_due(now=timezone.now())
                if deliver:
                    unsent = Outbox.objects.filter(sent_at__isnull=True).values_list("pk", flat=True)[:1000]
                    outbox_deliver_many(outbox_ids=list(unsent))
                if fired:
                    self.stdout.write(f"{timezone.now():%H:%M:%S} fired {fired}")
                if once:
                    break
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
        except KeyboardInterrupt:
            pass
