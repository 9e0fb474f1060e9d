from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.models import Scope
from api.services import integration_key_create
from config.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Issue an integration key and print its token (shown this once; only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Who the key is for, e.g. 'Call center CTI'")
        parser.add_argument(
            "--scopes", required=True, help=f"Comma-separated, from: {', '.join(Scope.values)}; 'all' for every one"
        )
        parser.add_argument("--user", default="", help="Username the key acts as (default: a new service account)")

    def handle(self, *args, name: str, scopes: str, user: str, **options):
        wanted = list(Scope.values) if scopes.strip() == "all" else [s.strip() for s in scopes.split(",") if s.strip()]
        account = None
        if user:
            account = get_user_model().objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"No user {user!r}.")
        try:
            key, token = integration_key_create(name=name, scopes=wanted, user=account)
        except ApplicationError as error:
            raise CommandError(str(error.message)) from None
        self.stderr.write(f"Key {key.prefix} ({', '.join(key.scopes)}) for {key.name}; the token follows, once:")
        self.stdout.write(token)
