from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfigCacheConfig(AppConfig):
    name = "configcache"
    verbose_name = _("Configuration cache")
