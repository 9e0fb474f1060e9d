from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("API and integration keys")

    def ready(self) -> None:
        # Registers the OpenAPI description of key authentication (drf-spectacular finds extensions by subclassing).
        from api import schema  # noqa: F401
