from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.models import AccessLog
from dashboard.selectors import manager_province_codes
from dispatch import crypto


def access_log_list(*, user, username: str = "", phone: str = "", ticket_number: str = "", kind: str = "",
                    start: date | None = None, end: date | None = None) -> QuerySet[AccessLog]:  # fmt: skip
    """Return the access-log rows `user` may see matching the filters, newest first; raises InvalidPhone for a phone
    that is not a number. A regional manager sees their provinces' rows and their own."""
    rows = AccessLog.objects.select_related("user")
    provinces = manager_province_codes(user=user)
    if provinces:
        rows = rows.filter(Q(province_code__in=provinces) | Q(user=user))
    if username:
        rows = rows.filter(username__iexact=username.strip())
    if phone:
        rows = rows.filter(phone_index=crypto.phone_index(crypto.normalize_phone(phone)))
    if ticket_number:
        rows = rows.filter(ticket_number=ticket_number.strip())
    if kind:
        rows = rows.filter(kind=kind)
    # Dates are days in the center's time zone (Asia/Shanghai), both ends included.
    zone = timezone.get_current_timezone()
    if start is not None:
        rows = rows.filter(at__gte=datetime.combine(start, time.min, tzinfo=zone))
    if end is not None:
        rows = rows.filter(at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))
    return rows.order_by("-at", "-pk")
