from telephony.models import Call


def call_list_for_ticket(*, ticket) -> list[Call]:
    """Return the calls linked to a ticket, first call first."""
    return list(Call.objects.filter(ticket=ticket).order_by("started_at", "pk"))
