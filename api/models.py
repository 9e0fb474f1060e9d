from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What an integration key may do; each API operation names the one scope it needs."""

    TICKETS_CREATE = "tickets:create", _("Create tickets")
    TICKETS_READ = "tickets:read", _("Read tickets")
    TICKETS_TRANSITION = "tickets:transition", _("Move tickets along (dispatch, progress, cancel)")
    CUSTOMERS_READ = "customers:read", _("Look customers up by phone (masked)")
    CALLS_WRITE = "calls:write", _("Record incoming calls and their recordings")
    COMPLAINTS_WRITE = "complaints:write", _("File complaints")
    COMPLAINTS_READ = "complaints:read", _("Read complaint status")
    REGIONS_READ = "regions:read", _("Search regions")
    TECHNICIANS_READ = "technicians:read", _("Read technician status")


class IntegrationKey(models.Model):
    """A key an outside system (phone system, CRM, after-sales platform) calls the API with; only its hash is kept."""

    name = models.CharField(_("name"), max_length=80)
    prefix = models.CharField(
        _("prefix"), max_length=12, unique=True, help_text=_("The start of the token, to recognise a key in logs.")
    )
    token_hash = models.CharField(max_length=64, unique=True, help_text=_("SHA-256 of the token, hex"))
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), verbose_name=_("scopes"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="integration_keys",
        verbose_name=_("acts as"),
        help_text=_("The account the key's actions are recorded under; a person's roles also limit the key."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("integration key")
        verbose_name_plural = _("integration keys")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(scopes=[]), name="api_key_has_scopes"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
