import random
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from dashboard.services import demo_history_seed, ticket_fact_sync


class Command(BaseCommand):
    help = "Create N demo tickets over the last days through the real services, then refresh the dashboard rollup."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=200)
        parser.add_argument("--days", type=int, default=14)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, tickets: int, days: int, seed: int, **options):
        now = timezone.now()
        created = demo_history_seed(
            tickets=tickets,
            start=now - timedelta(days=days),
            end=now,
            rng=random.Random(seed),  # noqa: S311 - demo
        )
        facts = ticket_fact_sync(now=timezone.now())
        self.stdout.write(f"{created} tickets created, {facts} dashboard rows refreshed")
