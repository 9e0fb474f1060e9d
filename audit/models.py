from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AccessLog(models.Model):
    """One look at customer data a manager can be asked about: a phone or address reveal, a photo or recording
    opened, complaint evidence opened, an export. Append-only; rows outlive the user and the ticket they name."""

    class Kind(models.TextChoices):
        PHONE_REVEAL = "phone_reveal", _("Full phone number revealed")
        ADDRESS_VIEW = "address_view", _("Full address shown")
        MEDIA_VIEW = "media_view", _("Photo or recording opened")
        MEDIA_DOWNLOAD = "media_download", _("Photo or recording downloaded")
        EVIDENCE_VIEW = "evidence_view", _("Complaint evidence opened")
        EVIDENCE_DOWNLOAD = "evidence_download", _("Complaint evidence downloaded")
        EXPORT = "export", _("Export")

    at = models.DateTimeField(_("at"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("user")
    )
    # Kept as text too: the log must still say who it was after the account is deleted.
    username = models.CharField(_("username"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    ticket_number = models.CharField(_("ticket"), max_length=32, blank=True)
    # The customer's blind index (dispatch.crypto.phone_index), so a manager can search by phone without the log
    # holding the number itself.
    phone_index = models.CharField(max_length=64, blank=True)
    # The ticket's province (or the exported region's): what a regional manager may see.
    province_code = models.CharField(_("province"), max_length=12, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["-at"], name="audit_access_at_idx"),
            models.Index(fields=["user", "-at"], name="audit_access_user_idx"),
            models.Index(fields=["phone_index"], name="audit_access_phone_idx"),
            models.Index(fields=["ticket_number"], name="audit_access_ticket_idx"),
            models.Index(fields=["province_code", "-at"], name="audit_access_province_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.kind} {self.ticket_number}"
