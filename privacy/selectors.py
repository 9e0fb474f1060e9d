from dataclasses import dataclass

from privacy.models import NumberBinding


def virtual_numbers_in_use() -> set[str]:
    """Return the virtual numbers bound to a job right now."""
    return set(NumberBinding.objects.filter(state=NumberBinding.State.ACTIVE).values_list("virtual_number", flat=True))


@dataclass(frozen=True)
class JobNumber:
    """What the job's pages show: the live binding, or why the real number is shown instead."""

    binding: NumberBinding | None
    failed: bool  # no virtual number was free when the job was accepted
    expired: bool  # the provider's binding ran out before the job ended


def binding_get_for_job(*, ticket, now) -> JobNumber:
    """Return the privacy number of the ticket's current technician (one query), or the reason there is none."""
    if ticket.technician_id is None:
        return JobNumber(binding=None, failed=False, expired=False)
    rows = NumberBinding.objects.filter(
        ticket_id=ticket.pk,
        technician_id=ticket.technician_id,
        state__in=[NumberBinding.State.ACTIVE, NumberBinding.State.FAILED],
    ).order_by("state")  # "active" sorts before "failed"
    row = rows.first()
    if row is None:
        return JobNumber(binding=None, failed=False, expired=False)
    if row.state == NumberBinding.State.FAILED:
        return JobNumber(binding=None, failed=True, expired=False)
    if row.expires_at is not None and row.expires_at <= now:
        return JobNumber(binding=None, failed=False, expired=True)
    return JobNumber(binding=row, failed=False, expired=False)
