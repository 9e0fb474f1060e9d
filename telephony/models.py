from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dispatch.fields import EncryptedTextField
from dispatch.models import private_storage


class Call(models.Model):
    """An incoming call to the hotline, as the phone system (CTI) reports it; once per phone-system call id."""

    external_id = models.CharField(_("phone system call id"), max_length=100, unique=True)
    # The caller's number is customer data: encrypted at rest like Customer.phone, found through its blind index.
    caller = EncryptedTextField(_("caller number"), help_text=_("E.164, e.g. +8613800138000"))
    caller_index = models.CharField(max_length=64, db_index=True, help_text=_("HMAC of the E.164 number"))
    called = models.CharField(_("number called"), max_length=20, help_text=_("The 400 hotline number dialled"))
    started_at = models.DateTimeField(_("started at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    ticket = models.ForeignKey(
        "dispatch.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("ticket"),
        help_text=_("The ticket the operator created during this call."),
    )
    # The call recording, kept like the job's photos and recordings: outside the web root, signed links only.
    recording = models.FileField(_("recording"), upload_to="calls/%Y/%m/", storage=private_storage, blank=True)
    recording_sha256 = models.CharField(max_length=64, blank=True)
    recording_size = models.PositiveBigIntegerField(null=True, blank=True)
    recording_content_type = models.CharField(max_length=40, blank=True)
    recording_uploaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"call #{self.pk}"


class RecordingAccess(models.Model):
    """Every playback or download of a call recording: who and when."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.call_id} {self.at}"
