from django.contrib.contenttypes.models import ContentType

from dispatch.models import Ticket
from sla.models import Deadline


def ticket_clocks(*, ticket: Ticket) -> dict[str, Deadline]:
    """Return the ticket's latest clock of each kind, by kind."""
    rows = Deadline.objects.filter(
        subject_type=ContentType.objects.get_for_model(Ticket), subject_id=ticket.pk
    ).order_by("kind", "cycle")
    return {row.kind: row for row in rows}
