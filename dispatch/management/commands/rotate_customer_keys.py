from django.core.management.base import BaseCommand

from dispatch.services import customer_keys_rotate


class Command(BaseCommand):
    help = "Re-encrypt customer data with the first key of FIELD_ENCRYPTION_KEYS (after adding a new key in front)."

    def handle(self, *args, **options):
        rewritten = customer_keys_rotate()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {rewritten} rows with the newest key."))
