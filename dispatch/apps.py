from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = _("Dispatch")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from dispatch.handlers import register_offer_clocks, register_ticket_clocks
        from dispatch.live import on_logged_out

        register_ticket_clocks()
        register_offer_clocks()
        user_logged_out.connect(on_logged_out, dispatch_uid="dispatch.live.on_logged_out")
