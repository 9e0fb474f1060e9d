"""Tickets built through the real services, at chosen moments, for the dashboard tests."""

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from dashboard.selectors import Scope
from dashboard.services import ticket_fact_sync
from dispatch.services import ticket_assign, ticket_cancel, ticket_complete, ticket_create, ticket_progress
from regions.models import Division

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE = timedelta(minutes=1)
_phones = itertools.count(13800000001)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, Asia/Shanghai."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def week(region: Division | None = None, provinces: tuple[str, ...] = ()) -> Scope:
    """23–29 November 2026."""
    return Scope(start=date(2026, 11, 23), end=date(2026, 11, 29), region=region, provinces=provinces)


def new_ticket(*, division: Division, at: datetime, by=None, category: str = "biometric"):
    """A ticket created through the real service by a caller never seen before."""
    return ticket_create(
        phone=str(next(_phones)),
        division=division,
        address_detail="建设路 1 号",
        category=category,
        by=by,
        now=at,
    )


def work(ticket, *, technician, operator, accepted: datetime, responded=None, on_site=None, completed=None):
    """Assign at `accepted`, then the technician's steps at the given moments (stopping at the last one given)."""
    ticket = ticket_assign(ticket=ticket, technician=technician, by=operator, reason="电话确认", now=accepted)
    if responded:
        ticket = ticket_progress(ticket=ticket, by=technician.user, to="responded", now=responded)
    if on_site:
        ticket = ticket_progress(ticket=ticket, by=technician.user, to="en_route", now=on_site)
        ticket = ticket_progress(ticket=ticket, by=technician.user, to="on_site", now=on_site)
    if completed:
        ticket = ticket_complete(
            ticket=ticket, by=technician.user, work_done="更换指纹模块", labour_fee=Decimal("80"), now=completed
        )
    return ticket


def cancel(ticket, *, by, at: datetime):
    return ticket_cancel(ticket=ticket, by=by, reason="客户自行解决", now=at)


def sync(at: datetime | None = None) -> int:
    return ticket_fact_sync(now=at or local(30, 12))
