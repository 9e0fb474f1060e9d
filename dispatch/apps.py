from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Dispatch")

    def ready(self) -> None:
        from dispatch.handlers import register_offer_clocks, register_ticket_clocks

        register_ticket_clocks()
        register_offer_clocks()
