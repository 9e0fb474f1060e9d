from django.utils import timezone

from audit.models import AccessLog
from dispatch.models import Ticket


def _ticket_facts(ticket: Ticket) -> tuple[str, str]:
    """The customer's blind index and the ticket's province, in one query (the customer row is never decrypted)."""
    phone_index, ancestors, division_code = (
        Ticket.objects.filter(pk=ticket.pk)
        .values_list("customer__phone_index", "division__ancestor_codes", "division_id")
        .get()
    )
    return phone_index or "", (ancestors[0] if ancestors else division_code) or ""


def access_log_record(*, kind: str, by, ticket: Ticket | None = None, detail: str = "", province_code: str = "",
                      now=None) -> AccessLog:  # fmt: skip
    """Write one access-log row: `by` saw customer data of `ticket` (or exported something); raises nothing."""
    phone_index = ""
    if ticket is not None:
        phone_index, province_code = _ticket_facts(ticket)
    return AccessLog.objects.create(
        at=now or timezone.now(),
        user=by if by is not None and by.is_authenticated else None,
        username=by.get_username() if by is not None and by.is_authenticated else "",
        kind=kind,
        ticket_number=ticket.number if ticket is not None else "",
        phone_index=phone_index,
        province_code=province_code,
        detail=detail[:500],
    )


def access_log_export(*, by, name: str, query: str, scope=None, now=None) -> AccessLog:
    """Log that `by` downloaded the export `name` with these filters; the row carries the exported region's province
    (or the user's one province) so a regional manager sees their own region's exports."""
    province_code = ""
    if scope is not None:
        if scope.region is not None:
            province_code = scope.region.ancestor_codes[0] if scope.region.ancestor_codes else scope.region.code
        elif len(scope.provinces) == 1:
            province_code = scope.provinces[0]
    return access_log_record(
        kind=AccessLog.Kind.EXPORT, by=by, detail=f"{name}?{query}" if query else name, province_code=province_code,
        now=now,
    )  # fmt: skip
