from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class NumberBinding(models.Model):
    """A virtual number (X) joining a job's technician and customer while the job is theirs (AXB), or the record that
    none was free when the job was accepted (then the technician calls the real number, flagged on both pages)."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")
        FAILED = "failed", _("No number free")

    ticket = models.ForeignKey("dispatch.Ticket", on_delete=models.CASCADE, related_name="number_bindings")
    technician = models.ForeignKey("dispatch.Technician", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    virtual_number = models.CharField(_("virtual number"), max_length=20, blank=True)
    provider_ref = models.CharField(_("provider reference"), max_length=100, blank=True)
    bound_at = models.DateTimeField(_("bound at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        verbose_name = _("privacy number binding")
        verbose_name_plural = _("privacy number bindings")
        constraints = [
            # One live virtual number per job, and one job per live virtual number (the pool never double-books).
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(state="active"), name="privacy_one_active_per_ticket"
            ),
            models.UniqueConstraint(
                fields=["virtual_number"], condition=Q(state="active"), name="privacy_number_bound_once"
            ),
            # A failed attempt is kept once per job and technician (updated on each retry), not once per retry.
            models.UniqueConstraint(
                fields=["ticket", "technician"], condition=Q(state="failed"), name="privacy_one_failure_per_job"
            ),
            models.CheckConstraint(
                condition=~Q(state="active") | (~Q(virtual_number="") & Q(released_at__isnull=True)),
                name="privacy_active_has_number",
            ),
            models.CheckConstraint(
                condition=~Q(state="released") | Q(released_at__isnull=False), name="privacy_released_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.virtual_number or '-'} ({self.state})"
