"""Reads for the API: keys by token, and tickets as each caller may see them."""

from django.db.models import Q

from accounts.roles import Role, user_roles
from api.models import IntegrationKey
from api.services import TOKEN_START, token_hash
from dispatch.models import Offer, OfferOutcome, Ticket
from dispatch.selectors import ticket_province_limit, tickets_in_provinces

# Roles that see every ticket; a technician (with none of these) sees only the jobs given to them.
ALL_TICKET_ROLES = frozenset({Role.OPERATOR, Role.MANAGER, Role.ADMIN})


def integration_key_get_by_token(*, token: str) -> IntegrationKey | None:
    """Return the active key this token belongs to, with its account, or None (unknown, malformed or revoked)."""
    if not token.startswith(TOKEN_START) or len(token) > 200:
        return None
    return (
        IntegrationKey.objects.select_related("user")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True)
        .first()
    )


def ticket_queryset_for(*, user):
    """Return the tickets this user may see through the API: all of them for back-office roles and for service
    accounts (keys without a person), only their own jobs for a technician, none for anyone else."""
    tickets = Ticket.objects.select_related("customer", "division", "technician")
    roles = user_roles(user)
    if not ALL_TICKET_ROLES.isdisjoint(roles) or is_service_account(user):
        # A regional manager sees their provinces only, as on the board.
        return tickets_in_provinces(tickets, provinces=ticket_province_limit(user=user))
    if Role.TECHNICIAN in roles:
        # Their jobs, and the tickets offered to them right now (as their phone's home screen lists them).
        offered = Offer.objects.filter(technician__user=user, outcome=OfferOutcome.PENDING).values("ticket_id")
        return tickets.filter(Q(technician__user=user) | Q(pk__in=offered))
    return tickets.none()


def is_service_account(user) -> bool:
    """Return whether the user is a key's own account (made by integration_key_create: no password, no role)."""
    return user.username.startswith(f"api-{TOKEN_START}") and not user.has_usable_password()


def ticket_list_for_api(
    *, user, status: str = "", division: str = "", created_from=None, created_to=None, phone_index: str = ""
):
    """Return the tickets the user may see, newest first, filtered; `division` matches the division or any place in
    it (a province code lists the whole province)."""
    tickets = ticket_queryset_for(user=user)
    if status:
        tickets = tickets.filter(status=status)
    if division:
        tickets = tickets.filter(Q(division_id=division) | Q(division__ancestor_codes__contains=[division]))
    if created_from is not None:
        tickets = tickets.filter(created_at__gte=created_from)
    if created_to is not None:
        tickets = tickets.filter(created_at__lt=created_to)
    if phone_index:
        tickets = tickets.filter(customer__phone_index=phone_index)
    return tickets.order_by("-created_at", "-pk")


def offer_get_pending_for(*, ticket: Ticket, user) -> Offer | None:
    """Return the live offer of this ticket to this user's technician profile, if any."""
    return ticket.offers.filter(technician__user=user, outcome=OfferOutcome.PENDING).first()


def ticket_get_for_api(*, user, number: str) -> Ticket | None:
    """Return the ticket with this number if the user may see it, else None (the same answer as a wrong number)."""
    return ticket_queryset_for(user=user).select_related("address").filter(number=number).first()
